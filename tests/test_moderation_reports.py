"""Reports from visitors: confirmed, distinct reporters hide a listing at once; admins resolve them."""

from __future__ import annotations

import datetime as dt

from careers.accounts.tables import AuditEntry
from careers.core import clock
from listings.moderation.tables import Report
from listings.tables import Listing
from tests.conftest import create_admin, link_in, login, register_coder, sent_mail
from tests.test_moderation_support import (
    make_employer,
    make_listing,
    search_document,
    search_is_wired,
    search_sync_rows,
)


async def report(browser, listing_id: int, reason: str = "scam", detail: str = "", email: str | None = None):
    data = {"reason": reason, "detail": detail}
    if email is not None:
        data["email"] = email
    return await browser.submit(f"/jobs/{listing_id}/report", data)


async def confirm_guest_report(browser, email: str) -> None:
    """Open the mailed link (a page with a button) and press the button."""
    mail = [m for m in await sent_mail(email) if "Confirm your report" in m["subject"]][-1]
    link = link_in(mail["text"], "/reports/confirm")
    page = await browser.get(link)
    assert page.status_code == 200 and "Confirm my report" in page.text
    done = await browser.submit("/reports/confirm", {"token": link.split("token=", 1)[1]})
    assert done.status_code == 200 and "Report confirmed" in done.text


def a_day_later() -> None:
    """Accounts must be a day old before their reports count: move the (frozen) clock past that."""
    clock.advance(dt.timedelta(hours=25))


async def published_listing(browser, settings, worker):
    employer = await make_employer(browser, "hr@suspicious.org", "Suspicious Staffing", "https://suspicious.org",
                                   days_old=30)
    listing = await make_listing(employer, title="Remote Coder Wanted", status="published")
    if search_is_wired():
        await worker.drain()
        assert await search_document(settings, listing.id) is not None
    return employer, listing


async def public_page_status(browser, listing_id: int) -> int:
    return (await browser.get(f"/jobs/{listing_id}", follow_redirects=True)).status_code


async def test_three_different_confirmed_reporters_hide_the_listing_from_pages_and_search(
        frozen_clock, browser, make_browser, settings, worker):
    employer, listing = await published_listing(browser, settings, worker)
    visitor = make_browser("198.51.100.7")
    page = await visitor.get(f"/jobs/{listing.id}", follow_redirects=True)
    page_before = page.status_code
    if page_before == 200:
        assert f'href="/jobs/{listing.id}/report"' in page.text and "Report this job" in page.text
    form = await visitor.get(f"/jobs/{listing.id}/report")
    assert form.status_code == 200 and "Report this job" in form.text and "Your email address" in form.text

    first, second = make_browser("203.0.113.1"), make_browser("192.0.2.1")
    await register_coder(first, "one@example.org")
    await register_coder(second, "two@example.org")
    a_day_later()
    assert (await report(first, listing.id, "scam", "Asks for a fee")).status_code == 200
    assert (await report(second, listing.id, "not_coding")).status_code == 200
    sent = await report(visitor, listing.id, "scam", "They wanted my SSN", email="guest@example.net")
    assert sent.status_code == 200 and "guest@example.net" in sent.text
    # the visitor has not confirmed yet: two confirmed reporters are not enough
    assert not (await Listing.objects().get(Listing.id == listing.id)).hidden

    syncs_before = len(await search_sync_rows(listing.id))
    await confirm_guest_report(visitor, "guest@example.net")
    hidden = await Listing.objects().get(Listing.id == listing.id)
    assert hidden.hidden and hidden.status == "published"
    assert len(await search_sync_rows(listing.id)) == syncs_before + 1
    if page_before == 200:
        assert await public_page_status(make_browser(), listing.id) in (404, 410)
    assert (await make_browser().get(f"/jobs/{listing.id}/report")).status_code == 404
    if search_is_wired():
        await worker.drain()
        assert await search_document(settings, listing.id) is None

    entry = await AuditEntry.objects().where(AuditEntry.action == "automated hide").first()
    assert entry.actor_label == "system" and entry.listing_id == listing.id and entry.employer_id == employer.id

    admin = make_browser()
    clock.set_now(None)  # the authenticator's code follows the wall clock
    await create_admin(admin)
    page = await admin.get("/admin/reports")
    assert page.status_code == 200
    assert "Remote Coder Wanted" in page.text and "Hidden" in page.text and "3 counting reports" in page.text and page.text.count("Counts toward hiding.") == 3
    assert "They wanted my SSN" in page.text

    # the admin decides the reports were wrong: the listing comes back
    await admin.submit(f"/admin/reports/{listing.id}/dismiss", {"reason": "Checked with the employer"})
    shown = await Listing.objects().get(Listing.id == listing.id)
    assert not shown.hidden
    assert await Report.count().where(Report.status == "open") == 0
    assert "No open reports." in (await admin.get("/admin/reports")).text
    if search_is_wired():
        await worker.drain()
        assert await search_document(settings, listing.id) is not None


async def test_three_reports_from_one_reporter_do_not_hide(frozen_clock, browser, make_browser, settings, worker):
    _, listing = await published_listing(browser, settings, worker)
    coder = make_browser("203.0.113.1")
    await register_coder(coder, "repeat@example.org")
    a_day_later()
    for reason in ("scam", "not_coding", "other"):
        assert (await report(coder, listing.id, reason)).status_code == 200
    # the same person again, now as a visitor giving their account's address
    guest = make_browser("192.0.2.1")
    await report(guest, listing.id, "scam", email="repeat@example.org")
    await confirm_guest_report(guest, "repeat@example.org")
    assert await Report.count() == 4
    assert not (await Listing.objects().get(Listing.id == listing.id)).hidden


async def test_reports_from_the_employers_own_members_and_unconfirmed_visitors_do_not_count(
        frozen_clock, browser, make_browser, settings, worker):
    _, listing = await published_listing(browser, settings, worker)
    coders = []
    for n, name in enumerate(("a", "b")):
        coders.append(make_browser(f"203.0.11{n}.1"))
        await register_coder(coders[-1], f"{name}@example.org")
    a_day_later()
    await report(browser, listing.id, "scam")  # the employer's owner, still logged in
    for coder in coders:
        await report(coder, listing.id, "scam")
    await report(make_browser("192.0.2.1"), listing.id, "scam", email="never-confirms@example.net")
    assert await Report.count() == 4
    assert not (await Listing.objects().get(Listing.id == listing.id)).hidden


async def test_admin_can_remove_a_reported_listing_or_suspend_its_employer(browser, make_browser, settings, worker):
    employer, listing = await published_listing(browser, settings, worker)
    other = await make_listing(employer, title="Second Listing", status="published")
    coder = make_browser()
    await register_coder(coder, "reporter@example.org")
    await report(coder, listing.id, "scam", "fee")
    await report(coder, other.id, "scam", "fee again")
    admin = make_browser()
    await create_admin(admin)

    missing = await admin.submit(f"/admin/reports/{listing.id}/remove", {"reason": ""})
    assert missing.status_code == 303
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "published"
    await admin.submit(f"/admin/reports/{listing.id}/remove", {"reason": "Fee-charging scam"})
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "removed"
    assert await AuditEntry.exists().where((AuditEntry.action == "listing removed") & (AuditEntry.listing_id == listing.id))

    await admin.submit(f"/admin/reports/{other.id}/suspend", {"reason": "Repeated scams"})
    assert (await Listing.objects().get(Listing.id == other.id)).status == "removed"
    assert await Report.count().where(Report.status == "open") == 0
    assert (await login(make_browser(), "hr@suspicious.org")).status_code == 400


async def test_reports_are_rate_limited_per_reporter(frozen_clock, app, settings, make_browser, browser, worker):
    app.state.settings = settings.replace(report_rate=(2, 3600))
    _, listing = await published_listing(browser, settings, worker)
    coder = make_browser()
    await register_coder(coder, "eager@example.org")
    statuses = [(await report(coder, listing.id)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_a_report_needs_a_reason_and_a_visitor_needs_an_email(browser, make_browser, settings, worker):
    _, listing = await published_listing(browser, settings, worker)
    visitor = make_browser()
    no_reason = await report(visitor, listing.id, reason="", email="x@example.org")
    assert no_reason.status_code == 400 and "Choose what is wrong" in no_reason.text
    no_email = await report(visitor, listing.id, reason="scam", detail="kept text", email="")
    assert no_email.status_code == 400 and "Enter your email address" in no_email.text and "kept text" in no_email.text
    assert await Report.count() == 0
    bad = await visitor.get("/reports/confirm?token=not-a-token")
    assert bad.status_code == 400
    assert (await visitor.submit("/reports/confirm", {"token": "not-a-token"})).status_code == 400
