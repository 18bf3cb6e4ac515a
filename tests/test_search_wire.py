"""search/wire.py, the search hot path's keep-alive HTTP/1.1 client, against servers that behave and misbehave the
ways a Meilisearch (or a proxy in front of it) can: keep-alive, closing idle connections, chunked answers, closing
mid-answer, never answering."""

from __future__ import annotations

import asyncio
from typing import Self

import pytest

from search.client import MeiliHttp, SearchUnavailable
from search.wire import ConnectionLost, Wire


class Peer:
    """A TCP server on loopback that reads one request at a time and answers with `reply(n)` (raw bytes, or None to
    close the connection without a word; with `hang_up`, it closes after each answer); it counts connections and
    keeps every request it read."""

    def __init__(self, reply, *, hang_up: bool = False) -> None:
        self.reply = reply
        self.hang_up = hang_up
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> Self:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/prefix"
        return self

    async def __aexit__(self, *exc) -> None:
        self.close_idle()
        self.server.close()
        await self.server.wait_closed()

    def close_idle(self) -> None:
        for writer in self.writers:
            writer.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), b"0"))
                self.requests.append(head + await reader.readexactly(length))
                answer = self.reply(len(self.requests))
                if answer is None:
                    break
                writer.write(answer)
                await writer.drain()
                if self.hang_up:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


def ok(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"".join(extra) + \
        b"Content-Length: %d\r\n\r\n" % len(body) + body


def wire(url: str, **options) -> Wire:
    return Wire(url, {"Authorization": "Bearer key", "Accept-Encoding": "identity"},
                **({"timeout": 5.0, "connect_timeout": 2.0} | options))


async def test_requests_share_one_keep_alive_connection_and_carry_the_headers_path_prefix_and_body():
    async with Peer(lambda n: ok(b'{"n": %d}' % n)) as peer:
        client = wire(peer.url)
        assert await client.request("POST", "/multi-search", b'{"queries": []}') == (200, b'{"n": 1}')
        assert await client.request("GET", "/health") == (200, b'{"n": 2}')
        client.close()
    assert peer.connections == 1
    first = peer.requests[0]
    assert first.startswith(b"POST /prefix/multi-search HTTP/1.1\r\n")
    assert b"\r\nAuthorization: Bearer key\r\n" in first and b"\r\nAccept-Encoding: identity\r\n" in first
    assert b"\r\nContent-Length: 15\r\n" in first and first.endswith(b'\r\n\r\n{"queries": []}')
    assert peer.requests[1].startswith(b"GET /prefix/health HTTP/1.1\r\n")


async def test_a_pooled_connection_the_server_closed_is_replaced_without_a_failed_request():
    async with Peer(lambda n: ok(b"[%d]" % n)) as peer:
        client = wire(peer.url)
        assert await client.request("GET", "/health") == (200, b"[1]")
        peer.close_idle()  # the server's keep-alive limit, or a restart
        assert await client.request("GET", "/health") == (200, b"[2]")
        client.close()
    assert peer.connections == 2


async def test_a_chunked_answer_is_read_whole_and_a_connection_close_answer_is_not_reused():
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"5\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\n\r\n")
    async with Peer(lambda n: chunked) as peer:
        client = wire(peer.url)
        assert await client.request("GET", "/x") == (200, b'{"a": 1}')
        assert await client.request("GET", "/x") == (200, b'{"a": 1}')
        client.close()
    assert peer.connections == 2


async def test_an_answer_cut_off_midway_on_a_new_connection_is_a_lost_connection():
    async with Peer(lambda n: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"half\"", hang_up=True) as peer:
        client = wire(peer.url)
        with pytest.raises(ConnectionLost):
            await client.request("GET", "/x")
        client.close()
    assert peer.connections == 1  # a fresh connection is not tried again: the server itself is failing


async def test_a_server_that_never_answers_times_out_and_its_connection_is_dropped():
    async with Peer(lambda n: b"") as peer:  # reads the request, writes nothing
        client = wire(peer.url, timeout=0.2)
        with pytest.raises(TimeoutError):
            await client.request("GET", "/x")
        assert client.idle == []
        client.close()


async def test_meili_http_turns_every_way_of_not_getting_an_answer_into_search_unavailable():
    async with Peer(lambda n: None) as peer:  # closes without a word
        client = MeiliHttp(peer.url, "key")
        with pytest.raises(SearchUnavailable):
            await client.multi_search({"queries": []})
        peer.reply = lambda n: b"not http at all\r\n\r\n"
        with pytest.raises(SearchUnavailable):
            await client.multi_search({"queries": []})
        assert await client.healthy() is False
        client.close()
    closed = MeiliHttp(peer.url, "key")  # nobody listens on the port any more
    with pytest.raises(SearchUnavailable):
        await closed.multi_search({"queries": []})
    closed.close()
