"""Attack: taking a competitor's listing off the site with reports.

Three throwaway accounts, or three accounts on one network, must not hide a listing; a paid listing of a
verified employer is never hidden by reports at all, it goes to the top of the admins' list instead.
"""

from __future__ import annotations

import datetime as dt

from billing.tables import Order, OrderStatus, Plan
from careers.accounts import service as accounts
from careers.accounts.tables import AuditEntry
from careers.core import clock
from listings.moderation.tables import Report
from listings.tables import Listing
from tests.conftest import create_admin, register_coder
from tests.factories import make_employer, make_listing
from tests.reliability.conftest import csrf_token, make_coders


async def reporters(make_browser, settings, addresses: list[str], prefix: str) -> list:
    """Confirmed coder accounts, each signed in from its own address."""
    ids = await make_coders(len(addresses), prefix)
    browsers = []
    for uid, address in zip(ids, addresses):
        browser = make_browser(address)
        await csrf_token(browser)
        browser.cookies.set("cc_session", await accounts.start_session(uid, settings, second_factor_ok=True))
        browsers.append(browser)
    return browsers


async def report_all(browsers, listing_id: int) -> None:
    for n, browser in enumerate(browsers):
        answer = await browser.submit(f"/jobs/{listing_id}/report", {"reason": "scam", "detail": f"report {n}"})
        assert answer.status_code == 200, answer.text


async def is_hidden(listing_id: int) -> bool:
    return (await Listing.objects().get(Listing.id == listing_id)).hidden


async def test_three_throwaway_accounts_reporting_from_three_networks_leave_the_listing_up(
        frozen_clock, make_browser, settings):
    listing = await make_listing("Rival Health", "Remote CPC coder")
    throwaways = []
    for n, address in enumerate(("203.0.113.9", "198.51.100.9", "192.0.2.9")):
        throwaways.append(make_browser(address))
        await register_coder(throwaways[-1], f"throwaway{n}@example.net")  # email confirmed, account minutes old
    await report_all(throwaways, listing.id)
    assert await Report.count().where(Report.listing == listing.id) == 3
    assert not await is_hidden(listing.id)
    notes = {r["count_note"] for r in await Report.select(Report.count_note)}
    assert notes == {"the account was less than 24 hours old"}


async def test_three_established_accounts_on_one_24_network_count_once(frozen_clock, make_browser, settings):
    listing = await make_listing("Rival Health", "Remote CPC coder")
    office = await reporters(make_browser, settings, ["203.0.113.10", "203.0.113.11", "203.0.113.200"], "office")
    clock.advance(dt.timedelta(hours=25))
    await report_all(office, listing.id)
    assert not await is_hidden(listing.id)
    # One IPv6 /48 is one network too.
    v6 = await reporters(make_browser, settings, ["2001:db8:7:1::1", "2001:db8:7:2::1"], "six")
    clock.advance(dt.timedelta(hours=25))
    await report_all(v6, listing.id)
    assert not await is_hidden(listing.id)

    admin = make_browser()
    clock.set_now(None)  # the authenticator's code follows the wall clock
    await create_admin(admin)
    page = (await admin.get("/admin/reports")).text
    assert "2 counting reports" in page and page.count("Counts toward hiding.") == 2
    assert page.count("from the same network (203.0.113.0/24) already counts") == 2
    assert "from the same network (2001:db8:7::/48) already counts" in page


async def test_a_paid_verified_employers_listing_reported_three_times_stays_up_and_jumps_the_admin_queue(
        frozen_clock, make_browser, settings):
    verified = await make_employer("Trusted Health", verified=True)
    paid = await make_listing(verified, "Inpatient coder (CCS)")
    plan = await Plan.objects().first()
    await Order.insert(Order(employer=verified.id, kind="posting", plan=plan.id, listing=paid.id,
                             amount_cents=plan.price_cents, status=OrderStatus.PAID))
    other = await make_listing(await make_employer("Shady Staffing"), "Coding job, fee required")
    people = await reporters(make_browser, settings, ["203.0.113.1", "198.51.100.1", "192.0.2.1"], "reporter")
    clock.advance(dt.timedelta(hours=25))
    await report_all(people, other.id)
    assert await is_hidden(other.id)  # the control: three counting reports do hide an ordinary listing
    await report_all(people, paid.id)
    assert not await is_hidden(paid.id)
    assert (await make_browser().get(f"/jobs/{paid.id}", follow_redirects=True)).status_code == 200
    assert await AuditEntry.exists().where((AuditEntry.action == "reports escalated")
                                           & (AuditEntry.listing_id == paid.id))

    admin = make_browser()
    clock.set_now(None)  # the authenticator's code follows the wall clock
    await create_admin(admin)
    page = (await admin.get("/admin/reports")).text
    assert page.index("Inpatient coder (CCS)") < page.index("Coding job, fee required")
    assert "Decide first" in page
