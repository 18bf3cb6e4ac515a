"""A recording HTTP server on loopback: the stand-in for IndexNow and Google's token and Indexing API endpoints.

It records every request (method, path, headers, body) and answers from per-path rules: a queue of failures first
(`fail(path, times)`), then the path's normal answer. `/token` answers an OAuth access token; `/batch/...` answers a
multipart/mixed batch with one 200 part per embedded request; any other path answers 200.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

TOKEN = "loopback-access-token"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    failures: dict[str, deque] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail(self, path: str, times: int, status: int = 503) -> None:
        """The next `times` requests to `path` answer `status`."""
        with self.lock:
            self.failures.setdefault(path, deque()).extend([status] * times)

    def received(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path.split("?")[0] == path]

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.failures.clear()


def batch_answer(body: bytes) -> tuple[str, bytes]:
    """A multipart/mixed answer: one `200 OK` part per embedded request, Content-IDs as Google writes them."""
    ids = re.findall(rb"Content-ID: <([^>]+)>", body)
    boundary = "batch_loopback"
    parts = [f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <response-{i.decode()}>\r\n\r\n"
             "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n" for i in ids]
    return f"multipart/mixed; boundary={boundary}", ("".join(parts) + f"--{boundary}--\r\n").encode()


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet test output
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            with receiver.lock:
                receiver.requests.append(Received("POST", self.path, dict(self.headers.items()), body))
                queued = receiver.failures.get(path)
                status = queued.popleft() if queued else None
            if status is not None:
                self._answer(status, "text/plain", b"receiver told to fail")
            elif path == "/token":
                token = {"access_token": TOKEN, "expires_in": 3600, "token_type": "Bearer"}
                self._answer(200, "application/json", json.dumps(token).encode())
            elif path.startswith("/batch/"):
                self._answer(200, *batch_answer(body))
            else:
                self._answer(200, "text/plain", b"")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture(scope="session")
def receiver_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), None)
    found = Receiver(server)
    server.RequestHandlerClass = _handler(found)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def receiver(receiver_server):
    """The session's receiver, emptied for this test."""
    receiver_server.reset()
    yield receiver_server
    receiver_server.reset()


@pytest.fixture
async def reach_worker(database):
    """Start a worker running only the reach handlers (as `serve` runs it: woken by new rows, a half-second idle
    wait); stopped after the test."""
    import asyncio

    from careers.worker import Worker
    from listings.reach.jobs import handlers
    from tests.waiting import apoll

    started: list[tuple[Worker, asyncio.Task]] = []

    async def start(settings) -> Worker:
        worker = Worker(settings, handlers=handlers(), periodic=[])
        task = asyncio.create_task(worker.run_forever(idle_seconds=0.5))
        started.append((worker, task))
        await apoll(lambda: worker.wakeup is not None, what="the worker to start")
        return worker

    yield start
    for worker, task in started:
        worker.stop()
        await asyncio.wait_for(task, timeout=10)


async def outbox_rows(kind: str) -> list[dict]:
    """Every outbox row of `kind`, oldest first."""
    from careers.core.tables import OutboxRow

    return await OutboxRow.select().where(OutboxRow.kind == kind).order_by(OutboxRow.id)


async def all_done(kind: str) -> bool:
    rows = await outbox_rows(kind)
    return bool(rows) and all(r["status"] == "done" for r in rows)
