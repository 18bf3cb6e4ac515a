"""Search a step smarter: disjunctive facets (Meilisearch and the database path), codes that match only
themselves, the "date posted" filter, and similar jobs on the listing page."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from careers import local
from careers.core.geo import miles_between, zip_point
from listings.tables import Listing
from search import service
from search.service import FACET_FILTERS, parse_query, search_listings
from tests.conftest import Browser
from tests.search_helpers import fresh_index, ids, make_listing


@pytest.fixture(autouse=True)
async def search_index(settings, database):
    await fresh_index(settings)
    yield


async def api(browser, **params) -> dict:
    response = await browser.get("/api/v1/listings", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def down(settings):
    """These settings with Meilisearch unreachable (nothing listens on that port): searches degrade."""
    return settings.replace(meili_url=f"http://127.0.0.1:{local.free_port()}")


async def degraded_browser(settings) -> Browser:
    from careers.app import create_app

    return Browser(transport=httpx.ASGITransport(app=create_app(down(settings))), base_url="http://testserver")


# ---- disjunctive facets ---------------------------------------------------------------------------


async def a_small_board() -> None:
    await make_listing("Outpatient Coder", required=["CPC"], settings=["outpatient"], zip_code="77002",
                       city="Houston", state="TX")
    await make_listing("Inpatient Coder", required=["CCS"], settings=["inpatient"], zip_code="77578", city="Manvel",
                       state="TX", employment_type="contract")
    await make_listing("Hybrid Coder", any_of=["CPC", "CCS"], settings=["outpatient", "inpatient"], work_mode="hybrid",
                       zip_code="77304", city="Conroe", state="TX")
    await make_listing("Remote Risk Coder", required=["CRC"], preferred=["CPC"], settings=["risk_adjustment"],
                       work_mode="remote", zip_code="", city="", state="")
    await make_listing("Remote Profee Coder", required=["CPC"], settings=["profee"], work_mode="remote",
                       remote_states=["FL"], zip_code="33101", city="Miami", state="FL", employment_type="part_time")
    await make_listing("Denver Auditor", required=["CCS-P"], settings=["profee"], zip_code="80202", city="Denver",
                       state="CO")


DISJUNCTIVE_QUERIES = [
    {"credential": ["CPC"]},
    {"credential": ["CPC"], "setting": ["outpatient"]},
    {"q": ["coder"], "credential": ["CCS"], "state": ["TX"], "work_mode": ["onsite"]},
    {"employment_type": ["full_time"], "work_mode": ["remote", "hybrid"]},
    {"credential": ["CPC", "CRC"], "setting": ["profee", "risk_adjustment"], "employment_type": ["part_time"]},
    {"zip": ["77002"], "radius": ["50"], "credential": ["CPC"], "setting": ["inpatient"]},
    {"q": ["CPC"], "setting": ["profee"]},
]


async def assert_disjunctive(run, params: dict) -> dict:
    """Every count in every facet group equals the total of choosing that value instead (for a group with a
    filter of its own) or as well (for a group without one); values that would find nothing are left out."""
    query = parse_query({**params, "per_page": ["100"]})
    result = await run(query)
    for name in FACET_FILTERS:
        for value in ("CPC", "CCS", "CRC", "CCS-P", "outpatient", "inpatient", "profee", "risk_adjustment", "onsite",
                      "hybrid", "remote", "TX", "FL", "CO", "full_time", "contract", "part_time"):
            try:
                chosen = parse_query({**params, name: [value], "per_page": ["100"]})
            except service.SearchParamError:
                continue  # not a value of this group
            total = (await run(chosen)).total
            assert result.facets[name].get(value, 0) == total, (params, name, value, result.facets[name])
        assert all(count > 0 for count in result.facets[name].values())
    return result.facets


async def test_facet_counts_are_disjunctive_in_meilisearch_and_on_the_database_path(settings, worker):
    await a_small_board()
    await worker.drain()

    async def engine(query):
        result = await search_listings(query, settings)
        assert not result.degraded
        return result

    async def database(query):
        return await service.search_database(query, settings)

    for params in DISJUNCTIVE_QUERIES:
        assert await assert_disjunctive(engine, params) == await assert_disjunctive(database, params), params


async def test_choosing_cpc_keeps_the_other_credentials_counts_in_the_api_and_on_the_page(settings, browser, worker):
    await a_small_board()
    await worker.drain()
    ccs_total = (await api(browser, credential="CCS"))["total"]
    crc_total = (await api(browser, credential="CRC"))["total"]
    async with await degraded_browser(settings) as degraded:
        for client, is_degraded in ((browser, False), (degraded, True)):
            body = await api(client, credential="CPC")
            assert body["degraded"] is is_degraded
            assert body["facets"]["credential"]["CCS"] == ccs_total == 2
            assert body["facets"]["credential"]["CRC"] == crc_total == 1
            assert body["facets"]["credential"]["CPC"] == body["total"] == 4
            assert body["facets"]["state"] == {"TX": 2, "FL": 1}  # other groups: within the CPC result
            page = await client.get("/jobs", params={"credential": "CPC"})
            assert ('value="CPC" checked><span>CPC — Certified Professional Coder <span class="count">(4)</span>'
                    in page.text)
            assert 'value="CCS"><span>CCS — Certified Coding Specialist <span class="count">(2)</span>' in page.text


async def test_the_api_documents_the_facet_semantics(browser):
    operation = (await browser.get("/schema/openapi.json")).json()["paths"]["/api/v1/listings"]["get"]
    assert "Facets are disjunctive" in operation["description"]
    assert "posted_within" in {p["name"] for p in operation["parameters"]}


# ---- codes match only themselves ------------------------------------------------------------------


@pytest.mark.parametrize("code, neighbour", [("99213", "99214"), ("0FB98ZX", "0FB98ZY"), ("J45.909", "J45.901")])
async def test_a_code_matches_only_itself_never_its_neighbour(browser, worker, code, neighbour):
    wanted = await make_listing(f"E/M Coder {code}", description=f"Code {code} visits all day.")
    await make_listing(f"E/M Coder {neighbour}", description=f"Code {neighbour} visits all day.")
    await make_listing("E/M Coder", description=f"Mostly {neighbour}, with a few other visits.")
    await worker.drain()
    for q in (code, code.lower(), f"coder {code}", f"{code} coder"):
        assert ids(await api(browser, q=q)) == [wanted], q


async def test_typo_tolerance_is_off_for_numbers_in_the_index_settings(settings):
    from search.client import run_admin

    current = await run_admin(settings, lambda c: c.index(settings.meili_index).get_settings())
    assert current["typoTolerance"]["disableOnNumbers"] is True


def test_only_words_holding_a_digit_become_phrases():
    assert service.exact_codes("coder 99213") == 'coder "99213"'
    assert service.exact_codes('J45.909 "pro fee" 0FB98ZX') == '"J45.909" "pro fee" "0FB98ZX"'
    assert service.exact_codes('"E/M 99213" remote') == '"E/M 99213" remote'  # already a phrase: left alone
    assert service.exact_codes("remote profee") == "remote profee"


# ---- date posted ---------------------------------------------------------------------------------


async def test_posted_within_keeps_listings_published_in_the_last_n_days(settings, browser, worker, frozen_clock):
    now = frozen_clock.now()
    ages = {"hours": dt.timedelta(hours=20), "days": dt.timedelta(days=2, hours=12),
            "week": dt.timedelta(days=6), "fortnight": dt.timedelta(days=13), "month": dt.timedelta(days=25)}
    made = {name: await make_listing(f"Coder {name}", required=["CPC"], now=now - age) for name, age in ages.items()}
    # Their employers reconfirmed them today: a listing unconfirmed for 21 days would be paused (issue 18).
    await Listing.update({Listing.confirmed_at: now}).where(Listing.id.is_in(list(made.values())))
    await worker.drain()
    expected = {"1": {"hours"}, "3": {"hours", "days"}, "7": {"hours", "days", "week"},
                "14": {"hours", "days", "week", "fortnight"}, "30": set(ages)}
    async with await degraded_browser(settings) as degraded:
        for client in (browser, degraded):
            for days, names in expected.items():
                body = await api(client, posted_within=days)
                assert set(ids(body)) == {made[n] for n in names}, (days, body["degraded"])
        frozen_clock.advance(dt.timedelta(hours=5))  # the 20-hour-old listing is now past a day
        for client in (browser, degraded):
            assert ids(await api(client, posted_within="1")) == []
            assert set(ids(await api(client, posted_within="3"))) == {made["hours"], made["days"]}


async def test_posted_within_refuses_other_values_naming_the_field(browser):
    for value in ("2", "week", "-1"):
        response = await browser.get("/api/v1/listings", params={"posted_within": value})
        assert response.status_code == 400
        assert response.json()["fields"] == {"posted_within": "Date posted must be within 1, 3, 7, 14 or 30 days."}
    page = await browser.get("/jobs", params={"posted_within": "2"})
    assert page.status_code == 400 and "Date posted must be within 1, 3, 7, 14 or 30 days." in page.text


async def test_the_search_page_offers_date_posted_and_keeps_the_choice(browser, worker):
    await make_listing("Fresh Coder", required=["CPC"])
    await worker.drain()
    page = await browser.get("/jobs", params={"posted_within": "7"})
    assert page.status_code == 200 and "Fresh Coder" in page.text
    assert '<label for="f-posted_within">Date posted</label>' in page.text
    assert '<option value="7" selected>Past week</option>' in page.text
    empty = await browser.get("/jobs", params={"posted_within": "1", "credential": "CCS"})
    assert "Remove posted in the past 24 hours" in empty.text


# ---- similar jobs on the listing page -------------------------------------------------------------


def similar_titles(page_text: str) -> list[str]:
    if 'id="similar-heading"' not in page_text:
        return []
    section = page_text.split('id="similar-heading"', 1)[1].split("</section>", 1)[0]
    return [chunk.split("</a>", 1)[0].split(">", 1)[1] for chunk in section.split("<a href=")[1:]]


async def test_similar_jobs_share_a_credential_and_a_setting_nearest_first(browser, worker):
    current = await make_listing("Chicago CPC Coder", required=["CPC"], settings=["outpatient"], zip_code="60614")
    places = {"60601": "Chicago", "60004": "Arlington Heights", "60115": "DeKalb", "61602": "Peoria",
              "62701": "Springfield", "46204": "Indianapolis"}
    for zip_code, city in places.items():
        await make_listing(f"Coder in {city}", any_of=["CPC", "CRC"], settings=["outpatient", "profee"],
                           zip_code=zip_code, city=city, state="IL")
    await make_listing("Near but inpatient", required=["CPC"], settings=["inpatient"], zip_code="60601")
    await make_listing("Near but CCS", required=["CCS"], settings=["outpatient"], zip_code="60601")
    await make_listing("Near but a draft", required=["CPC"], settings=["outpatient"], zip_code="60601", status="draft")
    await worker.drain()
    listing_page = await browser.get(f"/jobs/{current}/chicago-cpc-coder")
    assert listing_page.status_code == 200
    origin = zip_point("60614")
    nearest = sorted(places, key=lambda z: miles_between(origin, zip_point(z)))[:5]
    assert similar_titles(listing_page.text) == [f"Coder in {places[z]}" for z in nearest]


async def test_similar_jobs_of_a_remote_listing_are_newest_first(browser, worker):
    now = dt.datetime.now(dt.UTC)
    current = await make_listing("Remote CRC Coder", required=["CRC"], settings=["risk_adjustment"],
                                 work_mode="remote", now=now - dt.timedelta(days=9))
    for days in (8, 1, 5, 3):
        await make_listing(f"Remote risk {days} days", preferred=["CRC"], settings=["risk_adjustment"],
                           work_mode="remote", now=now - dt.timedelta(days=days))
    await worker.drain()
    listing_page = await browser.get(f"/jobs/{current}/remote-crc-coder")
    assert similar_titles(listing_page.text) == [f"Remote risk {d} days" for d in (1, 3, 5, 8)]


async def test_the_listing_page_shows_no_similar_jobs_and_no_error_when_meilisearch_is_down(settings, worker):
    current = await make_listing("Outpatient Coder", required=["CPC"], settings=["outpatient"])
    await make_listing("Another Outpatient Coder", required=["CPC"], settings=["outpatient"])
    await worker.drain()
    async with await degraded_browser(settings) as degraded:
        page = await degraded.get(f"/jobs/{current}/outpatient-coder")
    assert page.status_code == 200 and "Outpatient Coder" in page.text
    assert similar_titles(page.text) == [] and "Similar jobs" not in page.text


async def test_a_missing_index_degrades_the_multi_search_to_the_database(settings, worker):
    listing = await make_listing("Outpatient Coder", required=["CPC"])
    result = await search_listings(parse_query({"credential": ["CPC"]}), settings.replace(meili_index="no_such_index"))
    assert result.degraded and ids({"hits": result.hits}) == [listing]
    assert result.facets["credential"] == {"CPC": 1}
