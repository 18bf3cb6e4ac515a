"""What the busiest pages cost the database, counted statement by statement (SQLite's trace callback, asyncpg's
query logger: what actually reaches the database), and the buffered view counts behind them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re

from careers.accounts.tables import User
from careers.coders.tables import Application
from careers.core.tables import OutboxRow
from employers.tables import EmployerMember
from listings import stats
from listings.tables import ListingDailyStat
from tests import factories
from tests.conftest import register_coder, register_employer
from tests.waiting import apoll

PROFILE = {"name": "Casey Coder", "zip": "60614", "credentials": ["CPC"], "year_CPC": "2019", "handle": "casey-page"}
WRITES = ("insert", "update", "delete", "begin", "commit")


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().lower().startswith(WRITES)]


async def published(employer, title: str = "Remote CPC coder", **changes):
    job = {"required": ("CPC",), "preferred": ("CRC",), "work_mode": "remote", "remote_states": ("IL", "IN"),
           "settings": ("profee",)}
    return await factories.make_listing(employer, title, **(job | changes))


async def add_applicants(listing_id: int, count: int, first: int = 0) -> None:
    """`count` applications with profile snapshots, written straight to the table (the page only reads them)."""
    users = await User.insert(*[User(email=f"applicant{first + n}@example.org", role="coder", password_hash="x",
                                     display_name=f"Applicant {first + n}") for n in range(count)]).returning(User.id)
    await Application.insert(*[Application(
        listing=listing_id, coder=u["id"], listing_coder=f"{listing_id}:{u['id']}", stage="submitted",
        profile_snapshot=json.dumps({"name": f"Applicant {u['id']}", "state": "IL",
                                     "credentials": [{"code": "CPC", "year_earned": 2019}]}),
    ) for u in users])


# ---- the listing page: at most three statements on a warm process ------------------------------------------


async def test_a_listing_page_costs_at_most_three_statements_and_writes_nothing(browser, make_browser, statements):
    listing = await published("Acme Health")
    path = f"/jobs/{listing.id}/{listing.slug}"
    assert (await browser.get(path)).status_code == 200  # warm: connections open, the taxonomy cached

    statements.clear()
    anonymous = await browser.get(path)
    assert anonymous.status_code == 200 and "Remote CPC coder" in anonymous.text
    assert "Certified Professional Coder" in anonymous.text  # the credential's name, from the cached taxonomy
    assert len(statements) == 1, statements  # the listing, its employer and details
    assert writes(statements) == []

    coder = make_browser()
    await register_coder(coder, "casey@example.org")
    assert (await coder.submit("/account/profile", PROFILE)).status_code == 303
    await coder.get(path)
    statements.clear()
    page = await coder.get(path)
    assert page.status_code == 200
    assert "Required: CPC — you hold it" in page.text and "Save this job" in page.text
    assert len(statements) <= 3, statements  # the session, the listing, the coder panel
    assert writes(statements) == []


async def test_views_are_buffered_and_flushed_into_the_daily_table_in_one_statement(browser, statements):
    first = await published("Acme Health")
    second = await published("Acme Health", "Inpatient coder", work_mode="onsite", remote_states=())
    for listing, views in ((first, 3), (second, 2)):
        for _ in range(views):
            assert (await browser.get(f"/jobs/{listing.id}/{listing.slug}")).status_code == 200
    assert await ListingDailyStat.count() == 0  # nothing written while pages were served

    statements.clear()
    assert await stats.flush() == 2
    assert len(statements) == 1 and statements[0].lstrip().upper().startswith("INSERT"), statements
    await browser.get(f"/jobs/{first.id}/{first.slug}")
    await stats.flush()  # adds to today's row
    rows = await ListingDailyStat.select().order_by(ListingDailyStat.listing)
    today = dt.datetime.now(dt.timezone.utc).date()
    assert [(r["listing"], r["day"], r["source"], r["views"]) for r in rows] == [
        (first.id, today, "direct", 4), (second.id, today, "direct", 2)]
    assert (await stats.totals([first.id, second.id, 999])) == {
        first.id: {"views": 4, "apply_clicks": 0, "applies": 0},
        second.id: {"views": 2, "apply_clicks": 0, "applies": 0},
        999: {"views": 0, "apply_clicks": 0, "applies": 0}}


async def test_the_flusher_writes_every_period_and_once_more_when_stopped(browser):
    listing = await published("Acme Health")
    path = f"/jobs/{listing.id}/{listing.slug}"
    stop = asyncio.Event()
    flusher = asyncio.create_task(stats.flush_every(stop, seconds=0.05))

    async def views() -> int:
        return (await stats.totals([listing.id]))[listing.id]["views"]

    await browser.get(path)
    assert await apoll(lambda: views(), timeout=10) == 1  # written by the periodic flush
    await browser.get(path)
    stop.set()  # as the app's lifespan does at shutdown
    await asyncio.wait_for(flusher, timeout=10)
    assert await views() == 2 and stats.pending() == 0


async def test_a_failed_flush_keeps_the_counts_for_the_next_one(browser, monkeypatch):
    listing = await published("Acme Health")
    await browser.get(f"/jobs/{listing.id}/{listing.slug}")

    async def refuse(*args):
        raise RuntimeError("database away")

    monkeypatch.setattr(stats.db, "fetch", refuse)
    try:
        await stats.flush()
    except RuntimeError:
        pass
    monkeypatch.undo()
    await browser.get(f"/jobs/{listing.id}/{listing.slug}")
    await stats.flush()
    assert (await stats.totals([listing.id]))[listing.id]["views"] == 2


# ---- apply: one short transaction -------------------------------------------------------------------------------


async def test_an_apply_is_one_short_transaction_with_one_insert_for_all_the_mail(browser, make_browser, statements):
    await register_employer(browser)
    member = await EmployerMember.objects().first()
    listing = await published(member.employer)
    colleague = await User.insert(User(email="colleague@acmehealth.org", role="employer", password_hash="x",
                                       display_name="Colin")).returning(User.id)
    await EmployerMember.insert(EmployerMember(employer=member.employer, user=colleague[0]["id"], role="member"))
    coder = make_browser()
    await register_coder(coder, "casey@example.org")
    assert (await coder.submit("/account/profile", PROFILE)).status_code == 303
    before = await OutboxRow.count()

    statements.clear()
    applied = await coder.submit(f"/jobs/{listing.id}/apply", {"cover_note": "Hello"})
    assert applied.status_code == 303, applied.text
    begin = next(i for i, s in enumerate(statements) if s.upper().startswith("BEGIN"))
    commit = next(i for i, s in enumerate(statements) if s.upper().startswith("COMMIT"))
    inside = statements[begin + 1:commit]
    assert [s.split()[2].strip('"') for s in inside] == ["applications", "application_events", "outbox"], inside
    assert await OutboxRow.count() == before + 2  # both members' mails, one statement
    mails = await OutboxRow.select(OutboxRow.payload).where(OutboxRow.id > 0).order_by(OutboxRow.id)
    texts = [json.loads(m["payload"])["text"] for m in mails[-2:]]
    app = await Application.objects().first()
    assert all(f"/employer/applications/{app.id}\n" in t and "They hold every required credential" in t
               for t in texts)
    await stats.flush()
    assert (await stats.totals([listing.id]))[listing.id] == {"views": 0, "apply_clicks": 1, "applies": 1}


# ---- employer pages: constant in the number of applicants and listings --------------------------------------


async def _count(client, path: str, statements: list[str]) -> int:
    await client.get(path)  # warm
    statements.clear()
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return len(statements)


async def test_the_applicant_list_costs_the_same_for_one_and_for_twenty_applicants(browser, statements):
    await register_employer(browser)
    member = await EmployerMember.objects().first()
    listing = await published(member.employer)
    path = f"/employer/listings/{listing.id}/applicants"
    await add_applicants(listing.id, 1)
    one = await _count(browser, path, statements)
    await add_applicants(listing.id, 19, first=1)
    many = await _count(browser, path, statements)
    page = await browser.get(path)
    assert page.text.count("Applicant ") >= 20
    assert many == one, statements
    assert one <= 5


async def test_the_employer_dashboard_costs_the_same_for_one_and_for_ten_listings(browser, statements):
    await register_employer(browser)
    member = await EmployerMember.objects().first()
    first = await published(member.employer)
    await add_applicants(first.id, 2)
    one = await _count(browser, "/employer", statements)
    for n in range(9):
        listing = await published(member.employer, f"Coder number {n}")
        await add_applicants(listing.id, 1, first=10 + n)
        stats.count_view(listing.id)
    await stats.flush()
    many = await _count(browser, "/employer", statements)
    assert many == one, statements
    assert one <= 5
    page = await browser.get("/employer")
    row = re.search(r'<tr>\s*<td data-label="Listing"><a href="/employer/listings/%d/applicants">.*?</tr>'
                    % first.id, page.text, re.S)
    cells = dict(re.findall(r'<td data-label="([^"]+)">(.*?)</td>', row.group(0), re.S))
    assert (cells["Views"], cells["Apply clicks"], cells["Applications"]) == ("0", "0", "2")
