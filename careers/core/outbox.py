"""Enqueue background work; claim, finish and retry it; wake an idle worker when rows arrive. Imports no domain.

Rows are written inside the caller's transaction (Piccolo's transaction is
bound to the running task), so work is queued exactly when the state change
that needs it commits.

Waking (`Wakeup`): an idle worker waits for new rows instead of sleeping a fixed
half second. On PostgreSQL a trigger on `outbox` NOTIFYs `NOTIFY_CHANNEL` when a
transaction that inserted rows commits, and the worker LISTENs on its own
connection. On SQLite the worker polls `MAX(id)` every POLL_SECONDS (a read: WAL
readers never wait for writers). `enqueue` also sets an in-process event, so a
worker in the same process wakes at once (on SQLite its claim then waits for the
enqueuing transaction's write lock, so it sees the row). Waking is only a hint:
claiming, leases and at-least-once delivery are unchanged, and an idle worker
still looks every `idle_seconds` (rows coming due after a back-off, periodic jobs).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from careers.core import clock, db
from careers.core.tables import OutboxRow

LEASE_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600
NOTIFY_CHANNEL = "careers_outbox"  # the PostgreSQL trigger on outbox inserts notifies it (core migration)
POLL_SECONDS = 0.05  # SQLite: how often an idle worker reads MAX(id)
RECONNECT_SECONDS = 5.0  # PostgreSQL: how often a worker whose listening connection died tries again
DONE_KEPT = dt.timedelta(days=30)  # done rows (mail: who, subject, when) stay this long for /admin/mail and debugging

log = logging.getLogger("careers.outbox")
_local_wakeups: set[Wakeup] = set()


async def enqueue(kind: str, payload: dict[str, Any], *, delay_seconds: float = 0) -> int:
    """Queue one unit of work of `kind` (and its COMPANIONS, same payload); returns the outbox row id."""
    run_after = clock.now() + dt.timedelta(seconds=delay_seconds)
    row = OutboxRow(kind=kind, payload=json.dumps(payload), run_after=run_after)
    await row.save()
    if kind in COMPANIONS:
        await OutboxRow.insert(*[OutboxRow(kind=k, payload=row.payload, run_after=run_after) for k in COMPANIONS[kind]])
    for wakeup in list(_local_wakeups):
        wakeup.poke()
    return row.id


async def enqueue_many(kind: str, payloads: list[dict[str, Any]]) -> None:
    """Queue several units of work of `kind` in one multi-row INSERT (one statement inside a short transaction)."""
    if not payloads:
        return
    now = clock.now()
    kinds = (kind, *COMPANIONS.get(kind, ()))
    await OutboxRow.insert(*[OutboxRow(kind=k, payload=json.dumps(p), run_after=now) for p in payloads for k in kinds])


async def claim(worker_id: str, *, limit: int = 50, kinds: list[str] | None = None,
                lease_seconds: float = LEASE_SECONDS) -> list[dict]:
    """Lease up to `limit` due rows to `worker_id`. A crashed worker's lease runs out and the rows come back."""
    now = clock.now()
    until = now + dt.timedelta(seconds=lease_seconds)
    kind_sql = ""
    args: list[Any] = [until, worker_id, now, now]
    if kinds:
        kind_sql = " AND kind IN (" + ", ".join("{}" for _ in kinds) + ")"
        args.extend(kinds)
    args.append(limit)
    skip_locked = "" if db.is_sqlite() else " FOR UPDATE SKIP LOCKED"
    sql = (
        "UPDATE outbox SET locked_until = {}, locked_by = {}, attempts = attempts + 1 WHERE id IN ("
        "SELECT id FROM outbox WHERE status = 'pending' AND run_after <= {} "
        "AND (locked_until IS NULL OR locked_until < {})" + kind_sql + " ORDER BY id LIMIT {}" + skip_locked + ") "
        "RETURNING id, kind, payload, attempts, created_at"
    )
    async with db.transaction():
        rows = await db.fetch(sql, *args)
    for row in rows:
        if isinstance(row["payload"], str):
            row["payload"] = json.loads(row["payload"])
    rows.sort(key=lambda r: r["id"])
    return rows


async def renew_lease(row_id: int, worker_id: str, lease_seconds: float = LEASE_SECONDS) -> bool:
    """Right before handling a claimed row: extend the lease if the row is still ours and pending.

    False when a batch outlived its lease (a slow or paused worker) and another worker claimed the
    row meanwhile, or finished it: the caller must then leave it alone, or a sent mail goes out twice.
    """
    rows = await OutboxRow.update({OutboxRow.locked_until: clock.now() + dt.timedelta(seconds=lease_seconds)}).where(
        (OutboxRow.id == row_id) & (OutboxRow.locked_by == worker_id) & (OutboxRow.status == "pending")
    ).returning(OutboxRow.id)
    return bool(rows)


async def complete(row_id: int, worker_id: str) -> None:
    await OutboxRow.update(
        {OutboxRow.status: "done", OutboxRow.done_at: clock.now(), OutboxRow.locked_until: None, OutboxRow.last_error: None}
    ).where((OutboxRow.id == row_id) & (OutboxRow.locked_by == worker_id))


async def fail(row_id: int, worker_id: str, attempts: int, error: str) -> None:
    """Keep the row with its error and retry later with exponential back-off; never drop it."""
    backoff = min(MAX_BACKOFF_SECONDS, 2 ** min(attempts, 12))
    await OutboxRow.update(
        {
            OutboxRow.last_error: error[:4000],
            OutboxRow.run_after: clock.now() + dt.timedelta(seconds=backoff),
            OutboxRow.locked_until: None,
            OutboxRow.status: "failed" if attempts >= 8 else "pending",
        }
    ).where((OutboxRow.id == row_id) & (OutboxRow.locked_by == worker_id))


async def postpone(row_id: int, worker_id: str, until: dt.datetime) -> None:
    """Hand a claimed row back, due at `until`, without counting the attempt (a quota, not a failure)."""
    await OutboxRow.update({
        OutboxRow.run_after: until, OutboxRow.locked_until: None, OutboxRow.locked_by: None,
        OutboxRow.attempts: OutboxRow.attempts - 1,
    }).where((OutboxRow.id == row_id) & (OutboxRow.locked_by == worker_id) & (OutboxRow.status == "pending"))


async def retry(row_id: int) -> None:
    """An admin's retry: the row is due again now."""
    await OutboxRow.update(
        {OutboxRow.status: "pending", OutboxRow.run_after: clock.now(), OutboxRow.locked_until: None, OutboxRow.attempts: 0}
    ).where(OutboxRow.id == row_id)


def new_worker_id() -> str:
    return uuid.uuid4().hex[:16]


# Outbox kinds shared across domains (strings only: the ground floor imports no domain).
SEARCH_SYNC = "search.sync"  # payload {"listing_id": id}: upsert or delete that listing's document
INDEXNOW = "reach.indexnow"  # payload {"listing_id": id}: tell IndexNow the listing's public URL changed
GOOGLE_INDEXING = "reach.google"  # payload {"listing_id": id}: URL_UPDATED or URL_DELETED to Google's Indexing API
# A search sync means the listing's public view changed, whatever the cause (publish, edit, close, expiry, hiding,
# pausing, ...): the announcements to search engines follow every one, so a new cause needs no new hook.
COMPANIONS: dict[str, tuple[str, ...]] = {SEARCH_SYNC: (INDEXNOW, GOOGLE_INDEXING)}


@dataclass
class BatchOutcome:
    """What a batch handler did with its rows: every row not named here is done."""

    failed: dict[int, str] = field(default_factory=dict)  # row id -> error; retried with back-off
    later: dict[int, dt.datetime] = field(default_factory=dict)  # row id -> when it is due again (not a failure)


@dataclass(frozen=True)
class Batch:
    """An outbox handler that takes every row of its kind one worker pass claimed, at once:
    `await run(rows, settings, worker_id) -> BatchOutcome`; raising fails them all."""

    run: Callable[[list[dict], Any, str], Awaitable[BatchOutcome]]


class Wakeup:
    """What an idle worker waits on: new outbox rows (see the module docstring), `poke()`, or a timeout."""

    def __init__(self, poll_seconds: float = POLL_SECONDS) -> None:
        self.poll_seconds = poll_seconds
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._listener: Any = None  # PostgreSQL: the asyncpg connection that LISTENs
        self._last_connect = -RECONNECT_SECONDS
        self._max_id: int | None = None
        self.waiting = False  # inside wait(): tests enqueue only then, so only a wake-up can explain a quick pass

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        _local_wakeups.add(self)
        if db.is_sqlite():
            await self._new_rows()  # the baseline
        else:
            await self._listen()

    def poke(self) -> None:
        """Wake the waiting worker (from any thread or event loop)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._event.set()
        else:
            loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> bool:
        """Return when rows may have arrived (True) or after `timeout` seconds (False)."""
        deadline = time.monotonic() + timeout
        self.waiting = True
        if not db.is_sqlite() and (self._listener is None or self._listener.is_closed()):
            await self._listen()
        woken = False
        while not woken:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            step = min(remaining, self.poll_seconds) if db.is_sqlite() else remaining
            try:
                await asyncio.wait_for(self._event.wait(), timeout=step)
                woken = True
            except TimeoutError:
                woken = db.is_sqlite() and await self._new_rows()
        self.waiting = False
        self._event.clear()  # cleared before the pass it starts: a row enqueued during that pass wakes the next wait
        return woken

    async def close(self) -> None:
        _local_wakeups.discard(self)
        listener, self._listener = self._listener, None
        if listener is not None and not listener.is_closed():
            try:
                await listener.close(timeout=2)
            except Exception:  # closing a dead connection: nothing left to release
                listener.terminate()

    async def _newest_id(self) -> int:
        rows = await db.fetch("SELECT MAX(id) AS id FROM outbox")
        return int(rows[0]["id"] or 0) if rows else 0

    async def _new_rows(self) -> bool:
        try:
            newest = await self._newest_id()
        except Exception:  # the database is briefly unavailable: the worker's own pass will say so
            return False
        grew = self._max_id is not None and newest > self._max_id
        self._max_id = newest
        return grew

    async def _listen(self) -> None:
        """Open the LISTEN connection (at most every RECONNECT_SECONDS); without it the worker just polls slower."""
        if time.monotonic() - self._last_connect < RECONNECT_SECONDS:
            return
        self._last_connect = time.monotonic()
        try:
            connection = await asyncio.wait_for(db.DB.get_new_connection(), timeout=RECONNECT_SECONDS)
            await connection.add_listener(NOTIFY_CHANNEL, lambda *_: self._event.set())
        except Exception as exc:  # PostgreSQL down or restarting: idle timeouts still find the rows
            log.warning("outbox: cannot LISTEN on %s (%r); polling until it can", NOTIFY_CHANNEL, exc)
            return
        self._listener = connection


async def purge_done(now: dt.datetime | None = None, *, batch: int = 500, batches: int = 10) -> int:
    """Delete rows done more than DONE_KEPT ago, every kind (a sent mail's text with them), `batch` rows per
    statement; returns how many went. Failed and pending rows stay whatever their age."""
    cutoff = (now or clock.now()) - DONE_KEPT
    removed = 0
    for _ in range(batches):
        rows = await db.fetch(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE status = 'done' AND done_at < {} "
            "ORDER BY id LIMIT {}) RETURNING id", cutoff, batch)
        removed += len(rows)
        if len(rows) < batch:
            break
    return removed
