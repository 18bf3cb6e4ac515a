"""Drill: PostgreSQL restarts while a real `careers serve` is under load.

A private cluster (initdb as `postgres`, on a free loopback port) and a `careers serve` subprocess
pointed at it (the session's Meilisearch and Stripe emulator, so serve starts no managed ones).
A client loop keeps reading and writing through the restart. The app must come back by itself:
the same web process, no restart of its own, every request answered again.
"""

from __future__ import annotations

import asyncio
import json
import re
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from careers.core.config import PROJECT_ROOT
from careers.local import free_port
from tests.conftest import ON_POSTGRES
from tests.reliability.conftest import drill_log, wait_until

READY_TIMEOUT = 120
RECOVERY_SECONDS = 60  # a deadline for the recovery loop (generous for a busy machine), not a speed goal


def _serve_env(cluster, data_dir: Path, settings) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "MEILI_BINARY")
    env = {k: os.environ[k] for k in keep if os.environ.get(k)}
    env.update(
        CAREERS_ENV="development",
        CAREERS_DATA_DIR=str(data_dir),
        DATABASE_URL=cluster.url,
        DB_POOL_SIZE="4",
        MEILI_URL=settings.meili_url,
        MEILI_MASTER_KEY=settings.meili_master_key,
        STRIPE_SECRET_KEY=settings.stripe_secret_key,
        STRIPE_PUBLISHABLE_KEY=settings.stripe_publishable_key,
        STRIPE_WEBHOOK_SECRET=settings.stripe_webhook_secret,
        STRIPE_API_BASE=settings.stripe_api_base,
        CAREERS_RATE_LIMIT_MULTIPLIER="1000",
        PYTHONPATH=str(PROJECT_ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def _web_pid(data_dir: Path) -> int | None:
    try:
        return json.loads((data_dir / "serve.json").read_text())["children"]["web"]["pid"]
    except (OSError, ValueError, KeyError):
        return None


async def _round(client: httpx.AsyncClient, csrf: str) -> list[tuple[str, int | str]]:
    """One round of the load: database reads, a search, and a write (a reset request counts in the database)."""
    async def call(name: str, coro):
        try:
            response = await coro
            return name, response.status_code
        except httpx.HTTPError as exc:
            return name, type(exc).__name__

    return await asyncio.gather(
        call("readyz", client.get("/readyz")),
        call("sitemap", client.get("/sitemap.xml")),
        call("rss", client.get("/jobs.rss")),
        call("search", client.get("/api/v1/listings", params={"q": "coder"})),
        call("reset", client.post("/password/reset", data={"email": "nobody@example.org", "_csrf_token": csrf})),
    )


def _ok(results) -> bool:
    return all(status in (200, 303) for _, status in results)


@pytest.mark.slow
async def test_postgres_restarted_under_load_the_app_reconnects_without_restarting(private_postgres, settings):
    """Invariant: requests may fail while PostgreSQL is down, but once it is back every request succeeds again
    within RECOVERY_SECONDS, served by the same web process (no restart of the app)."""
    if ON_POSTGRES:
        pytest.skip("runs once per `make test`, in the SQLite pass: the drill brings its own private PostgreSQL")
    data_dir = Path(tempfile.mkdtemp(prefix="careers-pg-restart-"))
    port = free_port()
    log_path = drill_log("pg-restart-serve")
    log_file = open(log_path, "wb")
    serve = subprocess.Popen([sys.executable, "-m", "careers.cli", "serve", "--port", str(port)], cwd=data_dir,
                             env=_serve_env(private_postgres, data_dir, settings), stdout=log_file,
                             stderr=subprocess.STDOUT, start_new_session=True)

    def serve_log() -> str:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            async def ready() -> bool:
                assert serve.poll() is None, serve_log()
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(ready, timeout=READY_TIMEOUT, interval=0.3, what="careers serve to become ready")
            # /readyz answers before the worker is up: a worker still connecting when PostgreSQL stops would exit
            # and be restarted, which is not what this drill is about. Its "started" line comes after it connected.
            await wait_until(lambda: re.search(r"worker \S+ started", log_path.read_text(errors="replace")),
                             timeout=READY_TIMEOUT, interval=0.3, what="the worker to connect to the database")
            await client.get("/login")
            csrf = client.cookies["cc_csrf"]
            before = _web_pid(data_dir)
            assert before and _ok(await _round(client, csrf))

            # Load during the restart: rounds keep going while PostgreSQL stops and starts.
            stop = asyncio.Event()
            during: list = []

            async def load() -> None:
                while not stop.is_set():
                    during.append(await _round(client, csrf))
                    await asyncio.sleep(0.05)  # paces the load loop; nothing waits on it

            load_task = asyncio.create_task(load())
            await wait_until(lambda: len(during) >= 3, timeout=60, what="three rounds of load before the stop")
            done = await asyncio.to_thread(private_postgres.pg_ctl, "stop", "-m", "fast")
            assert done.returncode == 0, done.stderr
            stopped_at = len(during)
            # the app meets a database that is gone: two rounds that began after the stop have failed
            await wait_until(lambda: sum(not _ok(r) for r in during[stopped_at + 1:]) >= 2, timeout=60,
                             what="the app to notice PostgreSQL is down")
            down_rounds = len(during) - stopped_at
            server_log = str(private_postgres.root / "server.log")
            done = await asyncio.to_thread(private_postgres.pg_ctl, "start", "-l", server_log)
            assert done.returncode == 0, done.stderr + private_postgres.log_tail()
            back_at = time.monotonic()

            # Recovered: five clean rounds in a row, within the allowed time.
            clean = 0
            last = None
            while clean < 5:
                assert time.monotonic() - back_at < RECOVERY_SECONDS, (
                    f"the app did not recover within {RECOVERY_SECONDS}s after PostgreSQL came back; last round: "
                    f"{last}\n{serve_log()}")
                last = await _round(client, csrf)
                clean = clean + 1 if _ok(last) else 0
                await asyncio.sleep(0.1)  # paces the recovery probe; the deadline above bounds it
            recovered_after = time.monotonic() - back_at
            stop.set()
            await asyncio.wait_for(load_task, timeout=30)

            failed_during = [r for r in during if not _ok(r)]
            print(sorted({f"{n}:{s}" for r in failed_during for n, s in r}))
            print(f"\n{len(during)} rounds under load, {len(failed_during)} with a failure while PostgreSQL was down; "
                  f"recovered {recovered_after:.1f}s after it came back")
            assert down_rounds > 0 and failed_during, "the restart was not noticed: the drill proved nothing"
            assert all(s not in ("ReadTimeout", "ConnectTimeout") for r in during for _, s in r), "a request hung"
            assert _web_pid(data_dir) == before, "the web process was restarted"
            assert serve.poll() is None
            restarts = [line for line in log_path.read_text(errors="replace").splitlines() if "restarting in" in line]
            assert restarts == [], serve_log()
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait(timeout=5)
        log_file.close()
