"""Employer trust at /admin/employers: verify, suspend (listings off the site and search, logins blocked), reinstate."""

from __future__ import annotations

import datetime as dt

from careers.accounts.tables import AuditEntry, User
from employers.tables import Employer
from listings import service as listings
from listings.tables import Listing
from tests.conftest import create_admin, login
from tests.test_moderation_support import make_employer, make_listing, search_document, search_is_wired


async def test_suspending_removes_every_listing_and_blocks_logins_and_reinstating_restores_the_unexpired(
        browser, make_browser, settings, worker):
    employer = await make_employer(browser, "owner@shadyco.org", "Shady Co", "https://shadyco.org", days_old=20)
    live = await make_listing(employer, title="Live Coder Job", status="published")
    lapsing = await make_listing(employer, title="Lapsing Coder Job", status="published")
    taken_down = await make_listing(employer, title="Taken Down Job", status="published")
    await listings.transition(taken_down.id, "removed", actor_kind="admin", reason="duplicate posting")
    if search_is_wired():
        await worker.drain()
        assert await search_document(settings, live.id) is not None
    assert (await browser.get("/account")).status_code == 200  # the owner is logged in

    admin = make_browser()
    await create_admin(admin)
    listing_page = await admin.get("/admin/employers?status=all&q=Shady")
    assert "Shady Co" in listing_page.text
    detail = await admin.get(f"/admin/employers/{employer.id}")
    assert detail.status_code == 200 and "owner@shadyco.org" in detail.text

    refused = await admin.submit(f"/admin/employers/{employer.id}/suspend", {"reason": ""})
    assert refused.status_code == 303
    assert not (await Employer.objects().get(Employer.id == employer.id)).suspended

    done = await admin.submit(f"/admin/employers/{employer.id}/suspend", {"reason": "Fee-charging scam"}, follow=True)
    assert "Suspended: 2 listing(s) removed" in done.text
    assert (await Employer.objects().get(Employer.id == employer.id)).suspended
    for listing in (live, lapsing, taken_down):
        assert (await Listing.objects().get(Listing.id == listing.id)).status == "removed"
    assert (await make_browser().get(f"/jobs/{live.id}", follow_redirects=True)).status_code in (404, 410)
    if search_is_wired():
        await worker.drain()
        assert await search_document(settings, live.id) is None
        assert await search_document(settings, lapsing.id) is None
    # the owner's session ended and the login is refused
    assert (await browser.get("/account")).status_code == 303
    refused_login = await login(make_browser(), "owner@shadyco.org")
    assert refused_login.status_code == 400 and "disabled" in refused_login.text
    assert (await User.objects().get(User.email == "owner@shadyco.org")).login_disabled
    assert await AuditEntry.exists().where((AuditEntry.action == "employer suspended") & (AuditEntry.employer_id == employer.id))

    # while suspended, one listing's expiry passes
    await Listing.update({Listing.expires_at: dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)}).where(
        Listing.id == lapsing.id)
    done = await admin.submit(f"/admin/employers/{employer.id}/reinstate", {"reason": "Cleared after a call"}, follow=True)
    assert "Reinstated: 1 listing(s) published again" in done.text
    assert (await Listing.objects().get(Listing.id == live.id)).status == "published"
    assert (await Listing.objects().get(Listing.id == lapsing.id)).status == "removed"
    assert (await Listing.objects().get(Listing.id == taken_down.id)).status == "removed"
    assert (await login(make_browser(), "owner@shadyco.org")).status_code == 303
    if search_is_wired():
        await worker.drain()
        assert await search_document(settings, live.id) is not None
    entries = await admin.get(f"/admin/audit?employer={employer.id}")
    assert "employer suspended" in entries.text and "employer reinstated" in entries.text
    assert "Cleared after a call" in entries.text


async def test_verifying_an_employer_is_audited_and_shown(browser, make_browser):
    employer = await make_employer(browser, "hr@trusted.org", "Trusted Health", "https://trusted.org", days_old=200)
    admin = make_browser()
    await create_admin(admin)
    await admin.submit(f"/admin/employers/{employer.id}/verify", {"reason": "Checked the domain and the phone number"})
    assert (await Employer.objects().get(Employer.id == employer.id)).verified
    verified = await admin.get("/admin/employers?status=verified")
    assert "Trusted Health" in verified.text
    assert "Trusted Health" not in (await admin.get("/admin/employers?status=unverified")).text
    entry = await AuditEntry.objects().where(AuditEntry.action == "employer verified").first()
    assert entry.employer_id == employer.id and entry.reason == "Checked the domain and the phone number"


async def test_an_in_review_listing_of_a_suspended_employer_cannot_be_approved(browser, make_browser):
    employer = await make_employer(browser, "hr@paused.org", "Paused Clinic", "https://paused.org", days_old=20)
    listing = await make_listing(employer, status="in_review")
    admin = make_browser()
    await create_admin(admin)
    await admin.submit(f"/admin/employers/{employer.id}/suspend", {"reason": "Investigating"})
    page = await admin.get("/admin/review")
    assert "Employer suspended" in page.text
    answer = await admin.submit(f"/admin/review/{listing.id}/approve", {"version": str(listing.version)}, follow=True)
    assert "reinstate it before approving" in answer.text
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "in_review"
