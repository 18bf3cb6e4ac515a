"""Enqueue background work; claim, finish and retry it. Imports no domain.

Rows are written inside the caller's transaction (Piccolo's transaction is
bound to the running task), so work is queued exactly when the state change
that needs it commits.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from careers.core import clock, db
from careers.core.tables import OutboxRow

LEASE_SECONDS = 60
MAX_BACKOFF_SECONDS = 3600



async def enqueue(kind: str, payload: dict[str, Any], *, delay_seconds: float = 0) -> int:
    """Queue one unit of work of `kind`; returns the outbox row id."""
    row = OutboxRow(kind=kind, payload=json.dumps(payload), run_after=clock.now() + dt.timedelta(seconds=delay_seconds))
    await row.save()
    return row.id


async def enqueue_many(kind: str, payloads: list[dict[str, Any]]) -> None:
    """Queue several units of work of `kind` in one multi-row INSERT (one statement inside a short transaction)."""
    if not payloads:
        return
    now = clock.now()
    await OutboxRow.insert(*[OutboxRow(kind=kind, payload=json.dumps(p), run_after=now) for p in payloads])


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


async def retry(row_id: int) -> None:
    """An admin's retry: the row is due again now."""
    await OutboxRow.update(
        {OutboxRow.status: "pending", OutboxRow.run_after: clock.now(), OutboxRow.locked_until: None, OutboxRow.attempts: 0}
    ).where(OutboxRow.id == row_id)


def new_worker_id() -> str:
    return uuid.uuid4().hex[:16]


# Outbox kinds shared across domains (strings only: the ground floor imports no domain).
SEARCH_SYNC = "search.sync"  # payload {"listing_id": id}: upsert or delete that listing's document
