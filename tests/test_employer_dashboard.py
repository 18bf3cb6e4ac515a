"""The employer dashboard: listing cards (state, days left, views, applications, conversion) and the 30-day chart
of views and applications read from listing_daily_stats."""

from __future__ import annotations

import datetime as dt
import re

from employers import dashboard
from employers.tables import EmployerMember
from listings.tables import ListingDailyStat
from tests import factories
from tests.conftest import register_employer
from tests.test_query_budget import add_applicants


def card(page: str, title: str) -> dict[str, str]:
    """The figures of the listing card titled `title`: {"views": …, "applications": …, "when": …}."""
    pattern = r'<article class="card listing-card"(?:(?!</article>).)*?>' + re.escape(title) + r"</a>.*?</article>"
    found = re.search(pattern, page, re.S)
    assert found, f"no card for {title}"
    figures = dict(re.findall(r'<dd data-stat="(\w+)">(.*?)</dd>', found.group(0)))
    figures["when"] = re.sub(r"\s+", " ", re.search(r'listing-card-when">(.*?)</p>', found.group(0), re.S).group(1))
    figures["badges"] = " ".join(re.findall(r'<span class="badge[^"]*">(.*?)</span>', found.group(0)))
    return figures


async def test_cards_show_state_days_left_and_figures_and_the_chart_reads_the_last_30_days(browser, frozen_clock):
    await register_employer(browser)
    member = await EmployerMember.objects().first()
    now = frozen_clock.now()
    today = now.astimezone(dt.timezone.utc).date()
    live = await factories.make_listing(member.employer, "Outpatient Coder", now=now)
    draft = await factories.make_listing(member.employer, "Inpatient Coder", status="draft")
    await add_applicants(live.id, 2)
    await ListingDailyStat.insert(
        ListingDailyStat(listing=live.id, day=today, source="direct", views=30, applies=2),
        ListingDailyStat(listing=live.id, day=today, source="indeed", views=10, applies=0),
        ListingDailyStat(listing=live.id, day=today - dt.timedelta(days=3), source="direct", views=12, applies=1),
        ListingDailyStat(listing=live.id, day=today - dt.timedelta(days=45), source="direct", views=100, applies=0),
    )

    page = (await browser.get("/employer")).text
    figures = card(page, "Outpatient Coder")
    assert figures["badges"] == "Published"
    assert figures["when"].startswith("<strong>30 days left</strong> · expires ")  # published for 30 days just now
    assert (figures["views"], figures["applications"], figures["conversion"]) == ("152", "2", "1.3%")
    assert "52 views in the last 30 days" in page  # the sparkline's words: the 100 views 45 days ago are older
    assert card(page, "Inpatient Coder")["when"] == "Not published yet"
    assert card(page, "Inpatient Coder")["badges"] == "Draft" and draft.id

    chart = re.search(r'<section class="card chart".*?</section>', page, re.S).group(0)
    assert "52 views and 3 applications through the board" in chart
    assert f"the busiest day was {today:%b} {today.day}, {today.year} (40 views)" in chart
    views = re.search(r'class="series-views" points="([^"]+)"', chart).group(1).split()
    applies = re.search(r'class="series-applies" points="([^"]+)"', chart).group(1).split()
    assert len(views) == len(applies) == 30
    bottom = float(views[0].split(",")[1])
    assert float(views[-1].split(",")[1]) < float(views[-4].split(",")[1]) < bottom  # 40 today, 12 three days ago
    assert float(applies[-5].split(",")[1]) == bottom  # a quiet day sits on the axis
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th><td>(\d+)</td><td>(\d+)</td></tr>", chart)
    assert len(rows) == 30 and rows[0] == (f"{today:%b} {today.day}, {today.year}", "40", "2")  # newest first
    assert "style=" not in chart  # the CSP allows no inline style


async def test_a_listing_past_its_expiry_shows_when_it_ended_and_no_chart_without_listings(browser, frozen_clock):
    await register_employer(browser)
    member = await EmployerMember.objects().first()
    assert 'class="card chart"' not in (await browser.get("/employer")).text  # nothing to chart yet
    ended = frozen_clock.now() - dt.timedelta(days=2)
    await factories.make_listing(member.employer, "Old job", status="expired", expires_at=ended)
    page = (await browser.get("/employer")).text
    assert card(page, "Old job")["when"] == f"Ended {ended:%b} {ended.day}, {ended.year}"
    assert "0 views and 0 applications through the board." in page


def test_the_y_axis_ends_on_a_round_number_and_days_left_counts_whole_days():
    assert [dashboard.nice_top(v) for v in (0, 1, 3, 7, 10, 11, 42, 180, 999)] == [1, 1, 5, 10, 10, 20, 50, 200, 1000]
    now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc)
    assert dashboard.days_left(now + dt.timedelta(days=2, hours=1), now) == 3
    assert dashboard.days_left(now + dt.timedelta(hours=1), now) == 1
    assert dashboard.days_left(now - dt.timedelta(hours=1), now) == 0
    assert dashboard.days_left(None, now) is None
