"""Issue 18, the employer response record: computed by the worker from the last 180 days of applications onto the
employer row and the search documents; shown on pages from 5 applications, always in the API's shape."""

from __future__ import annotations

import datetime as dt

from careers.accounts.tables import User
from careers.coders import applications as coder_applications
from careers.coders.tables import Application, ApplicationStage
from careers.core import clock
from careers.core.tables import OutboxRow
from employers import applicants, response
from employers.response_record import ResponseRecord, record_of
from employers.tables import Employer, EmployerMember
from search.service import parse_query, search_listings
from tests import factories
from tests.conftest import create_admin
from tests.search_helpers import fresh_index

DAY = dt.timedelta(days=1)
NULL_RESPONSE = {"median_first_action_days": None, "status_within_14_days": None, "applications_counted": 0}

# (days ago applied, days after applying of the employer's first action or None, stage)
HAND_SEEDED = [
    (30, 1, ApplicationStage.REVIEWED),
    (40, 2, ApplicationStage.NOT_SELECTED),
    (50, 3, ApplicationStage.HIRED),
    (60, 4, ApplicationStage.INTERVIEWING),
    (70, 20, ApplicationStage.NOT_SELECTED),  # answered, but after 14 days
    (25, None, ApplicationStage.SUBMITTED),  # 25 days without an answer: counts, unanswered
    (20, None, ApplicationStage.WITHDRAWN),  # withdrawn before any answer: not counted
    (5, None, ApplicationStage.SUBMITTED),  # its 14 days are not over: not counted yet
    (200, 1, ApplicationStage.HIRED),  # older than 180 days: not counted
]
# By hand: counted = 6 (the first six); days to first action 1, 2, 3, 4, 20 → median 3.0; within 14 days 4 of 6
# = 0.67; closed with an outcome (hired / not selected) 3 of 6 = 0.5.
HAND_RECORD = ResponseRecord(median_first_action_days=3.0, status_within_14_days=0.67, closed_with_outcome=0.5,
                             applications_counted=6)


async def seed_applications(listing_id: int, rows, *, first: int = 0) -> list[int]:
    """Applications to `listing_id` applied (and first acted on) the given number of days before now."""
    now = clock.now()
    ids = []
    for n, (ago, acted_after, stage) in enumerate(rows, start=first):
        user = User(email=f"seeded{n}@example.org", role="coder", password_hash="x", display_name=f"Seeded {n}")
        await user.save()
        created = now - ago * DAY
        app = Application(listing=listing_id, coder=user.id, listing_coder=f"{listing_id}:{user.id}", stage=stage,
                          created_at=created, updated_at=created,
                          first_employer_action_at=None if acted_after is None else created + acted_after * DAY)
        await app.save()
        ids.append(app.id)
    return ids


def quick_rows(count: int):
    """`count` applications each answered within a day (a "Responds quickly" record from 5)."""
    return [(20 + n, 0.5, ApplicationStage.REVIEWED) for n in range(count)]


async def stored(employer_id: int) -> ResponseRecord:
    return record_of(await Employer.objects().get(Employer.id == employer_id))


async def test_the_record_matches_a_hand_computation_on_seeded_applications(frozen_clock, worker):
    listing = await factories.make_listing("Acme Health")
    other = await factories.make_listing("Other Clinic", "Inpatient coder")
    await seed_applications(listing.id, HAND_SEEDED)
    await seed_applications(other.id, [(10, 1, ApplicationStage.REVIEWED)], first=50)  # another employer's

    await worker.drain()  # the daily refresh runs on the worker's first pass
    assert await stored(listing.employer) == HAND_RECORD
    assert HAND_RECORD.api() == {"median_first_action_days": 3.0, "status_within_14_days": 0.67,
                                 "applications_counted": 6}
    assert not HAND_RECORD.responds_quickly and HAND_RECORD.responsive
    assert (await stored(other.employer)).api() == NULL_RESPONSE | {"applications_counted": 1}  # its own only


async def test_the_daily_refresh_follows_the_clock_and_applications_age_out(frozen_clock):
    listing = await factories.make_listing("Acme Health")
    await seed_applications(listing.id, HAND_SEEDED)
    assert await response.refresh_due() == 1
    assert await response.refresh_due() == 0  # computed today: nothing due
    frozen_clock.advance(dt.timedelta(days=160))  # only the unanswered one of 5 days ago is still within 180 days
    assert await response.refresh_due() == 1
    record = await stored(listing.employer)
    assert record.applications_counted == 1 and record.api()["median_first_action_days"] is None


async def test_an_employer_move_or_note_is_a_first_action_and_an_automatic_move_is_not(frozen_clock, worker, browser):
    listing = await factories.make_listing("Acme Health")
    member = User(email="hr@acmehealth.org", role="employer", password_hash="x", display_name="HR")
    await member.save()
    await EmployerMember.insert(EmployerMember(employer=listing.employer, user=member.id, role="owner"))
    moved, noted, automatic = await seed_applications(listing.id, [(0, None, ApplicationStage.SUBMITTED)] * 3)
    await OutboxRow.delete(force=True)

    frozen_clock.advance(2 * DAY)
    await coder_applications.move_application(automatic, ApplicationStage.NOT_SELECTED, None)  # a screen-out
    await applicants.move(moved, member.id, ApplicationStage.REVIEWED, "", settings=None)
    await applicants.add_note(noted, member.id, "Strong E/M background.")
    firsts = {r["id"]: r["first_employer_action_at"] for r in await Application.select(
        Application.id, Application.first_employer_action_at)}
    assert firsts[automatic] is None
    assert firsts[moved] == firsts[noted] == clock.now()
    kinds = [r["kind"] for r in await OutboxRow.select(OutboxRow.kind)]
    assert kinds.count(response.RESPONSE_RECORD) == 3  # every move queues a recompute

    frozen_clock.advance(DAY)
    await applicants.move(moved, member.id, ApplicationStage.INTERVIEWING, "", settings=None)
    first = await Application.select(Application.first_employer_action_at).where(Application.id == moved).first()
    assert first["first_employer_action_at"] == clock.now() - DAY  # the first action stays the first


async def test_the_api_always_carries_every_key_and_no_figures_below_five(frozen_clock, worker, browser, settings):
    await fresh_index(settings)
    listing = await factories.make_listing("Acme Health")
    await seed_applications(listing.id, quick_rows(4))
    await worker.drain()
    expected = {"median_first_action_days": None, "status_within_14_days": None, "applications_counted": 4}
    assert (await browser.get(f"/api/v1/listings/{listing.id}")).json()["employer"]["response"] == expected
    hits = (await browser.get("/api/v1/listings")).json()["hits"]
    assert [h["employer"]["response"] for h in hits] == [expected]

    await seed_applications(listing.id, quick_rows(1), first=10)
    await response.refresh_employer(listing.employer)  # what the outbox row of a move does
    await worker.drain()  # the record changed: the listing's document is synced
    expected = {"median_first_action_days": 0.5, "status_within_14_days": 1.0, "applications_counted": 5}
    assert (await browser.get(f"/api/v1/listings/{listing.id}")).json()["employer"]["response"] == expected
    hits = (await browser.get("/api/v1/listings")).json()["hits"]
    assert [h["employer"]["response"] for h in hits] == [expected]


async def test_pages_show_the_record_from_five_applications_with_the_badge(frozen_clock, worker, browser, settings):
    await fresh_index(settings)
    listing = await factories.make_listing("Acme Health")
    employer = await Employer.objects().get(Employer.id == listing.employer)
    await seed_applications(listing.id, quick_rows(4))
    await worker.drain()
    for path in (f"/employers/{employer.slug}", f"/jobs/{listing.id}/{listing.slug}"):
        page = (await browser.get(path)).text
        assert "Not enough applications yet" in page and "Median time to first response" not in page
        assert "Responds quickly" not in page
    assert "Responds quickly" not in (await browser.get("/jobs")).text

    await seed_applications(listing.id, quick_rows(2), first=10)
    await response.refresh_employer(listing.employer)
    await worker.drain()
    for path in (f"/employers/{employer.slug}", f"/jobs/{listing.id}/{listing.slug}"):
        page = (await browser.get(path)).text
        assert "Not enough applications yet" not in page
        assert "Median time to first response" in page and "0.5 days" in page and "100%" in page
        assert "From 6 applications of the last 180 days" in page and "Responds quickly" in page
    assert "Responds quickly" in (await browser.get("/jobs")).text  # the search card's badge


async def test_employers_who_respond_filter_on_meilisearch_and_on_the_database(frozen_clock, worker, browser,
                                                                              settings):
    await fresh_index(settings)
    answering = await factories.make_listing("Answering Health", "Profee coder")
    silent = await factories.make_listing("Silent Clinic", "Profee auditor")
    await seed_applications(answering.id, quick_rows(5))
    await seed_applications(silent.id, [(30 + n, None, ApplicationStage.SUBMITTED) for n in range(5)], first=10)
    await worker.drain()
    assert not (await stored(silent.employer)).responsive and (await stored(answering.employer)).responsive

    every = (await browser.get("/api/v1/listings")).json()
    assert {h["id"] for h in every["hits"]} == {answering.id, silent.id}
    body = (await browser.get("/api/v1/listings?responsive=true")).json()
    assert [h["id"] for h in body["hits"]] == [answering.id] and body["degraded"] is False
    degraded = await search_listings(parse_query({"responsive": ["true"]}), settings.replace(meili_url=""))
    assert degraded.degraded and [h["id"] for h in degraded.hits] == [answering.id]
    page = (await browser.get("/jobs?responsive=true")).text
    assert "Profee coder" in page and "Profee auditor" not in page and 'name="responsive" value="true" checked' in page
    assert (await browser.get("/api/v1/listings?responsive=maybe")).status_code == 400


async def test_the_responsive_boost_breaks_ties_after_relevance(frozen_clock, worker, settings):
    await fresh_index(settings)
    quick = await factories.make_listing("Quick Health", "Coder", now=clock.now() - DAY)
    newer = await factories.make_listing("Newer Clinic", "Coder")
    await seed_applications(quick.id, quick_rows(5))
    await worker.drain()
    result = await search_listings(parse_query({}), settings)
    # a day older, but the 2-day head start of "Responds quickly" puts it first among equals
    assert [h["id"] for h in result.hits] == [quick.id, newer.id]


async def test_the_admin_dashboard_lists_the_worst_response_records(frozen_clock, worker, browser):
    good = await factories.make_listing("Answering Health")
    bad = await factories.make_listing("Silent Clinic", "Inpatient coder")
    await seed_applications(good.id, quick_rows(5))
    await seed_applications(bad.id, [(30 + n, 20 if n else None, ApplicationStage.SUBMITTED) for n in range(5)],
                            first=10)
    await worker.drain()
    worst = await response.worst_records()
    assert [r["name"] for r in worst] == ["Silent Clinic", "Answering Health"]
    await create_admin(browser)
    page = (await browser.get("/admin")).text
    section = page[page.index("worst response records"):]
    assert section.index("Silent Clinic") < section.index("Answering Health") and "0%" in section
