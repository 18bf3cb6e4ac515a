"""Test session: one real Meilisearch, one Stripe emulator, one database (SQLite file or PostgreSQL).

The engine is chosen here, before anything imports the tables (Piccolo binds a
table's engine once): SQLite by default, PostgreSQL when TEST_DATABASE_URL is set.
`make test` runs the suite once per engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="careers-test-"))
os.environ["CAREERS_DATA_DIR"] = str(_TMP / "data")
os.environ["CAREERS_ENV"] = "development"
if os.environ.get("TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
else:
    os.environ["DATABASE_URL"] = f"sqlite:///{_TMP / 'test.sqlite3'}"
for _name in ("MEILI_URL", "MEILI_MASTER_KEY", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET",
              "STRIPE_API_BASE", "SMTP_URL", "SECRET_KEY", "BASE_URL", "STORAGE_URL", "S3_ENDPOINT_URL", "S3_REGION",
              "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "METRICS_TOKEN", "TRUSTED_PROXIES"):
    os.environ.pop(_name, None)

import httpx  # noqa: E402
import pytest  # noqa: E402

from careers.core import db  # noqa: E402
from careers.core.config import PROJECT_ROOT, Settings, load_settings  # noqa: E402

# Still argon2id, with cheaper parameters: hashing at production cost (64 MiB, 3 passes) for every account
# the suite registers and logs in would cost minutes on a 2-core machine.
from argon2 import PasswordHasher  # noqa: E402

import careers.accounts.service as _accounts_service  # noqa: E402

_accounts_service._hasher = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)

ON_POSTGRES = os.environ["DATABASE_URL"].startswith("postgres")
_SQLITE_PATH = (os.environ["DATABASE_URL"].removeprefix("sqlite:///")
                if os.environ["DATABASE_URL"].startswith("sqlite:///") else None)
IN_CI = os.environ.get("CI") == "true"
# TEST_STORAGE_URL=s3: every Settings of the suite keeps uploads in a bucket of moto's S3 server instead of on disk.
ON_S3 = os.environ.get("TEST_STORAGE_URL", "").strip().lower() in ("s3", "s3://")
S3_BUCKET = "careers-test"
S3_KEYS = {"aws_access_key_id": "test-access-key", "aws_secret_access_key": "test-secret-key", "s3_region": "us-east-1"}
# Tables whose rows are reference data seeded by migrations, and Piccolo's own record of applied migrations
# (its table is `migration`): kept between tests, so a `careers serve` a test starts finds the schema up to date.
REFERENCE_TABLES = {"credentials", "plans", "piccolo_migration", "migration"}


def pytest_report_header(config):
    engine = "PostgreSQL" if ON_POSTGRES else "SQLite"
    storage = "uploads in moto's S3 (TEST_STORAGE_URL=s3)" if ON_S3 else "uploads on disk"
    return f"careers: database engine {engine} ({'TEST_DATABASE_URL' if ON_POSTGRES else _TMP / 'test.sqlite3'}); {storage}"


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_TMP, ignore_errors=True)


def _reset_postgres(url: str) -> None:
    import asyncio

    import asyncpg

    async def reset() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(reset())


@pytest.fixture(scope="session", autouse=True)
def migrated_database():
    """Migrate a fresh database once per session (PostgreSQL: the schema is dropped first)."""
    if ON_POSTGRES:
        _reset_postgres(os.environ["DATABASE_URL"])
    result = subprocess.run(
        [sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, env=os.environ.copy(),
    )
    if result.returncode != 0 or "Traceback" in result.stderr:
        pytest.exit(f"migrations failed:\n{result.stdout}\n{result.stderr}", returncode=3)
    yield


@pytest.fixture(scope="session")
async def database(migrated_database):
    await db.start()
    yield db.DB
    await db.stop()


async def _table_names() -> list[str]:
    if ON_POSTGRES:
        rows = await db.fetch("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")
    else:
        rows = await db.fetch("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    return [r["name"] for r in rows if r["name"] not in REFERENCE_TABLES]


@pytest.fixture(autouse=True)
def wall_clock():
    """Every test starts on the wall clock and gives it back, whatever it froze or moved."""
    from careers.core import clock

    clock.set_now(None)
    yield
    clock.set_now(None)


@pytest.fixture
def frozen_clock(wall_clock):
    """Time stands still for this test until it moves it (`clock.advance(...)`): a test that counts attempts in a
    rate-limit window, or waits out an expiry, never straddles a wall-clock boundary."""
    from careers.core import clock

    clock.set_now(clock.now())
    return clock


@pytest.fixture(autouse=True)
async def clean_database(database):
    """Every test starts from an empty database (reference data kept)."""
    yield
    from listings import feed_cache, stats

    stats.discard()  # unflushed view counts belong to the rows deleted below
    feed_cache.discard()  # feeds built from the rows deleted below
    names = await _table_names()
    if ON_POSTGRES:
        await db.DB.run_ddl("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
    elif _SQLITE_PATH is not None:
        # One connection and one commit with foreign keys off (every table but reference data is emptied, so no
        # order or cascade is needed): 41 separate connections and commits cost ~0.25 s per test.
        import sqlite3

        script = "".join(f'DELETE FROM "{n}";' for n in names)
        connection = sqlite3.connect(_SQLITE_PATH, timeout=30, isolation_level=None)
        try:
            connection.executescript("PRAGMA foreign_keys=OFF; BEGIN IMMEDIATE;" + script + "COMMIT;")
        finally:
            connection.close()
    else:
        # Foreign keys cascade on delete; a table refused now is retried after its dependants went.
        pending = names
        for _ in range(5):
            failed = []
            for name in pending:
                try:
                    await db.fetch(f'DELETE FROM "{name}"')
                except Exception:
                    failed.append(name)
            if not failed:
                break
            pending = failed


@pytest.fixture
def statements(database):
    """Every SQL statement sent to the database while the test runs (SQLite's trace callback, asyncpg's query
    logger), in order; a test clears it before the request it measures."""
    log: list[str] = []
    stop = db.listen_to_statements(log.append)
    yield log
    stop()


# ---- real services, one each per session -------------------------------------------------


@pytest.fixture(scope="session")
def meilisearch():
    """A real Meilisearch on a free loopback port with a temporary data dir."""
    from careers import local

    try:
        proc = local.start_meilisearch(_TMP / "meili", master_key="test-master-key-0123456789",
                                       log_path=_TMP / "meili.log")
    except local.LocalServiceError as exc:
        pytest.fail(f"Meilisearch could not start: {exc}")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def stripe_emulator():
    """A real localstripe (through our launcher) on a free loopback port, state in memory."""
    from careers import local

    proc = local.start_stripe_emulator(log_path=_TMP / "stripe.log")
    yield proc
    proc.stop()


_MAILBOX: list = []  # [the session's SMTP sink, the settings its mail is sent with], once started


@pytest.fixture(scope="session")
def mail_sink():
    """A real SMTP server (aiosmtpd) for the session: the worker sends every mail there (`sent_mail` reads it)."""
    from tests.mailbox import start_sink

    sink, stop = start_sink()
    yield sink
    stop()


@pytest.fixture(autouse=True)
def empty_mailbox():
    """Each test reads only the mail it caused."""
    if _MAILBOX:
        _MAILBOX[0].clear()


@dataclass
class MotoS3:
    """moto's S3 API on a loopback port, one bucket made for the session."""

    url: str
    bucket: str = S3_BUCKET

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name=S3_KEYS["s3_region"],
                            aws_access_key_id=S3_KEYS["aws_access_key_id"],
                            aws_secret_access_key=S3_KEYS["aws_secret_access_key"])

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def settings_for(self, storage_url: str) -> dict:
        return {"storage_url": storage_url, "s3_endpoint_url": self.url, **S3_KEYS}


@pytest.fixture(scope="session")
def moto_s3():
    """A real S3 API (moto's server mode) on a free loopback port, as Meilisearch and the Stripe emulator are."""
    import logging

    from moto.server import ThreadedMotoServer

    from careers.local import free_port

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 request would bury a failure's log
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    s3 = MotoS3(url=f"http://127.0.0.1:{port}")
    s3.make_bucket(S3_BUCKET)
    yield s3
    server.stop()


@pytest.fixture(scope="session")
def storage_settings(request) -> dict:
    """Settings fields for the suite's uploads: nothing (disk) or moto's bucket when TEST_STORAGE_URL=s3."""
    if not ON_S3:
        return {}
    s3 = request.getfixturevalue("moto_s3")
    return s3.settings_for(f"s3://{s3.bucket}/suite")


@pytest.fixture(scope="session")
def base_settings(meilisearch, stripe_emulator, storage_settings, mail_sink) -> Settings:
    settings = load_settings(
        **storage_settings,
        meili_url=meilisearch.url,
        meili_master_key="test-master-key-0123456789",
        meili_index="listings_test",
        stripe_secret_key="sk_test_careers",
        stripe_publishable_key="pk_test_careers",
        stripe_webhook_secret="whsec_test_careers",
        stripe_api_base=stripe_emulator.url,
        stripe_js_url=stripe_emulator.url + "/js.stripe.com/v3/",
        base_url="http://testserver",
        secret_key="test-secret-key",
        login_rate=(1000, 60),
        login_account_rate=(1000, 60),
        register_rate=(1000, 60),
        reset_rate=(1000, 60),
        apply_rate=(1000, 60),
        report_rate=(1000, 60),
        post_rate=(1000, 60),
        invite_rate=(1000, 60),
        print_mail=False,
        smtp_url=mail_sink.url,
    )
    _MAILBOX[:] = [mail_sink, settings]
    return settings


@pytest.fixture
def settings(base_settings) -> Settings:
    return base_settings


@pytest.fixture(scope="session", autouse=True)
async def search_index_ready(database, base_settings):
    """The session's index exists with our settings before any test runs, whatever order they run in (a sync
    row written before any test applied the settings would make Meilisearch create it bare)."""
    from tests.search_helpers import fresh_index

    await fresh_index(base_settings)


_APPS: dict[int, tuple[Settings, object]] = {}


@pytest.fixture
def app(settings, database):
    """The app for `settings`, built once per settings object (create_app costs ~0.2-0.4 s here).

    A test may change `app.state` (tighter rate limits): it is restored afterwards. An app whose routes a test
    changed (app.register) is not reused.
    """
    from careers.app import create_app

    cached = _APPS.get(id(settings))
    if cached is None or cached[0] is not settings:
        cached = _APPS[id(settings)] = (settings, create_app(settings))
        while len(_APPS) > 8:  # tests that build their own settings each time: keep memory bounded
            _APPS.pop(next(iter(_APPS)))
    app = cached[1]
    state = dict(app.state)
    routes = len(app.routes)
    yield app
    if len(app.routes) != routes:
        _APPS.pop(id(settings), None)
    for key in [k for k in app.state if k not in state]:
        del app.state[key]
    for key, value in state.items():
        app.state[key] = value


class Browser(httpx.AsyncClient):
    """An HTTP client that behaves like a person's browser: keeps cookies and sends the CSRF token with forms."""

    async def submit(self, url: str, data: dict | None = None, *, files=None, follow: bool = False) -> httpx.Response:
        if "cc_csrf" not in self.cookies:
            await self.get("/login")
        body = dict(data or {})
        body["_csrf_token"] = self.cookies.get("cc_csrf")
        return await self.post(url, data=body, files=files, follow_redirects=follow)


@pytest.fixture
async def browser(app):
    async with Browser(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def make_browser(app):
    """A factory for more browsers (several people in one test)."""
    clients: list[Browser] = []

    def factory(address: str = "127.0.0.1") -> Browser:
        """A browser whose requests come from `address` (the socket peer the app sees)."""
        client = Browser(transport=httpx.ASGITransport(app=app, client=(address, 123)), base_url="http://testserver")
        clients.append(client)
        return client

    yield factory


@pytest.fixture
def worker(settings):
    from careers.worker import Worker

    return Worker(settings)


@pytest.fixture(scope="session", autouse=True)
async def close_search_sessions():
    """ASGITransport runs no lifespan: close search's keep-alive Meilisearch sessions once, at the end."""
    yield
    from search.client import close_http

    await close_http()


@pytest.fixture(autouse=True)
def nothing_on_disk_with_s3(request):
    """With TEST_STORAGE_URL=s3, no test writes an upload under $CAREERS_DATA_DIR/uploads."""
    watched = ON_S3 and "settings" in request.fixturenames
    uploads = request.getfixturevalue("settings").uploads_dir if watched else None
    yield
    if uploads is not None:
        found = [p for p in uploads.rglob("*") if p.is_file()] if uploads.exists() else []
        assert not found, f"S3 storage, yet files were written to disk: {found[:5]}"


# ---- small helpers the tests share --------------------------------------------------------


async def stored(settings: Settings, key: str) -> bytes | None:
    """The bytes the configured storage holds under `key` (disk or bucket), None when absent."""
    from careers.core.storage import storage_for

    try:
        return await storage_for(settings).read(key)
    except FileNotFoundError:
        return None


async def stored_count(settings: Settings) -> int:
    """How many objects the configured storage holds."""
    from careers.core.storage import storage_for

    return len([info async for info in storage_for(settings).list()])


async def outbox_mail(to: str | None = None) -> list[dict]:
    from careers.core.tables import OutboxRow

    rows = await OutboxRow.select().where(OutboxRow.kind == "mail").order_by(OutboxRow.id).output(load_json=True)
    return [r["payload"] | {"id": r["id"], "status": r["status"]} for r in rows if to is None or r["payload"]["to"] == to]


async def sent_mail(to: str | None = None, settings: Settings | None = None) -> list[dict]:
    """The worker sends the queued mail to the test SMTP server; returns what it received (to `to`), oldest first.

    Each: {to, subject, text, html, headers (the message)}. This is the mail as people get it: one-time links are written only
    when a mail is sent, never into the outbox.
    """
    from careers.worker import Worker, default_handlers

    sink, base = _MAILBOX
    handlers = {kind: handler for kind, handler in default_handlers().items() if kind.split(".")[0] == "mail"}
    await Worker(settings or base, handlers=handlers, periodic=[]).drain()
    return sink.mails(to)


async def follow_mailed_link(browser: Browser, link: str, button: str) -> httpx.Response:
    """Open a mailed one-time link (a page that changes nothing) and press its button, as a person would."""
    from urllib.parse import parse_qs, urlparse

    page = await browser.get(link)
    assert page.status_code == 200 and button in page.text, page.text[:2000]
    token = parse_qs(urlparse(link).query).get("token", [""])[0]
    return await browser.submit(urlparse(link).path, {"token": token})


def link_in(text: str, path_prefix: str) -> str:
    import re

    match = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"[^\s]*)", text)
    assert match, f"no link to {path_prefix} in mail:\n{text}"
    return match.group(1)


async def register_coder(browser: Browser, email: str = "coder@example.org", password: str = "correct horse battery",
                         name: str = "Casey Coder", *, confirm: bool = True) -> httpx.Response:
    response = await browser.submit("/register/coder", {"display_name": name, "email": email, "password": password,
                                                        "password_confirm": password})
    assert response.status_code == 303, response.text
    if confirm:
        mail = (await sent_mail(email))[-1]
        await follow_mailed_link(browser, link_in(mail["text"], "/account/confirm"), "Confirm my email address")
    return response


async def register_employer(browser: Browser, email: str = "hr@acmehealth.org", password: str = "correct horse battery",
                            org: str = "Acme Health", website: str = "https://acmehealth.org", *,
                            confirm: bool = True) -> httpx.Response:
    response = await browser.submit("/register/employer", {"org_name": org, "website": website, "display_name": "Hana HR",
                                                           "email": email, "password": password,
                                                           "password_confirm": password})
    assert response.status_code == 303, response.text
    if confirm:
        mail = (await sent_mail(email))[-1]
        await follow_mailed_link(browser, link_in(mail["text"], "/account/confirm"), "Confirm my email address")
    return response


async def login(browser: Browser, email: str, password: str = "correct horse battery") -> httpx.Response:
    return await browser.submit("/login", {"email": email, "password": password})


async def create_admin(browser: Browser, email: str = "admin@careercenter.org", password: str = "correct horse battery"):
    from careers.accounts.service import create_admin as make

    await make(email, password)
    response = await login(browser, email, password)
    assert response.status_code == 303, response.text
    await enrol_totp(browser)
    return response


async def enrol_totp(browser: Browser, base: str = "/admin/2fa", *, password: str | None = None,
                     current_code: str | None = None) -> str:
    """Set up the authenticator app on the set-up page; returns the secret. An admin who just gave the password
    (the first login) needs nothing more; a complete login changing it gives `password` (and `current_code`).

    The secret and the recovery codes shown once are kept on the browser (`totp_secret`, `recovery_codes`).
    """
    import re

    import pyotp

    page = await browser.get(base + "/setup")
    assert page.status_code == 200, page.text
    secret = re.search(r'data-totp-secret="([A-Z2-7]+)"', page.text).group(1)
    form = {"code": pyotp.TOTP(secret).now()}
    form |= {"password": password} if password is not None else {}
    form |= {"current_code": current_code} if current_code is not None else {}
    done = await browser.submit(base + "/setup", form)
    assert done.status_code == 200 and "recovery codes" in done.text, done.text
    browser.totp_secret = secret
    browser.recovery_codes = re.findall(r'<code class="recovery-code">([a-z0-9-]+)</code>', done.text)
    return secret


def skip_or_fail(reason: str):
    """Outside CI a missing PostgreSQL or Chromium skips loudly; under CI=true it fails the run."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")
