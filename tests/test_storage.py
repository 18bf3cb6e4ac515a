"""`careers storage migrate` and `careers backup` with uploads in a bucket (moto's S3 server on loopback)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from careers.accounts import service as accounts
from careers.coders import service as coders
from careers.coders.tables import Application, CoderProfile
from careers.core.config import PROJECT_ROOT
from careers.core.storage import storage_at
from careers.core.web import SESSION_COOKIE
from tests.conftest import Browser
from tests.reliability.conftest import make_coders, make_employer, make_published


def careers(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "careers.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **env})


def s3_env(moto_s3) -> dict[str, str]:
    return {"S3_ENDPOINT_URL": moto_s3.url, "S3_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test-access-key",
            "AWS_SECRET_ACCESS_KEY": "test-secret-key"}


async def test_migrate_moves_a_seeded_demos_files_to_the_bucket_the_board_serves_them_and_a_rerun_copies_nothing(
        tmp_path, settings, moto_s3):
    local_url = f"file://{tmp_path / 'uploads'}"
    bucket_url = f"s3://{moto_s3.bucket}/migrated-{time.monotonic_ns()}"
    on_disk = settings.replace(storage_url=local_url)
    on_s3 = settings.replace(**moto_s3.settings_for(bucket_url))
    employer_id, _ = await make_employer("Migrate Health")
    for n in range(3):
        await make_published(employer_id, f"Migrate coder {n}")
    coder_ids = await make_coders(4, prefix="migrate")
    assert await coders.seed_demo_profiles(coder_ids, on_disk) == 4
    files = sorted(p.relative_to(tmp_path / "uploads").as_posix() for p in (tmp_path / "uploads").rglob("*")
                   if p.is_file())
    assert any(f.startswith("resumes/") for f in files) and any(f.startswith("application-resumes/") for f in files)
    (tmp_path / "uploads" / "stray.txt").write_text("not ours")

    first = careers("storage", "migrate", "--from", local_url, "--to", bucket_url, cwd=tmp_path, env=s3_env(moto_s3))
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"copied {len(files)} file(s)" in first.stdout and "0 failed" in first.stdout
    assert "left behind (not a file the board made): stray.txt" in first.stdout
    assert "STORAGE_URL=" + bucket_url in first.stdout
    bucket = storage_at(bucket_url, on_s3)
    assert sorted([info.key async for info in bucket.list()]) == files
    for key in files:
        assert await bucket.read(key) == (tmp_path / "uploads" / key).read_bytes()

    again = careers("storage", "migrate", "--from", local_url, "--to", bucket_url, cwd=tmp_path, env=s3_env(moto_s3))
    assert again.returncode == 0, again.stderr
    assert "copied 0 file(s)" in again.stdout and f"{len(files)} already there" in again.stdout

    # a file lost or changed in the bucket is copied again, and only that one
    await bucket.put(files[0], b"changed")
    await bucket.delete(files[1])
    repair = careers("storage", "migrate", "--from", local_url, "--to", bucket_url, cwd=tmp_path, env=s3_env(moto_s3))
    assert "copied 2 file(s)" in repair.stdout and f"{len(files) - 2} already there" in repair.stdout

    # the board on the bucket serves the files, the disk folder gone
    for p in sorted((tmp_path / "uploads").rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    from careers.app import create_app

    app = create_app(on_s3)
    profile = await CoderProfile.objects().where(CoderProfile.resume_key.is_not_null()).first()
    application = await Application.objects().where(Application.coder == profile.user).first()
    async with Browser(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        client.cookies.set(SESSION_COOKIE, await accounts.start_session(profile.user, on_s3, second_factor_ok=True))
        own = await client.get("/account/resume")
        assert own.status_code == 200 and own.content == await bucket.read(profile.resume_key)
        assert own.headers["content-disposition"].startswith("attachment")
        assert own.headers["x-content-type-options"] == "nosniff"
        assert int(own.headers["content-length"]) == len(own.content)
        if application is not None:
            sent = await client.get(f"/applications/{application.id}/resume")
            assert sent.status_code == 200 and sent.content.startswith(b"%PDF-")


def test_migrate_refuses_an_unknown_target(tmp_path):
    done = careers("storage", "migrate", "--to", "ftp://elsewhere/x", cwd=tmp_path, env={})
    assert done.returncode == 2 and "STORAGE_URL must be" in done.stderr


async def test_backup_with_a_bucket_records_the_listing_and_asks_for_versioning(tmp_path, settings, moto_s3):
    bucket_url = f"s3://{moto_s3.bucket}/backup-{time.monotonic_ns()}"
    bucket = storage_at(bucket_url, settings.replace(**moto_s3.settings_for(bucket_url)))
    await bucket.put("resumes/" + "a" * 32 + ".pdf", b"%PDF-1.4 one")
    await bucket.put("logos/" + "b" * 32 + ".png", b"png")
    done = careers("backup", str(tmp_path / "backups"), cwd=tmp_path, env={**s3_env(moto_s3), "STORAGE_URL": bucket_url})
    assert "2 object(s) in " + bucket_url in done.stdout, done.stdout + done.stderr
    assert "Enable bucket versioning" in done.stdout
    (listing,) = (tmp_path / "backups").glob("careers-*-uploads-listing.tsv")
    rows = listing.read_text().splitlines()[2:]
    assert sorted(rows) == ["logos/" + "b" * 32 + ".png\t3", "resumes/" + "a" * 32 + ".pdf\t12"]
    assert not list((tmp_path / "backups").glob("careers-*-uploads"))  # no copy of a bucket on local disk
