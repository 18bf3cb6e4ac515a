"""Admin words and names: the coder-accounts page (find, suspend, reinstate — audited), names with links in the
audit log, human labels for listing states on the review page."""

from __future__ import annotations

import datetime as dt
import re

from careers.accounts.tables import AuditEntry, User
from careers.coders import alerts
from tests import factories
from tests.conftest import create_admin, login, register_coder, register_employer

PROFILE = {"name": "Casey Coderson", "zip": "60614", "credentials": ["CPC"], "year_CPC": "2019", "handle": "casey-c",
           "visible": "on"}


async def test_an_admin_finds_a_coder_by_email_or_name_suspends_and_reinstates_with_the_audit_log_naming_them(
        browser, make_browser):
    await register_coder(browser, "casey@example.org")
    assert (await browser.submit("/account/profile", PROFILE)).status_code == 303
    other = make_browser()
    await register_coder(other, "robin@example.org")
    casey = await User.objects().get(User.email == "casey@example.org")
    assert (await make_browser().get("/coders/casey-c")).status_code == 200

    admin = make_browser()
    await create_admin(admin)
    assert 'href="/admin/coders"' in (await admin.get("/admin")).text  # in the admin sub-navigation
    by_name = (await admin.get("/admin/coders?q=CODERSON")).text  # the profile's name, any case
    assert "casey@example.org" in by_name and "robin@example.org" not in by_name
    assert "1 coder account matching" in by_name
    assert "robin@example.org" in (await admin.get("/admin/coders?q=robin@")).text
    assert "2 coder accounts" in (await admin.get("/admin/coders")).text
    assert "No coder account matches." in (await admin.get("/admin/coders?q=100%25")).text  # % is a character here

    assert (await browser.submit("/alerts", {"query": "credential=CPC", "frequency": "daily"})).status_code == 303
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2)
    assert len(await alerts.due_alerts(later)) == 1

    refused = await admin.submit(f"/admin/coders/{casey.id}/suspend", {"reason": " ", "q": "casey"}, follow=True)
    assert "Give a reason; it goes into the audit log." in refused.text
    assert not (await User.objects().get(User.id == casey.id)).login_disabled

    done = await admin.submit(f"/admin/coders/{casey.id}/suspend", {"reason": "Spam applications", "q": "casey"},
                              follow=True)
    assert str(done.url).endswith("/admin/coders?q=casey") and "Suspended: this coder cannot log in" in done.text
    assert re.search(r"Casey Coderson\s*<span class=\"badge badge-danger\">Suspended</span>", done.text)
    assert (await browser.get("/account/profile")).status_code == 303  # the session ended
    assert (await login(make_browser(), "casey@example.org")).status_code == 400
    assert (await make_browser().get("/coders/casey-c")).status_code == 404  # the public profile is hidden
    assert await alerts.due_alerts(later) == []  # no job-alert mail while suspended
    again = await admin.submit(f"/admin/coders/{casey.id}/suspend", {"reason": "twice"}, follow=True)
    assert "This account is already suspended." in again.text

    log = (await admin.get("/admin/audit")).text
    assert "coder suspended" in log and "Spam applications" in log
    assert f'<a href="/admin/coders?q=casey%40example.org">casey@example.org</a>' in log

    back = await admin.submit(f"/admin/coders/{casey.id}/reinstate", {"reason": "Explained on the phone"},
                              follow=True)
    assert "Reinstated: this coder can log in again." in back.text
    assert (await login(make_browser(), "casey@example.org")).status_code == 303
    assert len(await alerts.due_alerts(later)) == 1
    actions = [e["action"] for e in await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id)]
    assert actions == ["coder suspended", "coder reinstated"]

    assert (await browser.get("/admin/coders")).status_code == 404  # only admins
    missing = await admin.submit("/admin/coders/999999/suspend", {"reason": "x"}, follow=True)
    assert "That coder account does not exist." in missing.text


async def test_the_audit_log_names_the_employer_and_the_listing_with_links(browser, make_browser):
    await register_employer(browser, org="Lakeshore Coding")
    admin = make_browser()
    await create_admin(admin)
    from employers.tables import Employer

    employer = await Employer.objects().get(Employer.name == "Lakeshore Coding")
    listing = await factories.make_listing(employer.id, "Remote E/M coder")
    removed = await admin.submit(f"/admin/reports/{listing.id}/remove", {"reason": "Duplicate"}, follow=True)
    assert "removed from the site" in removed.text
    log = (await admin.get("/admin/audit")).text
    assert f'<a href="/admin/employers/{employer.id}">Lakeshore Coding</a>' in log
    assert f'<a href="/admin/listings?q={listing.id}">Remote E/M coder</a>' in log
    assert "Employer #" not in log and "Listing #" not in log
    page = (await admin.get(f"/admin/employers/{employer.id}")).text
    assert f'<a href="/admin/listings?q={listing.id}">#{listing.id} Remote E/M coder</a></td><td>Removed</td>' in page


async def test_the_review_page_shows_listing_states_and_actors_in_words(browser, make_browser):
    await register_employer(browser)
    from employers.tables import Employer

    employer = await Employer.objects().first()
    listing = await factories.make_listing(employer.id, "Coder in review", status="awaiting_payment")
    from listings import service as listings

    await listings.transition(listing.id, "in_review", actor_kind="webhook", reason="paid")
    admin = make_browser()
    await create_admin(admin)
    page = (await admin.get("/admin/review")).text
    history = re.search(r"<h3>History</h3>.*?</table>", page, re.S).group(0)
    assert "<td>Awaiting payment</td><td>In review</td>" in history and "Stripe (payment)" in history
    assert "awaiting_payment" not in history and "in_review" not in history and "On-site" in page
