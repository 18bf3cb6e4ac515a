"""Talking to Meilisearch: the official client for index management, lean keep-alive HTTP for searches.

These are the only two ways the code reaches Meilisearch; the keep-alive client also answers /readyz's health probe.

The official `meilisearch` client is synchronous and opens a connection per
call, so it runs in a worker thread (anyio.to_thread) with a timeout and is
used only for management (settings, documents, tasks, swaps). The search hot
path posts JSON through one shared keep-alive client per event loop
(`search.wire.Wire`: aiohttp's session cost ~0.3 ms per call more, measured),
asking for `Accept-Encoding: identity`: any client that asks Meilisearch for
gzip was measured here to stall ~44 ms per request on a reused connection.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import meilisearch
import msgspec
from meilisearch.errors import MeilisearchApiError, MeilisearchCommunicationError, MeilisearchTimeoutError

from careers.core.config import Settings
from search.wire import ConnectionLost, Wire

T = TypeVar("T")

SEARCH_TIMEOUT_SECONDS = 1.0
CONNECT_TIMEOUT_SECONDS = 0.5


class SearchUnavailable(Exception):
    """Meilisearch cannot answer now (down, timing out, 5xx, or the index is missing): pages degrade."""


class SearchEngineError(Exception):
    """Meilisearch refused a request or a task failed; the caller's input or our settings are at fault."""

    def __init__(self, message: str, code: str = "") -> None:
        self.code = code
        super().__init__(message)


# ---- management: the official client in a thread ----------------------------------------------


def admin_client(settings: Settings, *, timeout: int = 10) -> meilisearch.Client:
    if not settings.meili_url:
        raise SearchUnavailable("MEILI_URL is not set")
    return meilisearch.Client(settings.meili_url, settings.meili_master_key or None, timeout=timeout,
                              custom_headers={"Accept-Encoding": "identity"})


async def run_admin(settings: Settings, fn: Callable[[meilisearch.Client], T], *, timeout: float = 30) -> T:
    """Run `fn(client)` in a worker thread; connection problems become SearchUnavailable."""
    client = admin_client(settings, timeout=max(1, int(timeout)))
    try:
        with anyio.fail_after(timeout + 1):
            return await anyio.to_thread.run_sync(functools.partial(fn, client))
    except TimeoutError as exc:
        raise SearchUnavailable(f"Meilisearch did not answer within {timeout}s") from exc
    except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
        raise SearchUnavailable(str(exc)) from exc
    except MeilisearchApiError as exc:
        if exc.status_code and exc.status_code >= 500:
            raise SearchUnavailable(str(exc)) from exc
        raise SearchEngineError(str(exc), exc.code or "") from exc


def wait_task(client: meilisearch.Client, task_uid: int, *, timeout_ms: int = 30_000) -> Any:
    """Wait for a task and raise unless it succeeded (`wait_for_task` returns failed tasks without raising)."""
    task = client.wait_for_task(task_uid, timeout_in_ms=timeout_ms, interval_in_ms=20)
    if task.status != "succeeded":
        error = task.error or {}
        raise SearchEngineError(f"Meilisearch task {task_uid} ({task.type}) {task.status}: {error.get('message', '')}",
                                error.get("code", ""))
    return task


def delete_batch(index, ids: list[int]) -> int:
    """POST documents/delete-batch (the client's `delete_documents(ids)` is deprecated); returns the task uid."""
    path = f"{index.config.paths.index}/{index.uid}/{index.config.paths.document}/delete-batch"
    return index.http.post(path, [str(i) for i in ids])["taskUid"]


# ---- the hot path: one keep-alive session per event loop -----------------------------------------


class MeiliHttp:
    """A keep-alive JSON client for Meilisearch's search endpoints (search/wire.py: lean HTTP/1.1)."""

    def __init__(self, url: str, key: str, *, timeout: float = SEARCH_TIMEOUT_SECONDS) -> None:
        headers = {"Accept-Encoding": "identity", "Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.wire = Wire(url, headers, timeout=timeout, connect_timeout=CONNECT_TIMEOUT_SECONDS)

    async def call(self, method: str, path: str, payload: bytes = b"") -> tuple[int, bytes]:
        """(status, body) of one request; every way of not getting an answer is SearchUnavailable."""
        try:
            return await self.wire.request(method, path, payload)
        except (ConnectionLost, TimeoutError, OSError) as exc:
            raise SearchUnavailable(f"Meilisearch unreachable: {exc!r}") from exc

    async def post(self, path: str, body: dict, *, into: msgspec.json.Decoder | None = None) -> Any:
        """POST `body`; the answer decoded as a dict, or straight into a typed shape with `into` (errors stay dicts)."""
        status, raw = await self.call("POST", path, msgspec.json.encode(body))
        if into is not None and status < 400:
            try:
                return into.decode(raw)
            except msgspec.ValidationError:  # JSON of another shape (an index built by another release): the caller's
                raise
            except msgspec.DecodeError:  # not JSON at all: answered below as for the untyped call
                pass
        try:
            data = msgspec.json.decode(raw) if raw else {}
        except msgspec.DecodeError as exc:  # not Meilisearch answering (a proxy's error page, a wrong MEILI_URL)
            raise SearchUnavailable(f"not a Meilisearch answer ({status}): {raw[:200]!r}") from exc
        if status >= 500:
            raise SearchUnavailable(f"Meilisearch answered {status}: {data}")
        if status >= 400:
            code = data.get("code", "") if isinstance(data, dict) else ""
            if code == "index_not_found":
                raise SearchUnavailable("the listings index does not exist yet")
            raise SearchEngineError(f"Meilisearch refused the search ({status}): {data}", code)
        return data

    async def search(self, index: str, body: dict) -> dict:
        return await self.post(f"/indexes/{index}/search", body)

    async def multi_search(self, body: dict, *, into: msgspec.json.Decoder | None = None) -> Any:
        """POST /multi-search: several searches in one round trip (`{"queries": [...]}` → `{"results": [...]}`)."""
        return await self.post("/multi-search", body, into=into)

    async def healthy(self) -> bool:
        """GET /health on the same keep-alive connections (readiness probes); any failure is simply "not healthy"."""
        try:
            status, _ = await self.call("GET", "/health")
        except SearchUnavailable:
            return False
        return status == 200

    def close(self) -> None:
        self.wire.close()


_sessions: dict[tuple[asyncio.AbstractEventLoop, str, str], MeiliHttp] = {}


def http_for(settings: Settings) -> MeiliHttp:
    """The shared keep-alive client for this event loop and Meilisearch (created on first use)."""
    if not settings.meili_url:
        raise SearchUnavailable("MEILI_URL is not set")
    loop = asyncio.get_running_loop()
    key = (loop, settings.meili_url, settings.meili_master_key)
    client = _sessions.get(key)
    if client is None or client.wire.closed:
        for stale in [k for k in _sessions if k[0].is_closed()]:
            _sessions.pop(stale, None)
        client = _sessions[key] = MeiliHttp(settings.meili_url, settings.meili_master_key)
    return client


async def healthy(settings: Settings) -> bool:
    """Whether Meilisearch answers /health, asked through this loop's keep-alive search session."""
    if not settings.meili_url:
        return False
    return await http_for(settings).healthy()


async def close_http() -> None:
    """Close this event loop's search sessions (app shutdown)."""
    loop = asyncio.get_running_loop()
    for key in [k for k in _sessions if k[0] is loop]:
        _sessions.pop(key).close()
