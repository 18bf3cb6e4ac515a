"""The `careers` command: serve, worker, migrate, backup, create-admin, check, plus the domains' own subcommands.

`careers serve` is a small supervisor: it applies migrations, starts the managed
Meilisearch and Stripe emulator when no external ones are configured, then runs
the web server (uvicorn, N worker processes) and the single background worker as
children, restarts any of them that dies (with back-off) and stops them all on
Ctrl-C or SIGTERM. Every child runs in its own process group, so stopping one
means signalling its whole group: nothing is left listening.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse, urlunparse

from careers.core.config import PROJECT_ROOT, ConfigurationError, Settings, load_settings

log = logging.getLogger("careers.cli")

PLUGIN_MODULES = ("listings.commands", "search.commands", "billing.commands", "careers.coders.commands",
                  "employers.commands")

# Restart back-off of a managed child: 1 s, 2 s, 4 s ... capped; reset once a child has run this long.
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_SECONDS = 30.0
STOP_TIMEOUT = 10.0
EMULATOR_SECRET_KEY = "sk_test_emulator"
EMULATOR_PUBLISHABLE_KEY = "pk_test_emulator"
WEBHOOK_PATH = "/billing/stripe/webhook"


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
    return int(args.func(args, settings) or 0)


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
    serve.add_argument("--workers", type=int, default=1, help="web processes (uvicorn workers; default 1)")
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

    for module_name in PLUGIN_MODULES:
        module = _optional_import(module_name)
        if module is not None and hasattr(module, "register"):
            module.register(sub)
    return parser


def _optional_import(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name or name.startswith(f"{exc.name}."):
            return None
        raise


def _child_pythonpath() -> str:
    parts = [str(PROJECT_ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(parts))


def _configured(name: str) -> str:
    """A variable as the operator set it (environment first, then `.env`), '' when unset."""
    if os.environ.get(name):
        return os.environ[name]
    env_file = Path.cwd() / ".env"
    if env_file.is_file():
        from dotenv import dotenv_values

        return dotenv_values(env_file).get(name) or ""
    return ""


# ---- migrate -----------------------------------------------------------------------------------------


def run_migrations(settings: Settings, *, verbose: bool) -> bool:
    """Piccolo's `migrations forwards all` in a child process, then WAL on SQLite. True on success."""
    env = {**os.environ, "DATABASE_URL": settings.database_url, "CAREERS_DATA_DIR": str(settings.data_dir),
           "PYTHONPATH": _child_pythonpath(), "PICCOLO_CONF": "piccolo_conf"}
    result = subprocess.run([sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"],
                            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    failed = result.returncode != 0 or "Traceback" in result.stderr
    if failed or verbose:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
    if failed:
        print(f"careers: migrations failed (exit code {result.returncode})", file=sys.stderr)
        return False
    if settings.sqlite_path:
        asyncio.run(_set_wal())
    return True


async def _set_wal() -> None:
    from careers.core import db

    await db.start()  # PRAGMA journal_mode=WAL, which the file remembers
    await db.stop()


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    if not run_migrations(settings, verbose=True):
        return 1
    print(f"Migrations applied to {masked_url(settings.database_url)}")
    return 0


def masked_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":****@")
    return url


# ---- worker ----------------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_run_worker(settings, wait_for_lock=args.wait_for_lock, worker_id=args.worker_id))


async def _run_worker(settings: Settings, *, wait_for_lock: bool, worker_id: str | None) -> int:
    from careers.core import db
    from careers.worker import Worker, WorkerLockHeld

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
    from careers.core import db

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
    print(f"  {'metrics':<10} " + ("/metrics enabled (Authorization: Bearer $METRICS_TOKEN)" if settings.metrics_token
                                   else "/metrics disabled (METRICS_TOKEN unset: it answers 404)"))
    if problems:
        print(f"{len(problems)} problem(s):", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print("OK")
    return 0


def _database_status(settings: Settings, problems: list[str]) -> str:
    if settings.sqlite_path is not None and not settings.sqlite_path.exists():
        return f"SQLite {settings.sqlite_path}: not created yet (`careers migrate` or `careers serve` creates it)"

    async def probe() -> str | None:
        from careers.core import db

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

    from search.client import admin_client

    if not settings.meili_url:
        from careers import local

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


# ---- serve: the supervisor -------------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    if args.workers < 1:
        print("careers serve: --workers must be at least 1", file=sys.stderr)
        return 2
    return Supervisor(settings, host=args.host, port=args.port, web_workers=args.workers,
                      run_worker=not args.no_worker).run()


@dataclass
class Child:
    """One supervised process and how to (re)start it."""

    proc: "local.ManagedProcess"  # noqa: F821
    health_path: str | None = None  # wait for this path to answer 200 (None: port only; no port: no wait)
    after_start: Callable[["local.ManagedProcess"], None] | None = None  # noqa: F821
    ready_timeout: float = 60.0
    delay: float = INITIAL_BACKOFF
    restart_at: float | None = None
    restarts: int = 0


class StartFailed(Exception):
    pass


class Supervisor:
    def __init__(self, settings: Settings, *, host: str, port: int, web_workers: int = 1, run_worker: bool = True) -> None:
        self.settings = settings
        self.host = host
        self.port = port
        self.web_workers = web_workers
        self.run_worker = run_worker
        self.loopback = "127.0.0.1" if host in ("0.0.0.0", "", "::", "localhost") else host
        self.base_url = (_configured("BASE_URL") or f"http://{self.loopback}:{port}").rstrip("/")
        self.children: list[Child] = []
        self.stopping = False
        self.state_file = settings.data_dir / "serve.json"
        self.logs_dir = settings.data_dir / "logs"

    # -- signals -----------------------------------------------------------------------------------
    def _on_signal(self, signum, frame) -> None:
        if self.stopping:
            log.info("already stopping")
            return
        log.info("%s received: stopping every child", signal.Signals(signum).name)
        self.stopping = True

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
                continue  # started under nohup: a closed terminal must not stop the board
            signal.signal(sig, self._on_signal)
        try:
            self._refuse_a_second_supervisor()
            if not self._start_everything():
                return 0  # asked to stop while starting
            print(f"CareerCenter is serving at {self.base_url}/  (Ctrl-C stops it)", flush=True)
            while not self.stopping:
                self._tick()
                time.sleep(0.2)
            return 0
        except StartFailed as exc:
            print(f"careers serve: {exc}", file=sys.stderr)
            return 1
        finally:
            self._stop_all()
            self.state_file.unlink(missing_ok=True)
            log.info("every child stopped")

    def _refuse_a_second_supervisor(self) -> None:
        from careers import local

        if self.state_file.is_file():
            try:
                other = json.loads(self.state_file.read_text()).get("pid")
            except (ValueError, OSError):
                other = None
            if other and other != os.getpid() and _pid_alive(other):
                raise StartFailed(f"another `careers serve` (pid {other}) is running on {self.settings.data_dir}")
        if local.port_open(self.port, self.loopback):
            raise StartFailed(f"port {self.port} on {self.loopback} is already in use; choose another with --port")

    # -- start -------------------------------------------------------------------------------------
    def _start_everything(self) -> bool:
        from careers import local

        settings = self.settings
        log.info("applying migrations to %s", masked_url(settings.database_url))
        if not run_migrations(settings, verbose=False):
            raise StartFailed("migrations failed (output above)")
        if self.stopping:
            return False
        env = {
            "CAREERS_ENV": settings.env,
            "CAREERS_DATA_DIR": str(settings.data_dir),
            "DATABASE_URL": settings.database_url,
            "SECRET_KEY": settings.secret_key,
            "BASE_URL": self.base_url,
            "CAREERS_WORKER_IN_PROCESS": "0",  # the supervisor runs the one worker
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": _child_pythonpath(),
        }

        if not settings.meili_url:
            if settings.production:
                raise StartFailed("production refuses the managed Meilisearch: set MEILI_URL")
            try:
                key = settings.meili_master_key or local.meili_master_key(settings.data_dir)
                meili = local.meilisearch_process(settings.data_dir / "meilisearch", local.free_port(), key,
                                                  log_path=self.logs_dir / "meilisearch.log")
            except local.LocalServiceError as exc:
                raise StartFailed(str(exc)) from None
            meili.die_with_parent = True
            self._launch(Child(meili, health_path="/health"))
            env.update(MEILI_URL=meili.url, MEILI_MASTER_KEY=key)
            log.info("managed Meilisearch at %s (data in %s)", meili.url, settings.data_dir / "meilisearch")
        if self.stopping:
            return False

        if not settings.stripe_secret_key:
            if settings.production:
                raise StartFailed("production refuses the Stripe emulator: set the Stripe keys")
            secret = local.emulator_webhook_secret(settings.data_dir)
            emulator = local.stripe_emulator_process(local.free_port(), settings.data_dir / "stripe-emulator.pickle",
                                                     log_path=self.logs_dir / "stripe-emulator.log")
            emulator.die_with_parent = True
            webhook = f"http://{self.loopback}:{self.port}{WEBHOOK_PATH}"

            def register(proc) -> None:
                # localstripe forgets webhooks when it restarts.
                local.register_emulator_webhook(proc.url, webhook, secret)
                log.info("Stripe emulator at %s sends webhooks to %s", proc.url, webhook)

            self._launch(Child(emulator, after_start=register, ready_timeout=30))
            env.update(STRIPE_API_BASE=emulator.url, STRIPE_JS_URL=emulator.url + "/js.stripe.com/v3/",
                       STRIPE_SECRET_KEY=EMULATOR_SECRET_KEY, STRIPE_PUBLISHABLE_KEY=EMULATOR_PUBLISHABLE_KEY,
                       STRIPE_WEBHOOK_SECRET=secret)
        if self.stopping:
            return False

        web_argv = [sys.executable, "-m", "uvicorn", "--factory", "careers.app:create_app_from_env",
                    "--host", self.host, "--port", str(self.port), "--workers", str(self.web_workers),
                    "--timeout-graceful-shutdown", "5", "--no-server-header"]
        web = local.ManagedProcess("web", web_argv, self.port, env=dict(env), inherit_output=True,
                                   die_with_parent=True)
        self._launch(Child(web, health_path="/healthz"))
        if self.run_worker:
            worker_argv = [sys.executable, "-m", "careers.cli", "worker", "--wait-for-lock",
                           "--worker-id", f"serve-{os.getpid()}"]
            # port 0: the worker listens nowhere; the same lease holder id lets a restarted worker take over at once.
            worker = local.ManagedProcess("worker", worker_argv, 0, env=dict(env), inherit_output=True,
                                          die_with_parent=True)
            self._launch(Child(worker))
        return not self.stopping

    def _launch(self, child: Child) -> None:
        """First start: a failure here stops `serve` with the reason instead of looping."""
        self.children.append(child)
        try:
            self._start(child)
        except _NotReady as exc:
            raise StartFailed(str(exc)) from None

    def _start(self, child: Child) -> None:
        proc = child.proc
        try:
            proc.start()
        except OSError as exc:  # e.g. the binary vanished
            raise _NotReady(f"{proc.name} could not start: {exc}") from exc
        log.info("%s started (pid %s)", proc.name, proc.pid)
        self._write_state()
        if proc.port:
            self._wait_ready(child)
        if child.after_start is not None and not self.stopping:
            try:
                child.after_start(proc)
            except Exception as exc:
                raise _NotReady(f"{proc.name}: {exc}") from exc

    def _wait_ready(self, child: Child) -> None:
        import httpx

        proc = child.proc
        host = self.loopback if proc.name == "web" else "127.0.0.1"
        deadline = time.monotonic() + child.ready_timeout
        while time.monotonic() < deadline and not self.stopping:
            if not proc.alive():
                where = f"; see {proc.log_path}" if proc.log_path else ""
                raise _NotReady(f"{proc.name} exited with code {proc.process.returncode} while starting{where}")
            if child.health_path is None:
                if _port_open(proc.port, host):
                    return
            elif _port_open(proc.port, host):
                try:
                    if httpx.get(f"http://{host}:{proc.port}{child.health_path}", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        if not self.stopping:
            raise _NotReady(f"{proc.name} did not become ready on port {proc.port} within {child.ready_timeout:.0f}s")

    # -- supervise ----------------------------------------------------------------------------------
    def _tick(self) -> None:
        now = time.monotonic()
        for child in self.children:
            if self.stopping:
                return
            proc = child.proc
            if child.restart_at is None:
                if proc.alive():
                    continue
                code = proc.process.returncode if proc.process else None
                proc.stop()  # sweep whatever is left of its process group
                if now - proc.started_at > STABLE_SECONDS:
                    child.delay = INITIAL_BACKOFF
                child.restart_at = now + child.delay
                log.warning("%s (pid %s) exited with code %s; restarting in %.0f s", proc.name, proc.pid, code,
                            child.delay)
                child.delay = min(child.delay * 2, MAX_BACKOFF)
            elif now >= child.restart_at:
                child.restart_at = None
                child.restarts += 1
                try:
                    self._start(child)
                    log.info("%s restarted (restart #%d)", proc.name, child.restarts)
                except _NotReady as exc:
                    log.error("restart of %s failed: %s", proc.name, exc)
                    proc.stop()

    def _write_state(self) -> None:
        """serve.json in the data dir: who runs where (operators and tests read it)."""
        state = {"pid": os.getpid(), "url": self.base_url, "children": {}}
        for child in self.children:
            proc = child.proc
            state["children"][proc.name] = {"pid": proc.pid, "port": proc.port or None,
                                            "url": proc.url if proc.port else None}
        tmp = self.state_file.with_suffix(".tmp")
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(state, indent=2))
        os.replace(tmp, self.state_file)

    # -- stop ------------------------------------------------------------------------------------------
    def _stop_all(self) -> None:
        """Web and worker first (they use the services), then the services: SIGTERM, then SIGKILL past the timeout."""
        front = [c.proc for c in self.children if c.proc.name in ("web", "worker")]
        back = [c.proc for c in self.children if c.proc.name not in ("web", "worker")]
        for group in (front, back):
            for proc in group:
                proc.terminate()
            for proc in group:
                proc.reap(STOP_TIMEOUT)


class _NotReady(Exception):
    pass


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    from careers import local

    return local.port_open(port, host)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if __name__ == "__main__":
    sys.exit(main())
