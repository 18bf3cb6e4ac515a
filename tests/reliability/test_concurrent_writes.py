"""Drill: 200 coders apply to one listing at the same moment while its employer publishes 50 listings.

Everything goes through the real HTTP handlers (in-process ASGI clients, one per person, all
requests in flight together) on the session's database: SQLite in the first pass of `make test`,
PostgreSQL in the second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from piccolo.query.methods.select import Count

from billing.tables import Credit, CreditUse
from careers.coders.tables import Application, ApplicationEvent
from careers.core.tables import OutboxRow
from listings import stats as listing_stats
from listings.tables import Listing, ListingEvent
from tests.reliability.conftest import (
    make_coders,
    make_draft,
    make_employer,
    make_published,
    server_errors,
    signed_in_browsers,
)

CODERS = 200
DOUBLE_CLICKERS = 20  # of the coders, these submit the form twice at once
PUBLISHES = 50
DOUBLE_PUBLISHES = 5  # of the drafts, these get two publish clicks at once


@pytest.mark.slow
async def test_200_concurrent_applications_and_50_concurrent_publishes_leave_every_row_exactly_once(
        settings, make_browser):
    """Invariant: one application (one history row, one employer mail, one apply click) per coder; every
    draft published once (one lifecycle event, one search row, one credit spent); no answer is a 5xx."""
    employer_id, employer_user = await make_employer("Concurrent Health")
    target = await make_published(employer_id, "Remote Coder (CPC) for everyone")
    drafts = [await make_draft(employer_id, f"Drill Listing {n}") for n in range(PUBLISHES)]
    now = dt.datetime.now(dt.timezone.utc)
    await Credit.insert(Credit(employer=employer_id, total=PUBLISHES, remaining=PUBLISHES, duration_days=30,
                               expires_at=now + dt.timedelta(days=90)))
    coders = await make_coders(CODERS, "drill")
    coder_browsers = await signed_in_browsers(make_browser, coders, settings)
    employer_tabs = await signed_in_browsers(make_browser, [employer_user] * (PUBLISHES + DOUBLE_PUBLISHES), settings)
    sync_rows_before = await OutboxRow.count().where(OutboxRow.kind == "search.sync")

    async def apply(browser):
        return await browser.post(f"/jobs/{target}/apply", data={"cover_note": "I code E/M daily.",
                                                                 "_csrf_token": browser.csrf})

    async def publish(tab, listing_id):
        return await tab.post(f"/employer/listings/{listing_id}/publish", data={"plan": "credit",
                                                                               "_csrf_token": tab.csrf})

    requests = [apply(b) for b in coder_browsers] + [apply(b) for b in coder_browsers[:DOUBLE_CLICKERS]]
    requests += [publish(tab, lid) for tab, lid in zip(employer_tabs, drafts + drafts[:DOUBLE_PUBLISHES])]
    started = time.monotonic()
    responses = await asyncio.wait_for(asyncio.gather(*requests, return_exceptions=True), timeout=240)
    elapsed = time.monotonic() - started
    print(f"\n{len(requests)} concurrent requests answered in {elapsed:.1f}s")

    assert server_errors(responses) == []
    applies = responses[:CODERS + DOUBLE_CLICKERS]
    publishes = responses[CODERS + DOUBLE_CLICKERS:]
    assert all(r.status_code == 303 and r.headers["location"].startswith("/account/applications#application-")
               for r in applies), [(r.status_code, r.text[:200]) for r in applies if r.status_code != 303][:3]
    # A double click lands on the same application either way.
    for first, second in zip(applies[:DOUBLE_CLICKERS], applies[CODERS:]):
        assert first.headers["location"] == second.headers["location"]
    # Of two clicks on one draft, one publishes and the other is told the draft is gone: never two credits.
    assert sorted(r.status_code for r in publishes) == [303] * PUBLISHES + [400] * DOUBLE_PUBLISHES

    # -- applications: exactly one per coder, with everything that comes with one
    rows = await Application.select(Application.id, Application.coder).where(Application.listing == target)
    assert len(rows) == CODERS
    assert sorted(r["coder"] for r in rows) == sorted(coders)
    events = await ApplicationEvent.select(ApplicationEvent.application, Count()).group_by(ApplicationEvent.application)
    assert len(events) == CODERS and {e["count"] for e in events} == {1}
    await listing_stats.flush()
    assert (await listing_stats.totals([target]))[target] == {"views": 0, "apply_clicks": CODERS, "applies": CODERS}
    mails = await OutboxRow.select(OutboxRow.payload).where(OutboxRow.kind == "mail").output(load_json=True)
    new_application_mails = [m for m in mails if m["payload"]["subject"].startswith("New application")]
    assert len(new_application_mails) == CODERS
    assert {m["payload"]["text"].rsplit("/employer/applications/", 1)[1].strip() for m in new_application_mails} == {
        str(r["id"]) for r in rows}

    # -- publishes: every draft published exactly once, one credit each, one search row each
    statuses = await Listing.select(Listing.id, Listing.status).where(Listing.id.is_in(drafts))
    assert {r["status"] for r in statuses} == {"published"} and len(statuses) == PUBLISHES
    published_events = await ListingEvent.select(ListingEvent.listing, Count()).where(
        ListingEvent.listing.is_in(drafts) & (ListingEvent.to_status == "published")).group_by(ListingEvent.listing)
    assert sorted(e["listing"] for e in published_events) == sorted(drafts)
    assert {e["count"] for e in published_events} == {1}
    uses = await CreditUse.select(CreditUse.listing)
    assert sorted(u["listing"] for u in uses) == sorted(drafts)
    assert (await Credit.objects().first()).remaining == 0
    sync_rows = await OutboxRow.select(OutboxRow.payload).where(
        (OutboxRow.kind == "search.sync") & (OutboxRow.id > 0)).output(load_json=True)
    synced = [r["payload"]["listing_id"] for r in sync_rows]
    assert len(synced) - sync_rows_before == PUBLISHES
    assert sorted(lid for lid in synced if lid in drafts) == sorted(drafts)
