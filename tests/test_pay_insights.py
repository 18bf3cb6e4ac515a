"""Pay insights: GET /api/v1/pay against a hand computation, the null figures below five listings, the pay
pages with their SVG charts, and the listing page's link to them."""

from __future__ import annotations

import datetime as dt
import json
import statistics

from careers.core import clock
from listings import pay, service
from tests.factories import make_employer, make_listing


async def board_with_cpc_pay():
    """Six CPC listings that count (hourly and yearly, CPC named as required, any-of or preferred) and the ones
    that must not: per chart, CPC-A only, hidden, draft and expired."""
    employer = await make_employer("Acme Health", verified=True)
    await make_listing(employer, "CPC coder TX", required=["CPC"], pay=(20, 25, "hour"),
                       zip_code="75201", city="Dallas", state="TX", settings=["profee"])
    await make_listing(employer, "Outpatient coder", any_of=["CPC", "COC"], pay=(22, 30, "hour"),
                       zip_code="75201", city="Dallas", state="TX", settings=["outpatient"])
    await make_listing(employer, "Pro-fee coder", preferred=["CPC"], pay=(50000, 60000, "year"), settings=["profee"])
    # Named twice (required and any-of): still one listing, counted once.
    await make_listing(employer, "E/M coder", required=["CPC"], any_of=["CPC", "CEMC"], pay=(48000, 48000, "year"))
    await make_listing(employer, "Remote CPC", work_mode="remote", zip_code="", city="", state="",
                       required=["CPC"], pay=(27.5, 27.5, "hour"))
    await make_listing(employer, "Senior auditor", any_of=["CPC"], pay=(61000, 70001, "year"), settings=["audit"])
    await make_listing(employer, "Per-chart coder", required=["CPC"], pay=(2, 3, "chart"))
    await make_listing(employer, "Apprentice", required=["CPC-A"], pay=(30000, 30000, "year"))
    await make_listing(employer, "Hidden CPC", required=["CPC"], pay=(100000, 120000, "year"), hidden=True)
    await make_listing(employer, "Draft CPC", required=["CPC"], pay=(90000, 90000, "year"), status="draft")
    await make_listing(employer, "Old CPC", required=["CPC"], pay=(10, 10, "hour"), status="expired",
                       published_at=clock.now() - dt.timedelta(days=40))
    return employer


async def test_pay_api_equals_a_hand_computation_over_hourly_and_yearly_listings(browser):
    await board_with_cpc_pay()
    # By hand: annual midpoints (hourly × 2,080), per-chart, CPC-A-only, hidden, draft and expired left out:
    # 20–25/h → 46,800; 22–30/h → 54,080; 50,000–60,000 → 55,000; 48,000; 27.50/h → 57,200; 61,000–70,001 → 65,500.5
    # sorted [46800, 48000, 54080, 55000, 57200, 65500.5], inclusive quartiles at positions 1.25, 2.5, 3.75 (0-based):
    # p25 = 48000 + 0.25 × (54080 − 48000) = 49,520; p50 = (54080 + 55000) / 2 = 54,540;
    # p75 = 55000 + 0.75 × (57200 − 55000) = 56,650; max 65,500.5 → 65,501 (whole dollars, half up).
    answer = await browser.get("/api/v1/pay?credential=CPC")
    assert answer.status_code == 200
    assert answer.json() == {"count": 6, "unit": "year", "p25": 49520, "p50": 54540, "p75": 56650, "min": 46800,
                             "max": 65501}
    values = [46800, 48000, 54080, 55000, 57200, 65500.5]
    assert [49520, 54540, 56650] == statistics.quantiles(values, n=4, method="inclusive")
    # Aliases and lower case name the same credential; a second credential widens the set (any of).
    assert (await browser.get("/api/v1/pay?credential=cpc")).json()["count"] == 6
    assert (await browser.get("/api/v1/pay?credential=CPC&credential=CPC-A")).json()["count"] == 7


async def test_pay_figures_are_null_below_five_listings_and_filters_combine(browser):
    await board_with_cpc_pay()
    texas = (await browser.get("/api/v1/pay?credential=CPC&state=tx")).json()
    assert texas == {"count": 2, "unit": "year", "p25": None, "p50": None, "p75": None, "min": None, "max": None}
    profee = (await browser.get("/api/v1/pay", params={"credential": "CPC", "setting": "profee"})).json()
    assert profee["count"] == 2 and profee["p50"] is None
    remote = (await browser.get("/api/v1/pay?credential=CPC&work_mode=remote")).json()
    assert remote["count"] == 1 and remote["max"] is None
    assert (await browser.get("/api/v1/pay?credential=CCS")).json()["count"] == 0


async def test_pay_api_names_each_bad_parameter_and_is_documented(browser):
    answer = await browser.get("/api/v1/pay?credential=NOPE&state=ZZ")
    assert answer.status_code == 400
    assert set(answer.json()["fields"]) == {"credential", "state"}
    schema = (await browser.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/pay"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"credential", "setting", "state", "work_mode"}
    assert "400" in operation["responses"] and "inclusive" in operation["description"]
    assert "PaySummary" in json.dumps(schema["components"])


async def test_pay_page_draws_range_bars_and_a_trend_and_explains_the_method(browser, frozen_clock):
    employer = await make_employer("Acme Health", verified=True)
    now = clock.now()
    for i, (low, high) in enumerate([(20, 24), (21, 25), (22, 26), (23, 27), (24, 30), (25, 31)]):
        await make_listing(employer, f"TX coder {i}", required=["CPC"], pay=(low, high, "hour"), zip_code="75201",
                           city="Dallas", state="TX", settings=["profee"])
    for i in range(5):  # published two months ago and expired since: in the trend, not in today's figures
        await make_listing(employer, f"Old coder {i}", required=["CPC"], pay=(50000 + i * 1000, 60000, "year"),
                           status="expired", published_at=now - dt.timedelta(days=62))
    moved = await browser.get("/pay/cpc?by=state")
    assert (moved.status_code, moved.headers["location"]) == (301, "/pay/CPC?by=state")
    page = await browser.get("/pay/CPC?by=state")
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and "Texas" in text and "6 listings" in text
    assert "2,080" in text and "midpoint" in text  # the method is explained
    assert text.count('class="trend-dot"') == 2  # this month and the month two months ago
    by_setting = await browser.get("/pay/CPC?by=setting")
    assert "Professional fee" in by_setting.text
    assert (await browser.get("/pay/NOPE")).status_code == 404
    overview = await browser.get("/pay")
    assert overview.status_code == 200 and 'href="/pay/CPC"' in overview.text
    assert await pay.pay_page_paths() == ["/pay", "/pay/CPC"]


async def test_listing_page_links_to_pay_for_its_credential_and_state(browser):
    listing = await make_listing("Acme Health", "CPC coder TX", required=["CPC"], zip_code="75201", city="Dallas",
                                 state="TX")
    page = await browser.get(service.listing_path(listing))
    assert 'href="/pay/CPC?state=TX"' in page.text and "CPC in TX" in page.text


async def test_demo_pay_listings_fill_the_charts(browser, frozen_clock):
    from listings import pay_demo
    from listings.tables import Listing

    clock.set_now(dt.datetime(2026, 11, 25, 15, tzinfo=dt.UTC))
    employers = [await make_employer("Acme Health", verified=True), await make_employer("Beacon Coding")]
    credentials = await service.credential_lookup()
    created = await pay_demo.seed_pay_listings([e.id for e in employers], credentials, clock.now(), set())
    assert created == pay_demo.DEMO_PAY_LISTINGS
    assert await Listing.count().where(Listing.status == "expired") == pay_demo.HISTORY_MONTHS * pay_demo.HISTORY_PER_MONTH
    page = (await browser.get("/pay/CPC")).text
    for state in ("Texas", "California", "Colorado", "Florida", "New York"):
        assert f">{state} (6)</text>" in page
    assert page.count('class="trend-dot"') == 12  # every month of the last year has a median
