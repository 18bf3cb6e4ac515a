"""The `careers` command: serve, worker, migrate, backup, create-admin, check, plus the domains' own subcommands.

This module parses arguments and dispatches. The domains add their subcommands through the registry
(`commands` in each `<domain>/plugin.py`, listed in careers/domains.py); `careers serve`'s process
supervision lives in careers/supervisor.py.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlparse, urlunparse

from careers import local
from careers.core import registry
from careers.core.config import PROJECT_ROOT, ConfigurationError, Settings, load_settings
from careers.domains import DOMAINS
from careers.supervisor import DEFAULT_WEB_SERVER, WEB_SERVERS, Supervisor, masked_url, run_migrations

log = logging.getLogger("careers.cli")

# ---- entry point ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    # Piccolo finds its tables' engine through the top-level `piccolo_conf` module in the project root;
    # make it importable when `careers` runs from any folder.
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))
    settings: Settings | None = None
    config_error: ConfigurationError | None = None
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        config_error = exc
    setup_logging(settings)
    if settings is not None:
        # The engine (careers.core.db) and every child read these from the environment; a `.env` value must reach them.
        os.environ["DATABASE_URL"] = settings.database_url
        os.environ["CAREERS_DATA_DIR"] = str(settings.data_dir)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    if not getattr(args, "needs_settings", True):
        return int(args.func(args, settings) or 0)
    if settings is None:
        print(f"careers: {config_error}", file=sys.stderr)
        return 2
    if getattr(args, "managed_search", False) and not settings.meili_url:
        return _with_managed_search(args, settings)
    return int(args.func(args, settings) or 0)


def _with_managed_search(args: argparse.Namespace, settings: Settings) -> int:
    """A subcommand that sets `managed_search` (e.g. `reindex`) runs against the managed Meilisearch without MEILI_URL.

    The CLI starts it, being the top floor: no domain imports careers.local.
    """
    try:
        key = settings.meili_master_key or local.meili_master_key(settings.data_dir)
        managed = local.start_meilisearch(settings.data_dir / "meilisearch", master_key=key,
                                          log_path=settings.data_dir / f"meilisearch-{args.command}.log")
    except local.LocalServiceError as exc:
        print(f"{args.command}: no MEILI_URL and the managed Meilisearch could not start ({exc}). If `careers serve` "
              "is running, set MEILI_URL and MEILI_MASTER_KEY to the Meilisearch it started.", file=sys.stderr)
        return 2
    try:
        return int(args.func(args, settings.replace(meili_url=managed.url, meili_master_key=key)) or 0)
    finally:
        managed.stop()


_logging_ready = False


def setup_logging(settings: Settings | None = None) -> None:
    """INFO and up to stderr, once per process: JSON lines in production, readable lines otherwise
    (careers.core.logs; Piccolo's engine banner silenced)."""
    global _logging_ready
    if _logging_ready:
        return
    from careers.core.logs import configure_logging

    configure_logging(settings or Settings())
    _logging_ready = True


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="careers", description="CareerCenter, the job board for medical coders.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="migrate, start the managed services, the web server and the worker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="web processes (the web server's workers; default 1)")
    serve.add_argument("--server", choices=WEB_SERVERS, default=DEFAULT_WEB_SERVER,
                       help=f"the web server (default {DEFAULT_WEB_SERVER}; measured in bench/README.md)")
    serve.add_argument("--no-worker", action="store_true", help="do not run the background worker")
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="run the background worker (outbox: mail, search sync, expiry ...)")
    worker.add_argument("--wait-for-lock", action="store_true",
                        help="on SQLite, wait for a running worker to go away instead of refusing to start")
    worker.add_argument("--worker-id", default=None, help="lease holder name (careers serve passes its own)")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="apply every Piccolo migration forwards")
    migrate.set_defaults(func=cmd_migrate)

    backup = sub.add_parser("backup", help="a consistent copy of the database and the uploaded files")
    backup.add_argument("dest", help="folder that receives the backup")
    backup.set_defaults(func=cmd_backup)

    admin = sub.add_parser("create-admin", help="create an administrator account")
    admin.add_argument("--email")
    admin.add_argument("--password", help="prompted for when omitted")
    admin.set_defaults(func=cmd_create_admin)

    storage = sub.add_parser("storage", help="uploaded files: `migrate --to s3://BUCKET/PREFIX` copies them to a bucket")
    storage_sub = storage.add_subparsers(dest="storage_command", metavar="ACTION", required=True)
    storage_migrate = storage_sub.add_parser("migrate", help="copy every upload to --to, verified; re-runnable")
    storage_migrate.add_argument("--to", required=True, help="s3://BUCKET/PREFIX (or file:///PATH)")
    storage_migrate.add_argument("--from", dest="source", default=None,
                                 help="where the files are now (default file://$CAREERS_DATA_DIR/uploads)")
    storage_migrate.set_defaults(func=cmd_storage_migrate)

    check = sub.add_parser("check", help="print the configuration (secrets masked) and the status of each service")
    check.set_defaults(func=cmd_check, needs_settings=False)

    registry.register_commands(DOMAINS, sub)
    return parser


# ---- migrate -----------------------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    if not run_migrations(settings, verbose=True):
        return 1
    print(f"Migrations applied to {masked_url(settings.database_url)}")
    return 0


# ---- worker ----------------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run_worker(settings, wait_for_lock=args.wait_for_lock, worker_id=args.worker_id))


async def _run_worker(settings: Settings, *, wait_for_lock: bool, worker_id: str | None) -> int:
    from careers.core import db  # late: the engine reads DATABASE_URL at import, which main() may take from .env
    from careers.worker import Worker, WorkerLockHeld  # loads every domain's jobs: only this command needs them

    await db.start()
    worker = Worker(settings, worker_id=worker_id)
    stopping = asyncio.Event()

    def stop() -> None:
        stopping.set()
        worker.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        if wait_for_lock:
            announced = False
            while not stopping.is_set():
                try:
                    await worker.acquire_lock()
                    break
                except WorkerLockHeld as exc:
                    if not announced:
                        log.warning("%s Waiting until it stops (its lease lasts 30 s).", exc)
                        announced = True
                    try:
                        await asyncio.wait_for(stopping.wait(), timeout=1.0)
                    except asyncio.TimeoutError:
                        pass
            if stopping.is_set():
                return 0
        await worker.run_forever()
    except WorkerLockHeld as exc:
        print(f"careers worker: refused to start. {exc} "
              "Stop the other worker (or `careers serve`, which runs one) first.", file=sys.stderr)
        return 3
    finally:
        await db.stop()
    log.info("worker stopped")
    return 0


# ---- create-admin ----------------------------------------------------------------------------------------


def cmd_create_admin(args: argparse.Namespace, settings: Settings) -> int:
    email = args.email
    password = args.password
    try:
        if not email:
            email = input("Admin email: ").strip()
        if password is None:
            if not sys.stdin.isatty():
                print("careers create-admin: give --password (there is no terminal to ask on).", file=sys.stderr)
                return 2
            from getpass import getpass

            password = getpass("Password: ")
            if getpass("Repeat the password: ") != password:
                print("careers create-admin: the two passwords differ; nothing was created.", file=sys.stderr)
                return 2
    except EOFError:
        print("careers create-admin: give --email and --password (no input to read).", file=sys.stderr)
        return 2
    return asyncio.run(_create_admin(email, password))


async def _create_admin(email: str, password: str) -> int:
    from careers.accounts.service import AccountError, create_admin
    from careers.core import db  # late: the engine reads DATABASE_URL at import, which main() may take from .env

    await db.start()
    try:
        user = await create_admin(email, password)
    except AccountError as exc:
        print(f"careers create-admin: {exc.message} Nothing was created.", file=sys.stderr)
        return 1
    finally:
        await db.stop()
    print(f"Admin {user.email} created. Log in at /login.")
    return 0


# ---- storage -----------------------------------------------------------------------------------------------


def cmd_storage_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from careers.storage_cli import cmd_storage_migrate as migrate

    return migrate(args, settings)


# ---- backup ------------------------------------------------------------------------------------------------


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    dest = Path(args.dest).expanduser().resolve()
    dest.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    status = 0
    if settings.sqlite_path is not None:
        status = _backup_sqlite(settings.sqlite_path, dest / f"careers-{stamp}.sqlite3")
    elif settings.is_postgres:
        status = _backup_postgres(settings.database_url, dest / f"careers-{stamp}.dump")
    uploads = Path(urlparse(settings.storage_url).path) if settings.storage_url.startswith("file://") else settings.uploads_dir
    if settings.storage_url.startswith("s3://"):
        from careers.storage_cli import backup_uploads

        backup_uploads(settings, dest, stamp)
    elif uploads.is_dir():
        target = dest / f"careers-{stamp}-uploads"
        shutil.copytree(uploads, target)
        count = sum(1 for p in target.rglob("*") if p.is_file())
        print(f"uploads: {count} file(s) copied to {target}")
    else:
        print(f"uploads: none yet ({uploads} does not exist)")
    if status == 0:
        print("Backup complete. The search index is derived data: after a restore, rebuild it (see README, Backup).")
    return status


def _backup_sqlite(source: Path, target: Path) -> int:
    if not source.is_file():
        print(f"careers backup: no database at {source}", file=sys.stderr)
        return 1
    if target.exists():
        print(f"careers backup: {target} already exists", file=sys.stderr)
        return 1
    # sqlite3's online backup API: a consistent snapshot even while the board writes.
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file; serve turns WAL back on
        verdict = dst.execute("PRAGMA integrity_check").fetchone()[0]
        tables = dst.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
    finally:
        dst.close()
        src.close()
    if verdict != "ok":
        print(f"careers backup: the copy failed its integrity check: {verdict}", file=sys.stderr)
        return 1
    print(f"database: {tables} tables copied to {target}")
    return 0


def _backup_postgres(url: str, target: Path) -> int:
    shown = ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", '--dbname="$DATABASE_URL"']
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        print("careers backup: pg_dump is not on PATH (Debian: apt-get install postgresql-client). "
              "Run exactly this where it is:\n  " + " ".join(shown), file=sys.stderr)
        return 1
    parsed = urlparse(url)
    env = dict(os.environ)
    if parsed.password is not None:
        # Keep the password out of the process list.
        env["PGPASSWORD"] = unquote(parsed.password)
        netloc = quote(unquote(parsed.username or ""), safe="") + "@" + (parsed.hostname or "")
        if parsed.port:
            netloc += f":{parsed.port}"
        url = urlunparse(parsed._replace(netloc=netloc))
    result = subprocess.run([pg_dump, "--format=custom", "--no-owner", f"--file={target}", f"--dbname={url}"], env=env)
    if result.returncode != 0:
        print(f"careers backup: pg_dump failed (exit code {result.returncode})", file=sys.stderr)
        return result.returncode
    print(f"database: pg_dump (custom format) written to {target}")
    return 0


# ---- check -------------------------------------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace, _settings: Settings | None) -> int:
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print("The configuration is unusable. Set or fix:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print(f"Configuration ({settings.env}; secrets masked):")
    for name, value in settings.masked().items():
        print(f"  {name:<24} {value}")
    problems: list[str] = []
    print("Status:")
    print(f"  {'database':<10} {_database_status(settings, problems)}")
    print(f"  {'search':<10} {_search_status(settings, problems)}")
    print(f"  {'payments':<10} {_payments_status(settings, problems)}")
    print(f"  {'mail':<10} {'SMTP ' + masked_url(settings.smtp_url) if settings.smtp_url else 'kept in the outbox (read at /admin/mail)'}")
    from careers.storage_cli import storage_status

    print(f"  {'storage':<10} {storage_status(settings, problems)}")
    from listings.reach.status import reach_status  # only `check` reads it

    print(f"  {'reach':<10} {reach_status(settings, problems)}")
    print(f"  {'metrics':<10} " + ("/metrics enabled (Authorization: Bearer $METRICS_TOKEN)" if settings.metrics_token
                                   else "/metrics disabled (METRICS_TOKEN unset: it answers 404)"))
    for warning in _proxy_warnings(settings):
        print(f"Warning: {warning}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("OK")
    return 0


def _proxy_warnings(settings: Settings) -> list[str]:
    if not settings.production or settings.trusted_proxies:
        return []
    return ["TRUSTED_PROXIES is unset: behind a reverse proxy every visitor shares the proxy's address, so one "
            "client can spend everyone's login and registration limits. Set TRUSTED_PROXIES to the proxy's "
            "address or network, e.g. TRUSTED_PROXIES=127.0.0.1 or TRUSTED_PROXIES=10.0.0.0/8 (comma-separated), "
            "and have the proxy append X-Forwarded-For (README: Production). Leave it unset only when browsers "
            "reach `careers serve` directly."]


def _database_status(settings: Settings, problems: list[str]) -> str:
    if settings.sqlite_path is not None and not settings.sqlite_path.exists():
        return f"SQLite {settings.sqlite_path}: not created yet (`careers migrate` or `careers serve` creates it)"

    async def probe() -> str | None:
        from careers.core import db  # late: the engine reads DATABASE_URL at import, which main() may take from .env

        try:
            await asyncio.wait_for(db.start(), timeout=10)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        try:
            return None if await asyncio.wait_for(db.ping(), timeout=10) else "SELECT 1 failed"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        finally:
            await db.stop()

    error = asyncio.run(probe())
    engine = f"SQLite {settings.sqlite_path}" if settings.sqlite_path else f"PostgreSQL {masked_url(settings.database_url)}"
    if error:
        problems.append(f"database unreachable: {error} (DATABASE_URL)")
        return f"{engine}: unreachable ({error})"
    return f"{engine}: ok"


def _search_status(settings: Settings, problems: list[str]) -> str:
    from meilisearch.errors import MeilisearchApiError, MeilisearchCommunicationError, MeilisearchTimeoutError

    from search.client import admin_client  # late: only `careers check` needs the search stack loaded

    if not settings.meili_url:
        try:
            binary = local.meilisearch_binary()
        except local.LocalServiceError as exc:
            problems.append(str(exc))
            return "no Meilisearch available"
        return f"managed (started by `careers serve` from {binary})"
    url = settings.meili_url.rstrip("/")
    client = admin_client(settings, timeout=3)
    try:
        client.health()
    except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
        # Pages fall back to the database while search is down: worth saying, not fatal.
        return f"{url}: unavailable ({type(exc).__name__}); pages fall back to the database"
    except MeilisearchApiError as exc:
        return f"{url}: unavailable (HTTP {exc.status_code})"
    try:
        version = client.get_version()
    except MeilisearchApiError as exc:
        if exc.status_code in (401, 403):
            problems.append("Meilisearch refuses MEILI_MASTER_KEY")
            return f"{url}: up, but the key is refused (HTTP {exc.status_code})"
        return f"{url}: unavailable (HTTP {exc.status_code})"
    return f"{url}: ok (Meilisearch {version.get('pkgVersion', '?')})"


def _payments_status(settings: Settings, problems: list[str]) -> str:
    if not settings.stripe_secret_key:
        if importlib.util.find_spec("localstripe") is None:
            problems.append("localstripe is not installed (run `make install`), and STRIPE_SECRET_KEY is unset")
            return "no Stripe: neither keys nor the emulator"
        return "emulator (localstripe, started by `careers serve`)"
    mode = settings.stripe_mode
    if mode == "emulator":
        return f"emulator at {settings.stripe_api_base}"
    return f"Stripe, {mode} mode"


# ---- serve (the supervisor is careers/supervisor.py) -------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers < 1:
        print("careers serve: --workers must be at least 1", file=sys.stderr)
        return 2
    return Supervisor(settings, host=args.host, port=args.port, web_workers=args.workers,
                      run_worker=not args.no_worker, server=args.server).run()


if __name__ == "__main__":
    sys.exit(main())
