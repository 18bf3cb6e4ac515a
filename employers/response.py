"""The response record, computed by the worker and stored on the employer row (rules: `response_record.py`).

Never computed per request: pages and the API read the stored columns (`response_record.record_of`), search
documents carry them. Recomputed when an application moves or gets a note (the `employers.response_record`
outbox row) and daily for every employer (applications age out of the window, 14-day windows close).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from careers.coders.tables import Application
from careers.core import clock, db, outbox
from careers.core.config import Settings
from careers.core.registry import Throttled
from employers.response_record import WINDOW_DAYS, ResponseRecord, record_from_rows, record_of
from employers.service import resync_listings_in_search
from employers.tables import Employer
from listings.tables import Listing

RESPONSE_RECORD = "employers.response_record"  # outbox kind: {"listing_id"} or {"employer_id"}
DAILY = dt.timedelta(days=1)
BATCH = 100  # employers per worker pass in the daily refresh
DUE_CHECK_SECONDS = 60
WORST_LIMIT = 10


async def employer_acted(application_id: int, listing_id: int) -> None:
    """Someone at the employer moved the application or wrote a note: note the first time, queue a recompute.

    Call inside the transaction of the move or note (automatic moves do not call this).
    """
    await Application.update({Application.first_employer_action_at: clock.now()}).where(
        (Application.id == application_id) & Application.first_employer_action_at.is_null())
    await outbox.enqueue(RESPONSE_RECORD, {"listing_id": listing_id})


async def application_moved(listing_id: int) -> None:
    """Any other move (a withdrawal, an automatic move) changes what counts: queue a recompute."""
    await outbox.enqueue(RESPONSE_RECORD, {"listing_id": listing_id})


async def compute_record(employer_id: int, now: dt.datetime | None = None) -> ResponseRecord:
    """The record of one employer from its applications of the last 180 days (one statement)."""
    now = now or clock.now()
    rows = await Application.select(Application.created_at, Application.first_employer_action_at,
                                    Application.stage).where(
        (Application.listing.employer == employer_id)
        & (Application.created_at >= now - dt.timedelta(days=WINDOW_DAYS)))
    return record_from_rows(rows, now)


async def refresh_employer(employer_id: int, now: dt.datetime | None = None) -> ResponseRecord:
    """Recompute and store one employer's record; a change re-indexes its published listings (documents carry it)."""
    now = now or clock.now()
    record = await compute_record(employer_id, now)
    async with db.transaction():
        row = await Employer.select(*_RECORD_COLUMNS).where(Employer.id == employer_id).first()
        if row is None:
            return record
        await Employer.update({
            Employer.response_median_days: record.median_first_action_days,
            Employer.response_within_14_days: record.status_within_14_days,
            Employer.response_closed_share: record.closed_with_outcome,
            Employer.response_counted: record.applications_counted,
            Employer.response_computed_at: now,
        }).where(Employer.id == employer_id)
        if record_of(row).document() != record.document():
            await resync_listings_in_search(employer_id)
    return record


_RECORD_COLUMNS = (Employer.response_median_days, Employer.response_within_14_days, Employer.response_closed_share,
                   Employer.response_counted)


async def refresh_due(now: dt.datetime | None = None, *, batch: int = BATCH) -> int:
    """The daily refresh, in bounded batches: employers never computed or computed more than a day ago."""
    now = now or clock.now()
    rows = await Employer.select(Employer.id).where(
        Employer.response_computed_at.is_null() | (Employer.response_computed_at < now - DAILY)
    ).order_by(Employer.id).limit(batch)
    for row in rows:
        await refresh_employer(row["id"], now)
    return len(rows)


async def _refresh_from_outbox(payload: dict, row_id: int, settings: Settings) -> None:
    employer_id = payload.get("employer_id")
    if employer_id is None:
        listing = await Listing.select(Listing.employer).where(Listing.id == payload.get("listing_id")).first()
        if listing is None:
            return
        employer_id = listing["employer"]
    await refresh_employer(employer_id)


def handlers() -> dict:
    """Outbox: recompute an employer's record when one of its applications moved."""
    return {RESPONSE_RECORD: _refresh_from_outbox}


async def _refresh_due_job(settings: Settings) -> None:
    await refresh_due()


def periodic() -> list:
    """The daily recompute; checked every minute, a bounded batch per pass (judged by the kernel clock)."""
    return [Throttled("refresh_response_records", DUE_CHECK_SECONDS, _refresh_due_job)]


async def worst_records(limit: int = WORST_LIMIT) -> list[dict[str, Any]]:
    """Employers with at least 5 counted applications, worst first: lowest share answered within 14 days,
    then the slowest median."""
    rows = await Employer.select(Employer.id, Employer.name, Employer.slug, *_RECORD_COLUMNS).where(
        Employer.response_within_14_days.is_not_null() & Employer.suspended.eq(False))
    rows.sort(key=lambda r: (r["response_within_14_days"], -(r["response_median_days"] or 10_000), r["id"]))
    return [{**r, "record": record_of(r)} for r in rows[:limit]]


async def dashboard_figures(now: dt.datetime) -> dict[str, Any]:
    """The admin dashboard's panel: the employers with the worst response records."""
    return {"worst_response_records": await worst_records()}
