"""A lean keep-alive HTTP/1.1 client for Meilisearch's search endpoints (the search hot path).

Why not aiohttp: its `ClientSession` was measured here at ~0.3 ms per call above a bare connection to the same
Meilisearch (p50, in-process, interleaved): request and response objects, header multidicts, cookie and tracing
hooks. That is a fifth of what issue 15 allows the API to add over Meilisearch. The hot path needs only this:
POST (and GET /health) with fixed headers over pooled keep-alive connections, the answer read by httptools (the
HTTP parser uvicorn uses), Content-Length or chunked bodies, plain TCP or TLS.

Failures are the caller's to map: `ConnectionLost` (refused, reset, closed mid-answer, unreadable answer),
`TimeoutError` (no answer in time) and `OSError` (connecting). A pooled connection the server closed while it sat
idle is retried once on a new connection, so a restarted Meilisearch costs no failed search.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit

import httptools


class ConnectionLost(Exception):
    """The connection closed or broke before a whole answer arrived."""


class _Connection(asyncio.Protocol):
    """One connection, one request at a time; the answer arrives through httptools' callbacks."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.body: list[bytes] = []
        self.reusable = False
        self.lost = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionLost(f"unreadable answer: {exc}"))
            self.close()

    def on_body(self, chunk: bytes) -> None:  # httptools' callback (chunked bodies come de-chunked)
        self.body.append(chunk)

    def on_message_complete(self) -> None:  # httptools' callback
        self.reusable = self.parser.should_keep_alive()
        if self.answer is not None and not self.answer.done():
            self.answer.set_result((self.parser.get_status_code(), b"".join(self.body)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail(ConnectionLost(f"connection lost: {exc!r}" if exc else "the server closed the connection"))

    def _fail(self, exc: Exception) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)

    async def exchange(self, message: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.body, self.reusable = [], False
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(message)
        return await self.answer

    def close(self) -> None:
        self.lost = True
        if self.transport is not None:
            self.transport.close()


class Wire:
    """Requests to one origin (`url`, which may carry a path prefix) with `headers` on every request."""

    def __init__(self, url: str, headers: dict[str, str], *, timeout: float, connect_timeout: float,
                 limit: int = 64) -> None:
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if secure else 80)
        self.tls = ssl.create_default_context() if secure else None
        self.prefix = parts.path.rstrip("/").encode()
        self.head = "".join(f"{name}: {value}\r\n" for name, value in {"Host": parts.netloc, **headers}.items()).encode()
        self.timeout, self.connect_timeout = timeout, connect_timeout
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(limit)  # at most `limit` connections open at once, as aiohttp's connector
        self.closed = False

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        """(status, body) of one request; raises ConnectionLost, TimeoutError or OSError."""
        message = b"".join([method.encode(), b" ", self.prefix, path.encode(), b" HTTP/1.1\r\n", self.head,
                            b"Content-Length: %d\r\n\r\n" % len(body), body])
        async with asyncio.timeout(self.timeout), self.slots:  # the whole call, as aiohttp's `total` timeout
            return await self._send(message)

    async def _send(self, message: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            connection, reused = (self._pooled() if attempt == 1 else None), True
            if connection is None:
                connection, reused = await self._connect(), False
            try:
                answer = await connection.exchange(message)
            except ConnectionLost:
                connection.close()
                if reused and attempt == 1:  # closed by the server while idle (a restart, its keep-alive limit)
                    continue
                raise
            except BaseException:  # timed out or cancelled mid-answer: the connection's state is unknown
                connection.close()
                raise
            if connection.reusable and not self.closed:
                self.idle.append(connection)
            else:
                connection.close()
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _pooled(self) -> _Connection | None:
        while self.idle:
            connection = self.idle.pop()
            if not connection.lost and connection.transport is not None and not connection.transport.is_closing():
                return connection
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(_Connection, self.host, self.port, ssl=self.tls)
        _, connection = await asyncio.wait_for(connecting, self.connect_timeout)
        return connection

    def close(self) -> None:
        self.closed = True
        while self.idle:
            self.idle.pop().close()
