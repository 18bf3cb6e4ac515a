"""Live listings (issue 18): reconfirm every 14 days or pause at 21 (off search, pages, feeds, similar jobs),
one-time reconfirm links, "Confirmed active N days ago", closing and expiry asking why, mail preferences,
and the admins' ghost-risk list. Time moves with the test clock; the worker runs the periodic jobs."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from careers.accounts import mail_prefs
from careers.accounts.tables import User
from careers.core import clock
from careers.worker import Worker
from employers.tables import Employer
from listings import service as listings
from listings.liveness import service as liveness
from listings.tables import Listing, ListingEvent, ListingLink
from tests import factories
from tests.conftest import follow_mailed_link, link_in, login, register_employer, sent_mail
from tests.search_helpers import fresh_index, ids

DAY = dt.timedelta(days=1)


def words(html: str) -> str:
    """The page's text as a person reads it: tags dropped, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture(autouse=True)
async def search_index(settings, database):
    await fresh_index(settings)
    yield


async def acme_listing(title: str = "Remote CPC coder", **options) -> Listing:
    employer = await Employer.objects().get(Employer.name == "Acme Health")
    place = {"work_mode": "remote", "zip_code": "", "city": "", "state": "", "required": ["CPC"]}
    return await factories.make_listing(employer, title, **(place | options))


async def run_worker(settings) -> None:
    """A fresh worker (its throttled periodic jobs run on its first pass) handles everything due."""
    await Worker(settings).drain()


async def search_ids(browser, q: str = "coder") -> list[int]:
    response = await browser.get("/api/v1/listings", params={"q": q})
    assert response.status_code == 200, response.text
    return ids(response.json())


# ---- done means 1: 21 days unconfirmed -> out of search; reconfirm -> back within seconds ---------------------


async def test_a_listing_unconfirmed_for_21_days_leaves_search_and_comes_back_when_reconfirmed(
        browser, make_browser, settings, frozen_clock):
    await register_employer(browser)
    listing = await acme_listing()
    await run_worker(settings)
    visitor = make_browser()
    assert listing.id in await search_ids(visitor)
    page = await visitor.get(listings.listing_path(listing))
    assert page.status_code == 200 and "Confirmed active today" in words(page.text)

    clock.advance(21 * DAY)
    await run_worker(settings)

    paused = await Listing.objects().get(Listing.id == listing.id)
    assert paused.paused and paused.status == "published"  # a flag, not a state: paid time keeps running
    assert paused.expires_at == listing.expires_at
    assert listing.id not in await search_ids(visitor)
    assert (await visitor.get(listings.listing_path(listing))).status_code == 404
    assert f"/jobs/{listing.id}/" not in (await visitor.get("/jobs.rss")).text
    assert f"/jobs/{listing.id}/" not in (await visitor.get("/sitemap.xml")).text
    assert (await visitor.get(f"/api/v1/listings/{listing.id}")).status_code == 404
    event = await ListingEvent.objects().where(ListingEvent.listing == listing.id).order_by(
        ListingEvent.id, ascending=False).first()
    assert (event.actor_kind, event.reason) == ("system", "paused: not confirmed for 21 days")

    await login(browser, "hr@acmehealth.org")  # the 21 days outlived the session
    dashboard = await browser.get("/employer")
    assert "Paused — confirm it's still open" in dashboard.text

    reminder = [m for m in await sent_mail("hr@acmehealth.org", settings) if "still open" in m["subject"]]
    assert len(reminder) == 1
    confirmed = await follow_mailed_link(make_browser(), link_in(reminder[0]["text"], "/listings/reconfirm"),
                                         "Yes, it is still open")
    assert confirmed.status_code == 200 and "confirmed active today" in confirmed.text
    await Worker(settings, periodic=[]).drain()  # only the queued search sync: back in the index at once

    assert listing.id in await search_ids(visitor)
    page = await visitor.get(listings.listing_path(listing))
    assert page.status_code == 200 and "Confirmed active today" in words(page.text)
    assert not (await Listing.objects().get(Listing.id == listing.id)).paused


async def test_a_reconfirm_link_works_once_and_its_token_is_never_stored(browser, make_browser, settings,
                                                                        frozen_clock):
    await register_employer(browser)
    listing = await acme_listing()
    clock.advance(14 * DAY)
    await run_worker(settings)
    [queued] = [m for m in await outbox_mail_rows() if m["kind"] == "mail.listing_reconfirm"]
    assert "token" not in str(queued["payload"])  # the outbox row names the listing, never the link
    [mail] = [m for m in await sent_mail("hr@acmehealth.org", settings) if "still open" in m["subject"]]
    link = link_in(mail["text"], "/listings/reconfirm")
    token = link.split("token=")[1]
    assert await ListingLink.count().where(ListingLink.token_hash == token) == 0
    stranger = make_browser()
    await follow_mailed_link(stranger, link, "Yes, it is still open")
    again = await stranger.submit("/listings/reconfirm", {"token": token})
    assert again.status_code == 400 and "already used" in again.text
    assert (await stranger.get(link)).status_code == 400
    reconfirmed = await Listing.objects().get(Listing.id == listing.id)
    assert reconfirmed.confirmed_at == clock.now() and reconfirmed.reconfirm_reminded_at is None


async def outbox_mail_rows() -> list[dict]:
    from careers.core.tables import OutboxRow

    return await OutboxRow.select().where(OutboxRow.kind.like("mail%")).output(load_json=True)


async def test_the_reminder_goes_once_per_period_at_14_days(browser, settings, frozen_clock):
    await register_employer(browser)
    listing = await acme_listing()
    clock.advance(13 * DAY)
    assert await liveness.remind_due() == []
    clock.advance(DAY)
    assert await liveness.remind_due() == [listing.id]
    assert await liveness.remind_due() == []  # once per period
    await liveness.reconfirm(listing.id)
    clock.advance(14 * DAY)
    assert await liveness.remind_due() == [listing.id]  # a new period, a new reminder
    rows = [m for m in await outbox_mail_rows() if m["kind"] == "mail.listing_reconfirm"]
    assert len(rows) == 2 and all(r["payload"]["to"] == "hr@acmehealth.org" for r in rows)


async def test_the_dashboard_button_reconfirms_and_a_stranger_cannot(browser, make_browser, settings, frozen_clock):
    await register_employer(browser)
    listing = await acme_listing()
    clock.advance(22 * DAY)
    await liveness.pause_due()
    await login(browser, "hr@acmehealth.org")
    manage = await browser.get(f"/employer/listings/{listing.id}")
    assert "Paused — confirm it's still open" in manage.text and "Confirmed active 22 days ago" in words(manage.text)

    other = make_browser()
    await register_employer(other, "boss@otherclinic.org", org="Other Clinic", website="https://otherclinic.org")
    refused = await other.submit(f"/employer/listings/{listing.id}/reconfirm", {})
    assert refused.status_code == 404
    assert (await Listing.objects().get(Listing.id == listing.id)).paused

    done = await browser.submit(f"/employer/listings/{listing.id}/reconfirm", {}, follow=True)
    assert "is confirmed active today" in done.text
    assert "Paused — confirm" not in done.text and "Confirmed active today" in words(done.text)
    assert not (await Listing.objects().get(Listing.id == listing.id)).paused


async def test_search_cards_show_when_the_listing_was_last_confirmed(browser, settings, frozen_clock):
    await register_employer(browser)
    listing = await acme_listing()
    clock.advance(3 * DAY)
    await run_worker(settings)
    from search.documents import documents_for

    doc = (await documents_for([listing.id]))[listing.id]
    assert doc["confirmed_at_iso"].startswith((clock.now() - 3 * DAY).date().isoformat())
    cards = await browser.get("/jobs", params={"q": "coder"})
    assert "Confirmed active 3 days ago" in words(cards.text)


async def test_paused_listings_count_as_invisible_everywhere_the_visibility_rule_is_used():
    employer = await factories.make_employer("Acme Health", verified=True)
    live = await factories.make_listing(employer, "Live coder")
    paused = await factories.make_listing(employer, "Paused coder")
    await Listing.update({Listing.paused: True}).where(Listing.id == paused.id)
    paused = await Listing.objects().get(Listing.id == paused.id)
    assert listings.is_public(live) and not listings.is_public(paused)
    assert not listings.is_public({"status": "published", "hidden": False, "paused": True})
    visible = await Listing.select(Listing.id).where(listings.public_where())
    assert [r["id"] for r in visible] == [live.id]
    from search.documents import count_public, documents_for

    assert await count_public() == 1
    docs = await documents_for([live.id, paused.id])
    assert docs[paused.id] is None and docs[live.id]["confirmed_at_iso"]



async def test_the_degraded_database_search_leaves_paused_listings_out_too(settings):
    from search.service import parse_query, search_database

    employer = await factories.make_employer("Acme Health", verified=True)
    live = await factories.make_listing(employer, "Live coder")
    paused = await factories.make_listing(employer, "Paused coder")
    await Listing.update({Listing.paused: True}).where(Listing.id == paused.id)
    result = await search_database(parse_query({}), settings)
    assert [h["id"] for h in result.hits] == [live.id] and result.total == 1


# ---- closing and expiry ask why --------------------------------------------------------------------------


async def test_closing_asks_why_and_keeps_the_answer(browser):
    await register_employer(browser)
    listing = await acme_listing()
    manage = await browser.get(f"/employer/listings/{listing.id}")
    for label in liveness.CLOSE_REASONS.values():
        assert label in manage.text
    wrong = await browser.submit(f"/employer/listings/{listing.id}/close", {"close_reason": "bored"})
    assert wrong.status_code == 303
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "published"
    closed = await browser.submit(f"/employer/listings/{listing.id}/close", {"close_reason": "hired_elsewhere"},
                                  follow=True)
    assert "Why it ended: Hired elsewhere" in closed.text
    row = await Listing.objects().get(Listing.id == listing.id)
    assert (row.status, row.close_reason) == ("closed", "hired_elsewhere")


async def test_expiry_mails_the_employer_a_page_with_one_button_per_answer(browser, make_browser, settings,
                                                                          frozen_clock):
    await register_employer(browser)
    listing = await acme_listing()
    await liveness.reconfirm(listing.id)
    clock.advance(10 * DAY)
    await liveness.reconfirm(listing.id)
    clock.advance(10 * DAY)
    await liveness.reconfirm(listing.id)
    clock.advance(11 * DAY)  # past the 30 days
    await run_worker(settings)
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "expired"
    [mail] = [m for m in await sent_mail("hr@acmehealth.org", settings) if "how did it end" in m["subject"]]
    link = link_in(mail["text"], "/listings/ended")
    person = make_browser()
    page = await person.get(link)
    assert page.status_code == 200
    for label in liveness.CLOSE_REASONS.values():
        assert re.search(rf"<button[^>]*>(<[^>]+>)*{re.escape(label)}<", page.text), label  # one button each
    answered = await person.submit("/listings/ended", {"token": link.split("token=")[1], "close_reason": "cancelled"})
    assert answered.status_code == 200 and "Your answer is saved" in answered.text
    assert (await Listing.objects().get(Listing.id == listing.id)).close_reason == "cancelled"
    await run_worker(settings)
    assert len([m for m in await outbox_mail_rows() if m["kind"] == "mail.listing_ended"]) == 1  # asked once


# ---- mail preferences --------------------------------------------------------------------------------------


async def test_an_employer_who_turned_reminders_off_gets_none_but_the_listing_still_pauses(browser, settings,
                                                                                       frozen_clock):
    await register_employer(browser)
    page = await browser.get("/account/mail")
    assert "Listing reminders" in page.text and "Applicant nudges" in page.text
    assert "No-response notices" not in page.text  # a coder's kind
    saved = await browser.submit("/account/mail", {"wanted": ["applicant_nudges"]}, follow=True)
    assert "Your mail preferences are saved." in saved.text
    user = await User.objects().get(User.email == "hr@acmehealth.org")
    assert not await mail_prefs.wants(user.id, "listing_reminders")
    assert await mail_prefs.wants(user.id, "applicant_nudges")

    listing = await acme_listing()
    clock.advance(21 * DAY)
    await run_worker(settings)
    assert not [m for m in await outbox_mail_rows() if m["kind"] == "mail.listing_reconfirm"]
    assert (await Listing.objects().get(Listing.id == listing.id)).paused


async def test_a_coder_who_turned_digests_off_gets_none_until_turning_them_on(browser, make_browser, settings):
    from careers.coders import alerts
    from careers.coders.tables import JobAlert
    from tests.conftest import register_coder

    await register_employer(make_browser())
    await register_coder(browser, "casey@example.org")
    await browser.submit("/alerts", {"query": "credential=CPC", "frequency": "daily"})
    alert = await JobAlert.objects().get(JobAlert.email == "casey@example.org")
    await acme_listing("New CPC job", now=alert.created_at + dt.timedelta(hours=1))
    await Worker(settings, periodic=[]).drain()
    await browser.submit("/account/mail", {})  # every box unticked
    later = alert.created_at + DAY + dt.timedelta(minutes=1)
    assert await alerts.send_due_digests(settings, now=later) == 0
    await browser.submit("/account/mail", {"wanted": ["alert_digests"]})
    assert await alerts.send_due_digests(settings, now=later) == 1


async def test_an_unknown_mail_kind_is_a_programming_error():
    with pytest.raises(mail_prefs.UnknownMailKind):
        await mail_prefs.wants(1, "newsletter")


# ---- admins: ghost risk ------------------------------------------------------------------------------------


async def test_the_admin_dashboard_lists_listings_at_risk_of_being_ghost_jobs(frozen_clock):
    start = clock.now()
    employer = await factories.make_employer("Acme Health", verified=True)
    stale = await factories.make_listing(employer, "Stale coder", now=start)
    confirmed = await factories.make_listing(employer, "Confirmed coder", now=start)
    young = await factories.make_listing(employer, "Young coder", now=start + 10 * DAY)
    for listing in (stale, confirmed, young):
        await Listing.update({Listing.expires_at: start + 90 * DAY}).where(Listing.id == listing.id)
    clock.advance(30 * DAY)
    await liveness.reconfirm(confirmed.id)
    clock.advance(20 * DAY)
    risky = await liveness.ghost_risk()
    assert [r["id"] for r in risky] == [stale.id]
    from careers.admin import dashboard_figures

    figures = await dashboard_figures()
    assert [r["title"] for r in figures.ghost_risk] == ["Stale coder"]


# ---- the demo board ------------------------------------------------------------------------------------------


async def test_the_demo_shows_a_recent_an_awaiting_a_paused_an_ended_and_a_ghost_listing_and_an_untouched_application(
        browser, frozen_clock):
    import io

    from careers.coders import untouched
    from careers.coders.tables import Application
    from listings.commands import seed_demo

    assert await seed_demo(out=io.StringIO()) == 0
    assert await seed_demo(out=io.StringIO()) == 0  # idempotent
    now = clock.now()
    rows = {r["requisition_id"]: r for r in await Listing.select(
        Listing.id, Listing.requisition_id, Listing.confirmed_at, Listing.paused, Listing.employer).where(
        Listing.requisition_id.is_in(["DEMO-001", "DEMO-009", "DEMO-017"]))}
    assert rows["DEMO-001"]["confirmed_at"] == now and not rows["DEMO-001"]["paused"]
    assert rows["DEMO-009"]["confirmed_at"] == now - 16 * DAY and not rows["DEMO-009"]["paused"]
    assert rows["DEMO-017"]["paused"]
    assert len({r["employer"] for r in rows.values()}) == 1
    await login(browser, "hr@mercyridge.example.com", "demo-password-2026")
    dashboard = words((await browser.get("/employer")).text)
    assert "Paused — confirm it's still open" in dashboard
    assert dashboard.count("Confirm it's still open") >= 2  # the paused one and the one awaiting reconfirmation
    ended = await Listing.objects().get(Listing.requisition_id == "DEMO-025")
    assert ended.status == "expired" and await liveness.ask_why_ended() == [ended.id]  # "how did it end?" is mailed
    ghosts = await liveness.ghost_risk()
    assert len(ghosts) == 1 and ghosts[0]["paused"] and ghosts[0]["published_at"] == now - 50 * DAY

    apps = await Application.select().where(Application.first_employer_action_at.is_null())
    notices = [untouched.response_notice(a) for a in apps]
    assert "No response yet from the employer (11 days)" in notices
