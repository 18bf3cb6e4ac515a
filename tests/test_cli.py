"""The `careers` command as an operator runs it: check, create-admin, backup, migrate, worker."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from careers.accounts.tables import User
from careers.core.config import PRODUCTION_REQUIRED, PROJECT_ROOT
from tests.conftest import ON_POSTGRES, login

PASSWORD = "correct horse battery"
CONFIG_VARIABLES = (*PRODUCTION_REQUIRED, "STRIPE_API_BASE", "STRIPE_JS_URL", "CAREERS_ENV", "TEST_DATABASE_URL")


def careers(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `careers ARGS` as a separate process (cwd is a temp dir: no stray .env is read)."""
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "careers.cli", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def bare_environment(**values: str) -> dict[str, str]:
    """The process environment without any CareerCenter configuration, plus `values`."""
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES and not k.startswith(("MEILI_", "STRIPE_"))}
    return {**env, "PYTHONPATH": str(PROJECT_ROOT), **values}


def run_bare(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "careers.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_check_in_production_without_secrets_names_every_missing_variable(tmp_path):
    env = bare_environment(CAREERS_ENV="production", CAREERS_DATA_DIR=str(tmp_path / "data"))
    result = run_bare("check", cwd=tmp_path, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    for name in PRODUCTION_REQUIRED:
        assert f"{name} is required in production" in result.stderr

    # serve refuses the same environment before starting anything
    served = run_bare("serve", "--port", "1", cwd=tmp_path, env=env)
    assert served.returncode == 2 and "MEILI_MASTER_KEY is required in production" in served.stderr


def test_check_in_production_refuses_sqlite_plain_http_and_the_emulator(tmp_path):
    env = bare_environment(
        CAREERS_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3", MEILI_URL="http://127.0.0.1:7700",
        MEILI_MASTER_KEY="k" * 20, STRIPE_SECRET_KEY="sk_test_x", STRIPE_PUBLISHABLE_KEY="pk_test_x",
        STRIPE_WEBHOOK_SECRET="whsec_x", STRIPE_API_BASE="http://127.0.0.1:8420", SMTP_URL="smtp://127.0.0.1:25",
        MAIL_FROM="jobs@example.org", SECRET_KEY="s" * 40, BASE_URL="http://jobs.example.org",
    )
    result = run_bare("check", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "DATABASE_URL must point at PostgreSQL" in result.stderr
    assert "BASE_URL must start with https://" in result.stderr
    assert "STRIPE_API_BASE must be unset in production" in result.stderr


def test_check_in_development_reports_each_service_and_masks_secrets(tmp_path, meilisearch):
    secret = "a-very-secret-session-key-0123456789"
    env = bare_environment(
        CAREERS_DATA_DIR=str(tmp_path / "data"), DATABASE_URL=os.environ["DATABASE_URL"], MEILI_URL=meilisearch.url,
        MEILI_MASTER_KEY="test-master-key-0123456789", SECRET_KEY=secret,
    )
    result = run_bare("check", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert lines["database"].endswith(": ok")
    assert f"{meilisearch.url}: ok (Meilisearch 1.21" in lines["search"]
    assert "emulator" in lines["payments"]
    assert secret not in result.stdout and "test-master-key-0123456789" not in result.stdout
    assert "SECRET_KEY" in result.stdout and "MEILI_MASTER_KEY" in result.stdout


async def test_create_admin_makes_an_admin_who_can_log_in(tmp_path, browser):
    result = careers("create-admin", "--email", "Root@CareerCenter.org", "--password", PASSWORD, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Admin root@careercenter.org created" in result.stdout

    user = await User.objects().get(User.email == "root@careercenter.org")
    assert user.role == "admin" and user.email_confirmed_at is not None
    response = await login(browser, "root@careercenter.org", PASSWORD)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/2fa")  # an admin's next step: the second factor


async def test_create_admin_refuses_a_weak_password_and_creates_nothing(tmp_path):
    result = careers("create-admin", "--email", "root@careercenter.org", "--password", "short", cwd=tmp_path)
    assert result.returncode == 1
    assert "Nothing was created" in result.stderr
    assert not await User.exists().where(User.email == "root@careercenter.org")

    no_password = careers("create-admin", "--email", "root@careercenter.org", cwd=tmp_path)
    assert no_password.returncode == 2 and "give --password" in no_password.stderr


async def test_backup_is_a_readable_copy_with_the_same_rows_and_the_uploads(tmp_path, settings):
    from careers.accounts.service import create_admin

    for email in ("one@careercenter.org", "two@careercenter.org"):
        await create_admin(email, PASSWORD)
    upload = settings.uploads_dir / "backup-test" / "resume.pdf"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(b"%PDF-1.4 a resume")
    try:
        result = careers("backup", str(tmp_path / "backups"), cwd=tmp_path)
    finally:
        upload.unlink()
        upload.parent.rmdir()
    assert result.returncode == 0, result.stdout + result.stderr

    expected = sorted(r["email"] for r in await User.select(User.email))
    if ON_POSTGRES:
        (dump,) = (tmp_path / "backups").glob("careers-*.dump")
        listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True).stdout
        assert "TABLE public users" in listing
    else:
        (copy,) = (tmp_path / "backups").glob("careers-*.sqlite3")
        with sqlite3.connect(copy) as conn:
            assert sorted(r[0] for r in conn.execute("SELECT email FROM users")) == expected
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    (uploads,) = (tmp_path / "backups").glob("careers-*-uploads")
    assert (uploads / "backup-test" / "resume.pdf").read_bytes() == b"%PDF-1.4 a resume"


def test_migrate_builds_the_schema_on_a_fresh_sqlite_file_in_wal_mode(tmp_path):
    database = tmp_path / "fresh.sqlite3"
    env = bare_environment(DATABASE_URL=f"sqlite:///{database}", CAREERS_DATA_DIR=str(tmp_path / "data"))
    result = run_bare("migrate", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"users", "sessions", "outbox", "worker_locks"} <= tables


@pytest.mark.skipif(ON_POSTGRES, reason="PostgreSQL runs any number of workers (SKIP LOCKED); only SQLite has the lock")
async def test_a_second_worker_on_sqlite_is_refused(tmp_path, settings):
    from careers.worker import Worker

    running = Worker(settings)
    await running.acquire_lock()
    try:
        result = careers("worker", cwd=tmp_path, timeout=30)
    finally:
        await running.release_lock()
    assert result.returncode == 3
    assert "Another worker is running against this SQLite database" in result.stderr


@pytest.mark.skipif(ON_POSTGRES, reason="one SQLite file in a temporary folder is enough to show it")
def test_the_installed_command_works_from_any_folder_without_pythonpath(tmp_path):
    # An operator runs `careers ...` from wherever they are: Piccolo must still find piccolo_conf (the engine).
    database = tmp_path / "anywhere.sqlite3"
    env = bare_environment(DATABASE_URL=f"sqlite:///{database}", CAREERS_DATA_DIR=str(tmp_path / "data"))
    env.pop("PYTHONPATH", None)
    assert run_bare("migrate", cwd=tmp_path, env=env).returncode == 0
    result = run_bare("create-admin", "--email", "root@careercenter.org", "--password", PASSWORD, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT role FROM users").fetchall() == [("admin",)]


def test_a_dotenv_file_in_the_current_folder_configures_the_command_and_the_environment_wins(tmp_path):
    database = tmp_path / "from-dotenv.sqlite3"
    (tmp_path / ".env").write_text(
        f"DATABASE_URL=sqlite:///{database}\nCAREERS_DATA_DIR={tmp_path / 'data'}\n"
        "BASE_URL=https://jobs.example.org\nMAIL_FROM=Jobs <jobs@example.org>\n"
    )
    migrated = run_bare("migrate", cwd=tmp_path, env=bare_environment())
    assert migrated.returncode == 0 and database.is_file(), migrated.stderr  # the engine used .env's DATABASE_URL

    production = run_bare("check", cwd=tmp_path, env=bare_environment(CAREERS_ENV="production",
                                                                      BASE_URL="http://overridden.example.org"))
    assert production.returncode == 2
    assert "MAIL_FROM is required" not in production.stderr and "SECRET_KEY is required" in production.stderr
    assert "BASE_URL must start with https://" in production.stderr  # the environment's value, not .env's


def test_development_generates_the_secret_key_once_and_keeps_it_in_the_data_dir(tmp_path):
    from careers.core.config import load_settings

    env = {"CAREERS_DATA_DIR": str(tmp_path / "data")}
    first = load_settings(env)
    again = load_settings(env)
    key_file = tmp_path / "data" / "secret_key"
    assert len(first.secret_key) >= 40 and again.secret_key == first.secret_key == key_file.read_text().strip()
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert load_settings({**env, "SECRET_KEY": "from-the-environment"}).secret_key == "from-the-environment"
