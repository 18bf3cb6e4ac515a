"""Listing views, apply clicks and applications: counted in this process's memory, added to
`listing_daily_stats` in one upsert every few seconds and at shutdown.

A page view never waits for a write (on SQLite an `UPDATE listings SET views = views + 1` queued behind every
writer). The price: a crashed process loses the counts of its last few seconds. `listing_daily_stats` is the
one place dashboards, charts and source reports read (`totals`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Iterable

from careers.core import clock, db

log = logging.getLogger(__name__)

DIRECT = "direct"  # the only source until traffic sources are recorded
FLUSH_SECONDS = 5.0
ROWS_PER_STATEMENT = 1000  # 6 parameters a row: well under SQLite's and PostgreSQL's parameter limits

COUNTS = ("views", "apply_clicks", "applies")
Key = tuple[int, dt.date, str]
_pending: dict[Key, list[int]] = {}  # (listing, UTC day, source) -> [views, apply_clicks, applies]


def _count(listing_id: int, source: str, views: int = 0, apply_clicks: int = 0, applies: int = 0) -> None:
    key = (int(listing_id), clock.now().astimezone(dt.timezone.utc).date(), source)
    counts = _pending.setdefault(key, [0, 0, 0])
    counts[0] += views
    counts[1] += apply_clicks
    counts[2] += applies


def count_view(listing_id: int, source: str = DIRECT) -> None:
    """One view of a listing's public page."""
    _count(listing_id, source, views=1)


def count_apply_click(listing_id: int, source: str = DIRECT) -> None:
    """One click on a listing's external apply link."""
    _count(listing_id, source, apply_clicks=1)


def count_apply(listing_id: int, source: str = DIRECT) -> None:
    """One application sent through our form (it is also a click on the apply call-to-action)."""
    _count(listing_id, source, apply_clicks=1, applies=1)


def pending() -> int:
    """How many (listing, day, source) rows wait for the next flush."""
    return len(_pending)


def discard() -> None:
    """Forget unflushed counts (tests: the database they belonged to was emptied)."""
    _pending.clear()


def _upsert_sql(rows: int) -> str:
    # PostgreSQL types a bare VALUES list as text; SQLite must not be given CAST ... AS DATE (numeric affinity).
    row = "({}, {}, {}, {}, {}, {})" if db.is_sqlite() else \
        "({}::integer, {}::date, {}::varchar, {}::integer, {}::integer, {}::integer)"
    return (
        "INSERT INTO listing_daily_stats (listing, day, source, views, apply_clicks, applies) "
        "SELECT column1, column2, column3, column4, column5, column6 FROM (VALUES " + ", ".join([row] * rows) + ") "
        "AS v WHERE column1 IN (SELECT id FROM listings) "  # a listing deleted since the view is skipped
        "ON CONFLICT (listing, day, source) DO UPDATE SET views = listing_daily_stats.views + excluded.views, "
        "apply_clicks = listing_daily_stats.apply_clicks + excluded.apply_clicks, "
        "applies = listing_daily_stats.applies + excluded.applies"
    )


async def flush() -> int:
    """Add every buffered count to listing_daily_stats (one statement per 1,000 rows); returns the rows written.

    On failure the counts go back into the buffer for the next attempt.
    """
    global _pending
    batch, _pending = _pending, {}
    items = list(batch.items())
    try:
        for start in range(0, len(items), ROWS_PER_STATEMENT):
            chunk = items[start:start + ROWS_PER_STATEMENT]
            args = [value for (listing, day, source), counts in chunk for value in (listing, day, source, *counts)]
            await db.fetch(_upsert_sql(len(chunk)), *args)
            for key, _ in chunk:  # written: these must not go back into the buffer
                del batch[key]
    except BaseException:
        for key, counts in batch.items():
            merged = _pending.setdefault(key, [0, 0, 0])
            for i, n in enumerate(counts):
                merged[i] += n
        raise
    return len(items)


async def flush_every(stop: asyncio.Event, seconds: float = FLUSH_SECONDS) -> None:
    """The web process's flusher (run by the app's lifespan): every `seconds`, and once more when `stop` is set.

    Stopping by an event, not by cancelling, so a flush is never cut off after its statement ran (its counts
    would go back into the buffer and be written twice)."""
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        try:
            await flush()
        except Exception:  # the counts stay buffered; the next round tries again
            log.exception("listing stats flush failed")


async def totals(listing_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """{listing id: {"views", "apply_clicks", "applies"}} over all days and sources, zeros for a listing without
    counts (flushed counts only)."""
    ids = sorted({int(i) for i in listing_ids})
    if not ids:
        return {}
    rows = await db.fetch(
        "SELECT listing, SUM(views) AS views, SUM(apply_clicks) AS apply_clicks, SUM(applies) AS applies "
        "FROM listing_daily_stats WHERE listing IN (" + ", ".join(["{}"] * len(ids)) + ") GROUP BY listing", *ids)
    found = {r["listing"]: {k: int(r[k] or 0) for k in COUNTS} for r in rows}
    return {i: found.get(i) or dict.fromkeys(COUNTS, 0) for i in ids}


def _by_source_rows(rows: Iterable[dict]) -> list[dict]:
    """Rows of (source, views, apply_clicks, applies) with any count, biggest first."""
    found = [{"source": r["source"], **{k: int(r[k] or 0) for k in COUNTS}} for r in rows]
    found = [r for r in found if any(r[k] for k in COUNTS)]
    return sorted(found, key=lambda c: (-c["views"], -c["apply_clicks"], c["source"]))


async def by_source(listing_ids: Iterable[int]) -> dict[int, list[dict]]:
    """{listing id: [{"source", "views", "apply_clicks", "applies"}, ...]} over all days, one entry per source that
    has counts, biggest first (flushed counts only; one statement)."""
    ids = sorted({int(i) for i in listing_ids})
    if not ids:
        return {}
    rows = await db.fetch(
        "SELECT listing, source, SUM(views) AS views, SUM(apply_clicks) AS apply_clicks, SUM(applies) AS applies "
        "FROM listing_daily_stats WHERE listing IN (" + ", ".join(["{}"] * len(ids)) + ") GROUP BY listing, source",
        *ids)
    return {i: _by_source_rows(r for r in rows if r["listing"] == i) for i in ids}


def by_source_column(listing: str, alias: str = "sources") -> str:
    """A scalar subquery for a SELECT list: the counts by source of the listing whose id is the SQL expression
    `listing`, as one "source:views:apply_clicks:applies,..." string (read it with `parse_by_source`), so a page
    listing many listings gets them in the statement it already runs."""
    aggregate = "group_concat({}, ',')" if db.is_sqlite() else "string_agg({}, ',')"
    row = "source || ':' || views || ':' || apply_clicks || ':' || applies"
    return (f"(SELECT {aggregate.format(row)} FROM (SELECT source, SUM(views) AS views, SUM(apply_clicks) AS "
            f"apply_clicks, SUM(applies) AS applies FROM listing_daily_stats WHERE listing = {listing} "
            f"GROUP BY source) AS by_source) AS {alias}")


def parse_by_source(text: str | None) -> list[dict]:
    """`by_source_column`'s string as `by_source` rows (source names never hold ':' or ',')."""
    rows = [dict(zip(("source", *COUNTS), item.split(":"), strict=True)) for item in (text or "").split(",") if item]
    return _by_source_rows(rows)
