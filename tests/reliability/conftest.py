"""Reliability drills: shared people, private services and helpers.

People are made in bulk straight through the tables (one argon2 hash computed once and
reused) and signed in through `careers.accounts.service.start_session`, so a drill with
200 coders spends its time on what it measures, not on password hashing.

Drills that kill or restart a service start private instances here (SMTP server,
PostgreSQL cluster); the session's shared Meilisearch, Stripe emulator and database keep
running for every other test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from careers.accounts import service as accounts
from careers.accounts.tables import User
from careers.coders.tables import CoderProfile
from careers.core.config import PROJECT_ROOT, Settings
from careers.core.web import CSRF_COOKIE, SESSION_COOKIE
from employers.tables import Employer, EmployerMember
from tests import factories
from tests.conftest import _TMP, Browser, skip_or_fail
from tests.mailbox import start_sink
from tests.waiting import apoll

wait_until = apoll  # the drills import it from here

PASSWORD = "correct horse battery"
_PASSWORD_HASH: list[str] = []
PG_BIN = Path(os.environ.get("CAREERS_PG_BIN", "/usr/lib/postgresql/15/bin"))


def password_hash() -> str:
    if not _PASSWORD_HASH:
        _PASSWORD_HASH.append(accounts.hash_password(PASSWORD))
    return _PASSWORD_HASH[0]


# ---- people --------------------------------------------------------------------------------------


async def make_coders(count: int, prefix: str = "coder") -> list[int]:
    """`count` confirmed coders with a named profile (what applying needs), inserted in bulk; returns user ids."""
    now = dt.datetime.now(dt.timezone.utc)
    users = [User(email=f"{prefix}{i}@example.org", password_hash=password_hash(), role="coder",
                  display_name=f"Coder {prefix} {i}", email_confirmed_at=now) for i in range(count)]
    ids: list[int] = []
    for start in range(0, count, 100):
        rows = await User.insert(*users[start:start + 100]).returning(User.id)
        ids += [r["id"] for r in rows]
    profiles = [CoderProfile(user=uid, handle=f"{prefix}-{uid}", name=f"Coder {prefix} {n}", zip="77002",
                             city="Houston", state="TX") for n, uid in enumerate(ids)]
    for start in range(0, count, 100):
        await CoderProfile.insert(*profiles[start:start + 100])
    return ids


async def make_employer(name: str = "Drill Health", *, verified: bool = True,
                        email: str | None = None) -> tuple[int, int]:
    """A confirmed employer member and their organisation; returns (employer_id, user_id)."""
    slug = name.lower().replace(" ", "-")
    now = dt.datetime.now(dt.timezone.utc)
    user = (await User.insert(User(email=email or f"hr@{slug}.example", password_hash=password_hash(), role="employer",
                                   display_name=f"HR of {name}", email_confirmed_at=now)).returning(User.id))[0]["id"]
    employer = (await Employer.insert(Employer(name=name, slug=slug, website=f"https://{slug}.example",
                                               verified=verified)).returning(Employer.id))[0]["id"]
    await EmployerMember.insert(EmployerMember(employer=employer, user=user, role="owner"))
    return employer, user


async def make_draft(employer_id: int, title: str, **options) -> int:
    """A draft listing with every field a published one needs (remote, open to all states, hourly pay)."""
    return await make_published(employer_id, title, status="draft", **options)


async def make_published(employer_id: int, title: str, **options) -> int:
    job = {"work_mode": "remote", "zip_code": "", "city": "", "state": "",
           "description": f"Code outpatient charts for {title}."}
    return (await factories.make_listing(employer_id, title, **(job | options))).id


async def csrf_token(client: Browser) -> str:
    """The double-submit CSRF token: the cookie Litestar sets, sent back in the form."""
    if CSRF_COOKIE not in client.cookies:
        await client.get("/login")
    return client.cookies[CSRF_COOKIE]


async def signed_in_browsers(make_browser, user_ids: list[int], settings: Settings) -> list[Browser]:
    """One browser per user, each with a session started by the accounts service and the same CSRF cookie."""
    first = make_browser()
    token = await csrf_token(first)
    browsers = []
    for n, uid in enumerate(user_ids):
        client = first if n == 0 else make_browser()
        if n:
            client.cookies.set(CSRF_COOKIE, token)
        client.cookies.set(SESSION_COOKIE, await accounts.start_session(uid, settings, second_factor_ok=True))
        client.csrf = token
        browsers.append(client)
    return browsers


def server_errors(responses) -> list[str]:
    """Every 5xx answer (or exception) among `responses`, described."""
    problems = []
    for r in responses:
        if isinstance(r, BaseException):
            problems.append(repr(r))
        elif r.status_code >= 500:
            problems.append(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}")
    return problems


# ---- a real SMTP server (aiosmtpd) ---------------------------------------------------------------


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port; `sink.delay` slows every accepted mail."""
    sink, stop = start_sink()
    yield sink
    stop()


# ---- a private PostgreSQL cluster ------------------------------------------------------------------


@dataclass
class PrivatePostgres:
    """A throwaway cluster made with initdb, run as the `postgres` user, on a free loopback port."""

    root: Path
    port: int
    user: str = "drill"
    password: str = "drill-password"
    database: str = "drill"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _as_postgres(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = list(argv)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/")

    def pg_ctl(self, action: str, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", action, *extra,
                                 timeout=timeout)

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres", "postgres")
        done = self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.user, "--pwfile", str(pwfile),
                                 "-A", "scram-sha-256", "--no-sync", "-E", "UTF8", "--locale", "C")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr}")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.root}'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = 32MB\n"
                       "max_connections = 60\n")

    def start(self) -> None:
        done = self.pg_ctl("start", "-l", str(self.root / "server.log"))
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{self.log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def create_database(self) -> None:
        import asyncpg

        async def create() -> None:
            conn = await asyncpg.connect(f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/postgres")
            try:
                await conn.execute(f'CREATE DATABASE "{self.database}"')
            finally:
                await conn.close()

        asyncio.run(create())

    def log_tail(self) -> str:
        try:
            return "\n".join((self.root / "server.log").read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"


def postgres_available() -> str | None:
    """Why a private PostgreSQL cannot be made here, or None."""
    if not (PG_BIN / "initdb").is_file():
        return f"PostgreSQL server binaries not found in {PG_BIN} (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root but there is no `postgres` user to run initdb as"
    return None


@pytest.fixture
def private_postgres():
    """A private PostgreSQL cluster with an empty database `drill`; stopped and deleted afterwards."""
    from careers.local import free_port

    reason = postgres_available()
    if reason:
        print(f"\nSKIPPED LOUDLY: {reason}", file=sys.stderr)
        skip_or_fail(reason)
    root = Path(tempfile.mkdtemp(prefix="careers-pg-drill-", dir="/tmp"))
    os.chmod(root, 0o755)
    cluster = PrivatePostgres(root=root / "pg", port=free_port())
    try:
        cluster.init()
        cluster.start()
        cluster.create_database()
    except Exception:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
        raise
    yield cluster
    cluster.stop("immediate")
    shutil.rmtree(root, ignore_errors=True)


# ---- subprocesses -------------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The test session's environment (its database, data dir) plus `extra`, for a `careers` subprocess."""
    env = dict(os.environ)
    env.update(PYTHONPATH=str(PROJECT_ROOT), PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def drill_log(name: str) -> Path:
    return _TMP / f"drill-{name}-{time.monotonic_ns()}.log"

