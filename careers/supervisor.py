"""`careers serve`'s supervisor: migrations, the managed services, the web server and the worker as children.

It applies migrations, starts the managed Meilisearch and Stripe emulator when no external ones are
configured, then runs the web server (uvicorn, N worker processes) and the single background worker as
children, restarts any of them that dies (with back-off) and stops them all on Ctrl-C or SIGTERM. Every
child runs in its own process group, so stopping one means signalling its whole group: nothing is left
listening. Top floor, like careers/cli.py, which parses `careers serve` and calls `Supervisor.run`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from careers import local
from careers.core.config import PROJECT_ROOT, Settings

log = logging.getLogger("careers.cli")  # the supervisor's lines keep the name operators know from `careers serve`

# Restart back-off of a managed child: 1 s, 2 s, 4 s ... capped; reset once a child has run this long.
INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_SECONDS = 30.0
STOP_TIMEOUT = 10.0
EMULATOR_SECRET_KEY = "sk_test_emulator"
EMULATOR_PUBLISHABLE_KEY = "pk_test_emulator"
WEBHOOK_PATH = "/billing/stripe/webhook"


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
    from careers.core import db  # late: the engine reads DATABASE_URL at import, which `careers` sets from .env first

    await db.start()  # PRAGMA journal_mode=WAL, which the file remembers
    await db.stop()


def masked_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":****@")
    return url


@dataclass
class Child:
    """One supervised process and how to (re)start it."""

    proc: local.ManagedProcess
    health_path: str | None = None  # wait for this path to answer 200 (None: port only; no port: no wait)
    after_start: Callable[[local.ManagedProcess], None] | None = None
    ready_timeout: float = 60.0
    delay: float = INITIAL_BACKOFF
    restart_at: float | None = None
    restarts: int = 0


WEB_SERVERS = ("uvicorn", "granian")
DEFAULT_WEB_SERVER = "uvicorn"  # measured against granian in bench/README.md


def web_server_argv(server: str, host: str, port: int, workers: int) -> list[str]:
    """The web server's command line: N worker processes of the app factory under the server's own master."""
    if server == "granian":
        return [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", host, "--port", str(port),
                "--workers", str(workers), "--no-ws", "--workers-kill-timeout", "5", "careers.app:create_app_from_env"]
    if server != "uvicorn":
        raise ValueError(f"unknown web server {server!r}; choose one of {', '.join(WEB_SERVERS)}")
    return [sys.executable, "-m", "uvicorn", "--factory", "careers.app:create_app_from_env", "--host", host, "--port",
            str(port), "--workers", str(workers), "--timeout-graceful-shutdown", "5", "--no-server-header",
            # X-Forwarded-For is read in one place only, through TRUSTED_PROXIES (careers/core/proxies.py).
            "--no-proxy-headers"]


class StartFailed(Exception):
    pass


class Supervisor:
    def __init__(self, settings: Settings, *, host: str, port: int, web_workers: int = 1, run_worker: bool = True,
                 server: str = DEFAULT_WEB_SERVER) -> None:
        self.settings = settings
        self.server = server
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
        """Migrate, then start each child in order; False when asked to stop while starting."""
        log.info("applying migrations to %s", masked_url(self.settings.database_url))
        if not run_migrations(self.settings, verbose=False):
            raise StartFailed("migrations failed (output above)")
        env = self._child_env()
        for start in (self._start_meilisearch, self._start_stripe_emulator, self._start_web_and_worker):
            if self.stopping:
                return False
            start(env)
        return not self.stopping

    def _child_env(self) -> dict[str, str]:
        settings = self.settings
        return {
            "CAREERS_ENV": settings.env,
            "CAREERS_DATA_DIR": str(settings.data_dir),
            "DATABASE_URL": settings.database_url,
            "SECRET_KEY": settings.secret_key,
            "BASE_URL": self.base_url,
            "CAREERS_WORKER_IN_PROCESS": "0",  # the supervisor runs the one worker
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": _child_pythonpath(),
        }

    def _start_meilisearch(self, env: dict[str, str]) -> None:
        """The managed Meilisearch, unless MEILI_URL names one; its address goes into the children's env."""
        settings = self.settings
        if settings.meili_url:
            return
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

    def _start_stripe_emulator(self, env: dict[str, str]) -> None:
        """The Stripe emulator, unless Stripe keys are set; its address and keys go into the children's env."""
        settings = self.settings
        if settings.stripe_secret_key:
            return
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

    def _start_web_and_worker(self, env: dict[str, str]) -> None:
        argv = web_server_argv(self.server, self.host, self.port, self.web_workers)
        web = local.ManagedProcess("web", argv, self.port, env=dict(env), inherit_output=True,
                                   die_with_parent=True)
        self._launch(Child(web, health_path="/healthz"))
        if self.run_worker:
            worker_argv = [sys.executable, "-m", "careers.cli", "worker", "--wait-for-lock",
                           "--worker-id", f"serve-{os.getpid()}"]
            # port 0: the worker listens nowhere; the same lease holder id lets a restarted worker take over at once.
            worker = local.ManagedProcess("worker", worker_argv, 0, env=dict(env), inherit_output=True,
                                          die_with_parent=True)
            self._launch(Child(worker))

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
    return local.port_open(port, host)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
