"""Keeping the index in step with the database: settings, per-listing sync, and the zero-downtime rebuild.

The database is the source of truth; the index is derived and can always be rebuilt.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from meilisearch.errors import MeilisearchApiError

from careers.core import clock, outbox
from careers.core.config import Settings
from careers.core.tables import OutboxRow
from search.client import SearchEngineError, delete_batch, run_admin, wait_task
from search.documents import all_documents, count_public, documents_for
from search.settings import CredentialTerm, index_settings, load_terms

log = logging.getLogger("careers.search")

REPLAY_MARGIN = dt.timedelta(minutes=1)  # replay a little before the start: a row's transaction may commit late
SYNC_CHUNK = 500


# ---- settings -----------------------------------------------------------------------------


def _same(current, desired) -> bool:
    if isinstance(desired, dict):
        return isinstance(current, dict) and all(_same(current.get(k), v) for k, v in desired.items())
    if isinstance(desired, list) and isinstance(current, list):
        return current == desired
    return current == desired


def settings_match(current: dict, desired: dict) -> bool:
    """True when the index already has every setting we want (attribute sets compared as sets)."""
    for key, value in desired.items():
        have = current.get(key)
        if key in ("filterableAttributes", "sortableAttributes"):
            if set(have or []) != set(value):
                return False
        elif key == "synonyms":
            have = have or {}
            if set(have) != set(value) or any(set(have[k]) != set(v) for k, v in value.items()):
                return False
        elif not _same(have, value):
            return False
    return True


def _create_index(client, uid: str) -> None:
    try:
        client.get_index(uid)
        return
    except MeilisearchApiError as exc:
        if exc.code != "index_not_found":
            raise
    try:
        wait_task(client, client.create_index(uid, {"primaryKey": "id"}).task_uid)
    except SearchEngineError as exc:
        if exc.code != "index_already_exists":  # another process created it first
            raise


async def ensure_index(settings: Settings, index_name: str | None = None, *, terms: list[CredentialTerm] | None = None,
                       timeout: float = 60) -> bool:
    """Create the index if missing and apply our settings if they differ; idempotent. Returns True if it changed.

    Waits for the settings task and raises SearchEngineError if it failed (SearchUnavailable if Meilisearch is down).
    """
    uid = index_name or settings.meili_index
    desired = index_settings(terms if terms is not None else await load_terms())

    def apply(client) -> bool:
        _create_index(client, uid)
        index = client.index(uid)
        if settings_match(index.get_settings(), desired):
            return False
        wait_task(client, index.update_settings(desired).task_uid, timeout_ms=int(timeout * 1000))
        return True

    changed = await run_admin(settings, apply, timeout=timeout)
    if changed:
        log.info("search: applied index settings to %s", uid)
    return changed


# ---- sync ------------------------------------------------------------------------------


async def sync_listings(settings: Settings, listing_ids: list[int], *, index_name: str | None = None,
                        timeout: float = 30) -> tuple[int, int]:
    """Upsert the documents of public listings among `listing_ids` and delete the others; waits for success.

    Idempotent: it reads the listings' current state, so replaying it changes nothing. Returns (upserted, deleted).
    """
    uid = index_name or settings.meili_index
    upserted = deleted = 0
    for start in range(0, len(listing_ids), SYNC_CHUNK):
        chunk = listing_ids[start:start + SYNC_CHUNK]
        docs = await documents_for(chunk)
        upserts = [d for d in docs.values() if d is not None]
        deletes = [i for i, d in docs.items() if d is None]

        def send(client) -> None:
            index = client.index(uid)
            tasks = []
            if upserts:
                tasks.append(index.add_documents(upserts, primary_key="id").task_uid)
            if deletes:
                tasks.append(delete_batch(index, deletes))
            for task_uid in tasks:
                wait_task(client, task_uid, timeout_ms=int(timeout * 1000))

        await run_admin(settings, send, timeout=timeout)
        upserted += len(upserts)
        deleted += len(deletes)
    return upserted, deleted


async def clear_index(settings: Settings, index_name: str | None = None) -> None:
    uid = index_name or settings.meili_index
    await run_admin(settings, lambda c: wait_task(c, c.index(uid).delete_all_documents().task_uid))


# ---- zero-downtime rebuild ----------------------------------------------------------------------


@dataclass
class RebuildReport:
    index: str
    documents: int
    replayed: int
    seconds: float


async def _sync_rows_since(settings: Settings, since: dt.datetime, index_name: str) -> int:
    rows = await OutboxRow.select(OutboxRow.payload).where(
        (OutboxRow.kind == outbox.SEARCH_SYNC) & (OutboxRow.created_at >= since)
    ).output(load_json=True)
    ids = sorted({int(r["payload"]["listing_id"]) for r in rows if isinstance(r["payload"], dict)
                  and "listing_id" in r["payload"]})
    if ids:
        await sync_listings(settings, ids, index_name=index_name)
    return len(ids)


async def rebuild_index(settings: Settings, *, batch_size: int = 5000,
                        progress: Callable[[int, int], None] | None = None,
                        after_batch: Callable[[int, int], Awaitable[None]] | None = None) -> RebuildReport:
    """Fill a fresh `<live>_<token>` index from the database and swap it in; readers never see a partial index.

    1. note the time, create the new index and apply the settings (before any document);
    2. add every public listing in batches (progress(done, total) after each);
    3. replay SEARCH_SYNC outbox rows written since the start into the new index;
    4. swap the live and new indexes atomically (Meilisearch swap-indexes);
    5. replay the same rows again into the live name (a worker may have written to the old one meanwhile);
    6. delete the old index, now under the temporary name.

    `after_batch(done, total)` is awaited after each batch is sent: a caller (a test) can hold the rebuild open
    there, at a known point, while it writes to the database.
    """
    started = time.monotonic()
    since = clock.now() - REPLAY_MARGIN
    live = settings.meili_index
    fresh = f"{live}_{clock.now():%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
    terms = await load_terms()
    # The live index only has to exist for the swap: re-applying settings to it would re-index it for nothing.
    await run_admin(settings, lambda c: _create_index(c, live))
    await ensure_index(settings, fresh, terms=terms)
    try:
        total = await count_public()
        done = 0
        pending: list[int] = []
        async for batch in all_documents(batch_size):
            task = await run_admin(settings, lambda c, b=batch: c.index(fresh).add_documents(b, primary_key="id"))
            pending.append(task.task_uid)
            done += len(batch)
            if progress:
                progress(done, total)
            if after_batch:
                await after_batch(done, total)
            if len(pending) >= 4:  # keep Meilisearch's queue short and surface a failed batch early
                uid = pending.pop(0)
                await run_admin(settings, lambda c, u=uid: wait_task(c, u, timeout_ms=600_000), timeout=600)
        for uid in pending:
            await run_admin(settings, lambda c, u=uid: wait_task(c, u, timeout_ms=600_000), timeout=600)
        replayed = await _sync_rows_since(settings, since, fresh)
        await run_admin(settings, lambda c: wait_task(c, c.swap_indexes([{"indexes": [live, fresh]}]).task_uid))
    except BaseException:
        try:
            await run_admin(settings, lambda c: c.delete_index(fresh))
        except Exception:
            log.warning("search: could not delete the unfinished index %s", fresh)
        raise
    replayed = max(replayed, await _sync_rows_since(settings, since, live))
    await run_admin(settings, lambda c: wait_task(c, c.delete_index(fresh).task_uid))
    return RebuildReport(index=live, documents=done, replayed=replayed, seconds=time.monotonic() - started)

