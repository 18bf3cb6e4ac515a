"""Search against the real Meilisearch: exact credentials, synonyms, geo radius, remote eligibility,
qualification, the API's validation, highlighting, and the listing lifecycle reaching the index."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from careers.core.geo import miles_between, zip_point
from listings import service as listings_service
from search import api as search_api
from search import service
from search.client import admin_client, wait_task
from search.schemas import ListingSearchResponse
from search.documents import documents_for
from search.service import parse_query, search_listings
from tests.search_helpers import fresh_index, ids, make_listing


@pytest.fixture(autouse=True)
async def search_index(settings, database):
    await fresh_index(settings)
    yield


async def api(browser, **params) -> dict:
    response = await browser.get("/api/v1/listings", params=params)
    assert response.status_code == 200, response.text
    return response.json()


# ---- "done means" 1: exact credentials and synonyms ---------------------------------------------


async def test_certified_professional_coder_finds_cpc_listings_first(browser, worker):
    cpc = await make_listing("Outpatient Coder", required=["CPC"], settings=["outpatient"])
    await make_listing("Medical Biller", required=["CPB"], description="Certified professional biller wanted")
    await make_listing("Apprentice Coder", required=["CPC-A"], description="Future certified professional coder")
    await worker.drain()
    body = await api(browser, q="certified professional coder")
    assert body["hits"] and body["hits"][0]["id"] == cpc
    assert all("CPC" in h["credentials_required"] + h["credentials_any_of"] + h["credentials_preferred"]
               for h in body["hits"])


@pytest.mark.parametrize("q", ["CPC", "cpc", "Cpc remote"])
async def test_cpc_search_never_returns_cpb_only_listings_even_when_they_mention_cpt_codes(browser, worker, q):
    cpc = await make_listing("Remote Coder", required=["CPC"], work_mode="remote",
                             description="Code remote E/M visits")
    cpb = await make_listing("Remote Biller", required=["CPB"], work_mode="remote",
                             description="Remote billing with CPT codes and CPC-level accuracy expected")
    cpca = await make_listing("Remote Apprentice", any_of=["CPC-A"], work_mode="remote")
    cpco = await make_listing("Remote Compliance", required=["CPCO"], work_mode="remote")
    cpcd = await make_listing("Remote Derm Coder", preferred=["CPCD"], work_mode="remote")
    await worker.drain()
    found = ids(await api(browser, q=q))
    assert cpc in found
    assert not {cpb, cpca, cpco, cpcd} & set(found)


async def test_ccs_search_never_returns_ccs_p_only_listings(browser, worker):
    ccs = await make_listing("Inpatient Coder", required=["CCS"], settings=["inpatient"])
    ccs_p = await make_listing("Physician Coder", required=["CCS-P"], description="CCS-P required; CCS welcome later")
    await worker.drain()
    assert ids(await api(browser, q="CCS")) == [ccs]
    assert ids(await api(browser, q="ccs-p")) == [ccs_p]
    assert ids(await api(browser, credential="ccs")) == [ccs]


async def test_alias_cpc_h_means_coc(browser, worker):
    coc = await make_listing("Hospital Outpatient Coder", required=["COC"])
    await make_listing("Pro Coder", required=["CPC"])
    await worker.drain()
    assert ids(await api(browser, q="CPC-H")) == [coc]
    assert ids(await api(browser, credential="cpc-h")) == [coc]


async def test_profee_finds_professional_fee_listings(browser, worker):
    profee = await make_listing("Coder, physician billing", required=["CPC"], settings=["profee"])
    described = await make_listing("Physician Coder", required=["CCS-P"], description="Professional fee coding")
    other = await make_listing("Inpatient DRG Coder", required=["CCS"], settings=["inpatient"])
    await worker.drain()
    found = ids(await api(browser, q="profee"))
    assert profee in found and described in found and other not in found
    assert profee in ids(await api(browser, q="professional fee"))
    assert ids(await api(browser, setting="profee")) == [profee]


async def test_glossary_synonyms_ra_and_wfh(browser, worker):
    ra = await make_listing("Risk Adjustment Coder", required=["CRC"], settings=["risk_adjustment"])
    wfh = await make_listing("Coder (remote)", required=["CIC"], work_mode="remote")
    await worker.drain()
    assert ra in ids(await api(browser, q="HCC"))
    assert wfh in ids(await api(browser, q="wfh"))


# ---- "done means" 2: ZIP radius -------------------------------------------------------------------


async def test_zip_radius_returns_a_listing_20_miles_away_and_not_one_40_miles_away(browser, worker):
    houston = zip_point("77002")
    assert 19 < miles_between(houston, zip_point("77578")) < 21  # Manvel, TX
    assert 39 < miles_between(houston, zip_point("77304")) < 41  # Conroe, TX
    near = await make_listing("Manvel Coder", required=["CPC"], zip_code="77578", city="Manvel", state="TX")
    mid = await make_listing("Houston Coder", required=["CPC"], zip_code="77002", city="Houston", state="TX")
    far = await make_listing("Conroe Coder", required=["CPC"], zip_code="77304", city="Conroe", state="TX")
    remote = await make_listing("Remote Coder", required=["CPC"], work_mode="remote", zip_code="77002", state="TX")
    await worker.drain()

    body = await api(browser, zip="77002", radius="25", sort="distance")
    assert ids(body) == [mid, near]
    assert far not in ids(body) and remote not in ids(body)
    distances = [h["distance_miles"] for h in body["hits"]]
    assert distances[0] < 1 and 19 < distances[1] < 21

    page = await browser.get("/jobs", params={"zip": "77002", "radius": "25", "sort": "distance"})
    assert page.status_code == 200
    assert "Manvel Coder" in page.text and "Conroe Coder" not in page.text
    assert "20.0 miles away" in page.text
    assert page.text.index("Houston Coder") < page.text.index("Manvel Coder")

    # a ZIP alone means 50 miles
    assert set(ids(await api(browser, zip="77002"))) == {mid, near, far}


# ---- "done means" 3: remote eligibility -----------------------------------------------------------


async def test_remote_all_states_appears_for_any_state_but_tx_fl_only_not_for_ca(browser, worker):
    everywhere = await make_listing("Remote Coder, all states", required=["CPC"], work_mode="remote")
    south = await make_listing("Remote Coder, TX and FL", required=["CPC"], work_mode="remote",
                               remote_states=["TX", "FL"])
    onsite = await make_listing("Onsite Coder", required=["CPC"], zip_code="77002", state="TX")
    await worker.drain()
    assert ids(await api(browser, remote_state="CA")) == [everywhere]
    assert set(ids(await api(browser, remote_state="tx"))) == {everywhere, south}
    assert onsite not in ids(await api(browser, remote_state="TX"))
    page = await browser.get("/jobs", params={"remote_state": "CA"})
    assert "Remote Coder, all states" in page.text and "TX and FL" not in page.text


# ---- filters, sorts, facets ----------------------------------------------------------------------


async def test_filters_min_pay_entry_level_and_pay_sort(browser, worker):
    high = await make_listing("Senior Auditor", required=["CPMA"], pay=(80000, 95000, "year"))
    hourly = await make_listing("Hourly Coder", required=["CPC"], pay=(25, 30, "hour"), entry_level_ok=True)
    chart = await make_listing("Per-chart Coder", required=["CPC"], pay=(3, 5, "chart"), entry_level_ok=True)
    await worker.drain()
    assert set(ids(await api(browser, min_pay="60000"))) == {high, hourly}  # 30/h = 62,400 a year; per chart never
    assert set(ids(await api(browser, entry_level="true"))) == {hourly, chart}
    assert ids(await api(browser, sort="pay")) == [high, hourly, chart]
    body = await api(browser)
    assert body["facets"]["credential"] == {"CPMA": 1, "CPC": 2}
    assert body["facets"]["employment_type"] == {"full_time": 3}
    assert body["total"] == 3 and body["degraded"] is False


async def test_newest_sort_and_pagination(browser, worker):
    made = [await make_listing(f"Coder number {i}", required=["CPC"]) for i in range(5)]
    await worker.drain()
    first = await api(browser, sort="newest", per_page="2")
    second = await api(browser, sort="newest", per_page="2", page="2")
    assert first["total"] == 5 and first["per_page"] == 2 and second["page"] == 2
    assert ids(first) + ids(second) == list(reversed(made))[:4]


async def test_featured_listing_is_lifted_among_equally_relevant_ones(browser, worker):
    plain = await make_listing("Coder", required=["CPC"])
    featured = await make_listing("Coder", required=["CPC"], featured=True)
    newer = await make_listing("Coder", required=["CPC"])
    await worker.drain()
    assert ids(await api(browser, q="coder")) == [featured, newer, plain]
    assert ids(await api(browser, sort="newest"))[0] == newer


# ---- "jobs I qualify for" --------------------------------------------------------------------------


async def test_qualified_for_needs_every_required_credential_and_an_open_remote_state(settings, worker):
    both = await make_listing("Needs CPC and CRC", required=["CPC", "CRC"])
    cpc_only = await make_listing("Needs CPC", required=["CPC"])
    any_of = await make_listing("CPC or CCS", any_of=["CPC", "CCS"])
    any_ccs = await make_listing("CCS or CIC", any_of=["CCS", "CIC"])
    remote_tx = await make_listing("Remote TX only", required=["CPC"], work_mode="remote", remote_states=["TX"])
    remote_all = await make_listing("Remote anywhere", required=["CPC"], work_mode="remote")
    hybrid_far = await make_listing("Hybrid in Florida", required=["CPC"], work_mode="hybrid", state="FL")
    await worker.drain()

    query = parse_query({}).replace(qualified_for=(frozenset({"CPC"}), "CA"), per_page=100)
    found = {h["id"] for h in (await search_listings(query, settings)).hits}
    assert found == {cpc_only, any_of, remote_all, hybrid_far}

    query = query.replace(qualified_for=(frozenset({"CPC", "CRC"}), "TX"))
    found = {h["id"] for h in (await search_listings(query, settings)).hits}
    assert found == {both, cpc_only, any_of, remote_tx, remote_all, hybrid_far}
    assert any_ccs not in found

    # the degraded path applies the same rule
    degraded = await service.search_database(query, settings)
    assert {h["id"] for h in degraded.hits} == found


async def test_published_after_keeps_only_newer_listings(settings, worker):
    await make_listing("Old news", required=["CPC"])
    cutoff = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=1)
    later = await make_listing("Fresh", required=["CPC"], status="draft")
    await listings_service.transition(later, "published", actor_kind="admin", now=cutoff + dt.timedelta(seconds=5))
    await worker.drain()
    query = parse_query({}).replace(published_after=cutoff)
    assert [h["id"] for h in (await search_listings(query, settings)).hits] == [later]
    assert [h["id"] for h in (await service.search_database(query, settings)).hits] == [later]


async def test_qualified_param_is_refused_for_anonymous_api_callers(browser):
    response = await browser.get("/api/v1/listings", params={"qualified": "true"})
    assert response.status_code == 400 and "qualified" in response.json()["fields"]


# ---- validation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, field",
    [
        ({"credential": "CPX"}, "credential"),
        ({"setting": "spaceship"}, "setting"),
        ({"specialty": "astrology"}, "specialty"),
        ({"state": "ZZ"}, "state"),
        ({"remote_state": "XX"}, "remote_state"),
        ({"zip": "1234"}, "zip"),
        ({"zip": "00000"}, "zip"),
        ({"radius": "25"}, "radius"),
        ({"zip": "77002", "radius": "0"}, "radius"),
        ({"zip": "77002", "radius": "501"}, "radius"),
        ({"sort": "distance"}, "sort"),
        ({"sort": "cheapest"}, "sort"),
        ({"per_page": "101"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"min_pay": "lots"}, "min_pay"),
        ({"entry_level": "maybe"}, "entry_level"),
    ],
)
async def test_invalid_parameters_answer_400_naming_the_field(browser, params, field):
    response = await browser.get("/api/v1/listings", params=params)
    assert response.status_code == 400
    body = response.json()
    assert field in body["fields"] and body["error"] and body["detail"]
    page = await browser.get("/jobs", params=params)
    assert page.status_code == 400 and body["fields"][field] in page.text.replace("&#39;", "'")


async def test_several_invalid_parameters_are_all_named(browser):
    response = await browser.get("/api/v1/listings", params={"credential": "nope", "per_page": "500", "radius": "5"})
    assert set(response.json()["fields"]) == {"credential", "per_page", "radius"}


async def test_codes_and_values_are_case_insensitive(browser, worker):
    listing = await make_listing("Remote inpatient coder", required=["CCS"], settings=["inpatient"], work_mode="remote",
                                 state="TX")
    await worker.drain()
    assert ids(await api(browser, credential="ccs", setting="INPATIENT", work_mode="Remote", state="tx")) == [listing]


# ---- the page -----------------------------------------------------------------------------------------


async def test_highlighting_escapes_listing_text_and_marks_matches(browser, worker):
    await make_listing("<script>alert(1)</script> Coder", required=["CPC"],
                       description="Great <b>team</b> of coders & auditors, 3 < 5")
    await worker.drain()
    page = await browser.get("/jobs", params={"q": "coder"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Coder</mark>" in page.text
    # pasted HTML is formatting, not text; what is text is escaped; the prefix match is marked
    assert "Great team of <mark>coder</mark>s &amp; auditors, 3 &lt; 5" in page.text


async def test_empty_state_suggests_removing_a_filter(browser, worker):
    await make_listing("Inpatient Coder", required=["CCS"], settings=["inpatient"])
    await worker.drain()
    page = await browser.get("/jobs", params={"credential": "CCS", "setting": "profee"})
    assert page.status_code == 200 and "No jobs found" in page.text
    assert 'href="/jobs?credential=CCS"' in page.text  # the same search without the setting
    assert "Remove setting Professional fee" in page.text


async def test_search_page_shows_facets_featured_badge_and_links_to_listing_pages(browser, worker):
    listing = await make_listing("Featured Coder", required=["CPC"], featured=True, settings=["profee"])
    await make_listing("Plain Coder", required=["CCS"], settings=["profee"])
    await worker.drain()
    page = await browser.get("/jobs")
    assert page.status_code == 200
    assert f'href="/jobs/{listing}/featured-coder"' in page.text
    assert "Featured</span>" in page.text
    assert "Professional fee <span class=\"count\">(2)</span>" in page.text
    # credentials are a checkbox list with counts (issue 16: no Ctrl-click listboxes)
    assert 'value="CPC"><span>CPC — Certified Professional Coder <span class="count">(1)</span>' in page.text
    assert '<fieldset class="filter-group" id="f-credential">' in page.text
    for control in ("f-q", "f-zip", "f-radius", "f-remote_state", "f-min_pay", "f-sort"):
        assert f'for="{control}"' in page.text


async def test_landing_pages_reuse_the_search(browser, worker):
    cpc = await make_listing("Texas Coder", required=["CPC"], zip_code="77002", city="Houston", state="TX")
    remote = await make_listing("Remote Coder", required=["CCS"], work_mode="remote")
    await worker.drain()
    by_credential = await browser.get("/jobs/credential/cpc")
    assert by_credential.status_code == 200 and "Texas Coder" in by_credential.text
    assert "Remote Coder" not in by_credential.text
    by_state = await browser.get("/jobs/state/tx")
    assert "Texas Coder" in by_state.text and "Remote Coder" not in by_state.text
    remote_page = await browser.get("/jobs/remote")
    assert "Remote Coder" in remote_page.text and "Texas Coder" not in remote_page.text
    assert (await browser.get("/jobs/credential/nope")).status_code == 404
    assert (await browser.get("/jobs/state/zz")).status_code == 404
    assert cpc and remote


# ---- the lifecycle reaches the index ---------------------------------------------------------------


async def test_listing_is_searchable_after_publish_and_gone_after_close_expire_hide(browser, worker):
    closing = await make_listing("Closing Coder", required=["CIC"])
    expiring = await make_listing("Expiring Coder", required=["CIC"])
    hiding = await make_listing("Hidden Coder", required=["CIC"])
    draft = await make_listing("Draft Coder", required=["CIC"], status="draft")
    assert ids(await api(browser, credential="CIC")) == []  # not before the worker ran
    await worker.drain()
    assert set(ids(await api(browser, credential="CIC"))) == {closing, expiring, hiding}

    await listings_service.transition(closing, "closed", actor_kind="employer")
    await listings_service.transition(expiring, "expired", actor_kind="system")
    await listings_service.set_hidden(hiding, True, actor_kind="admin", reason="reported")
    await worker.drain()
    assert ids(await api(browser, credential="CIC")) == []

    await listings_service.set_hidden(hiding, False, actor_kind="admin")
    await worker.drain()
    assert ids(await api(browser, credential="CIC")) == [hiding]
    assert draft not in ids(await api(browser))


async def test_api_hits_carry_the_listing_fields_and_an_excerpt(browser, worker):
    listing = await make_listing("Remote Risk Adjustment Coder", required=["CRC"], preferred=["CPC"],
                                 settings=["risk_adjustment"], work_mode="remote", remote_states=["TX", "FL"],
                                 description="Review charts. " * 60, pay=(25, 31.5, "hour"))
    await worker.drain()
    hit = (await api(browser, q="risk adjustment"))["hits"][0]
    assert hit["id"] == listing and hit["url"] == f"http://testserver/jobs/{listing}/remote-risk-adjustment-coder"
    assert hit["employer"] == {"name": "Acme Health", "slug": "acme-health", "verified": True,
                               "response": {"median_first_action_days": None, "status_within_14_days": None,
                                            "applications_counted": 0}}  # issue 18: every key, always
    assert hit["credentials_required"] == ["CRC"] and hit["credentials_preferred"] == ["CPC"]
    assert hit["remote_states"] == ["FL", "TX"] and hit["status"] == "published"
    assert hit["pay_unit"] == "hour" and hit["pay_max"] == 31.5 and hit["pay_annual_max"] == 65520
    assert hit["published_at"].endswith("Z") and hit["expires_at"] > hit["published_at"]
    assert "description" not in hit and "description_html" not in hit and "distance_miles" not in hit
    assert "<" not in hit["description_excerpt"] and len(hit["description_excerpt"]) <= 301


async def test_search_api_is_in_the_openapi_schema(browser):
    schema = (await browser.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/listings"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"q", "credential", "zip", "radius", "sort", "page", "per_page", "remote_state", "min_pay"} <= names
    assert "400" in operation["responses"]


async def test_signed_in_coder_sees_only_jobs_they_qualify_for(browser, worker):
    from careers.accounts.tables import User
    from careers.coders.tables import CoderCredential, CoderProfile
    from tests.conftest import register_coder

    ok = await make_listing("CPC job", required=["CPC"])
    needs_crc = await make_listing("CPC and CRC job", required=["CPC", "CRC"])
    remote_tx = await make_listing("Remote TX job", required=["CPC"], work_mode="remote", remote_states=["TX"])
    remote_ca = await make_listing("Remote CA job", required=["CPC"], work_mode="remote", remote_states=["CA"])
    await worker.drain()
    await register_coder(browser, "qualified@example.org")
    user = await User.objects().get(User.email == "qualified@example.org")
    profile = await CoderProfile.objects().where(CoderProfile.user == user.id).first()
    if profile is None:
        profile = CoderProfile(user=user.id, handle="qualified-coder")
        await profile.save()
    await CoderProfile.update({CoderProfile.state: "CA"}).where(CoderProfile.id == profile.id)
    await CoderCredential.insert(CoderCredential(profile=profile.id, credential="CPC"))

    body = await api(browser, qualified="true")
    assert set(ids(body)) == {ok, remote_ca}
    page = await browser.get("/jobs", params={"qualified": "true"})
    assert "CPC job" in page.text and "Remote CA job" in page.text
    assert "CPC and CRC job" not in page.text and "Remote TX job" not in page.text
    assert needs_crc and remote_tx


# ---- the degraded path honours every filter ---------------------------------------------------------

PARITY_QUERIES = [
    {"credential": ["CPC", "CRC"]},
    {"q": ["CCS"]},
    {"q": ["certified professional coder"]},
    {"setting": ["inpatient"]},
    {"specialty": ["cardiology"]},
    {"employment_type": ["contract"]},
    {"work_mode": ["remote", "hybrid"]},
    {"state": ["TX"]},
    {"remote_state": ["CA"]},
    {"remote_state": ["FL"]},
    {"zip": ["77002"], "radius": ["25"]},
    {"zip": ["77002"], "sort": ["distance"]},
    {"entry_level": ["true"]},
    {"min_pay": ["60000"]},
    {"sort": ["pay"]},
    {"credential": ["CPC"], "state": ["TX"], "min_pay": ["50000"], "work_mode": ["onsite"]},
]


async def test_database_path_honours_every_filter_exactly_like_meilisearch(settings, worker):
    await make_listing("Houston CPC", required=["CPC"], zip_code="77002", city="Houston", state="TX",
                       settings=["profee"], specialties=["cardiology"], pay=(55000, 70000, "year"))
    await make_listing("Manvel CCS", required=["CCS"], zip_code="77578", city="Manvel", state="TX",
                       settings=["inpatient"], employment_type="contract", pay=(30, 35, "hour"), entry_level_ok=True)
    await make_listing("Conroe hybrid", any_of=["CPC", "CCS"], work_mode="hybrid", zip_code="77304", state="TX",
                       pay=(3, 4, "chart"))
    await make_listing("Remote CRC, TX and FL", required=["CRC"], work_mode="remote", remote_states=["TX", "FL"],
                       zip_code="77002", state="TX", pay=(90000, 99000, "year"))
    await make_listing("Remote CCS-P anywhere", required=["CCS-P"], preferred=["CPC"], work_mode="remote",
                       specialties=["cardiology"], entry_level_ok=True)
    await make_listing("Denver CPC-A", required=["CPC-A"], zip_code="80202", city="Denver", state="CO",
                       pay=(40000, 45000, "year"))
    await worker.drain()
    for params in PARITY_QUERIES:
        query = parse_query({**params, "per_page": ["100"]})
        engine = await search_listings(query, settings)
        database = await service.search_database(query, settings)
        assert not engine.degraded and database.degraded
        engine_ids = [h["id"] for h in engine.hits]
        database_ids = [h["id"] for h in database.hits]
        assert engine_ids, params  # each query selects something, so the comparison means something
        if query.sort in ("pay", "distance"):
            assert database_ids == engine_ids, params
        else:
            assert sorted(database_ids) == sorted(engine_ids), params
        assert database.total == len(database_ids), params
        if query.origin:
            assert [h["distance_miles"] for h in database.hits] == pytest.approx(
                [h["distance_miles"] for h in engine.hits], abs=0.2), params


async def test_the_api_answers_field_for_field_what_the_page_path_gives(settings, worker):
    """search.api passes each document's stored API hit through (no highlights asked, nothing decoded per hit); it
    must answer exactly what converting the page path's hits does, for every filter and with distances."""
    await make_listing("Houston CPC", required=["CPC"], any_of=["CCS", "COC"], preferred=["CRC"], zip_code="77002",
                       city="Houston", state="TX", settings=["profee"], specialties=["cardiology"],
                       code_sets=["cpt"], pay=(55000, 70000, "year"), min_years=3, benefits="401(k) match",
                       application_deadline=dt.date(2031, 1, 31), apply_url="https://jobs.example.org/1",
                       requisition_id="REQ-1", featured=True)
    await make_listing("Remote CRC, TX and FL", required=["CRC"], work_mode="remote", remote_states=["TX", "FL"],
                       pay=(30, 35.5, "hour"), entry_level_ok=True, settings=["inpatient"], employment_type="contract")
    await make_listing("Conroe hybrid", any_of=["CPC", "CCS"], work_mode="hybrid", zip_code="77304", state="TX",
                       pay=(3, 4, "chart"))
    await make_listing("Remote CCS-P anywhere", required=["CCS-P"], work_mode="remote")
    await worker.drain()
    for params in [*PARITY_QUERIES, {"q": ["houston"]}, {}]:
        query = parse_query({**params, "per_page": ["100"]})
        answer = await search_api.search(query, settings)
        msgspec.json.decode(answer, type=ListingSearchResponse)  # the documented schema, whatever the path
        typed = msgspec.json.decode(answer)
        page = msgspec.json.decode(search_api.untyped(await search_listings(query, settings)))
        assert typed["hits"], params  # each query finds something, so the comparison compares something
        assert typed == page, params


@pytest.mark.parametrize("stored", ["missing", {}, "a string", [1, 2]])
async def test_an_index_document_of_another_shape_is_still_answered_through_the_untyped_path(browser, settings,
                                                                                          worker, caplog, stored):
    """A document without a usable stored API hit (an index left by the release before it, or damaged) costs
    speed, never the API: its answer is still whole JSON, from the page path."""
    listing = await make_listing("Coder of another shape", required=["CPC"], featured=True)
    await worker.drain()
    odd = (await documents_for([listing]))[listing]
    if stored == "missing":
        del odd["api_hit"]
    else:
        odd["api_hit"] = stored
    client = admin_client(settings)
    # adding replaces the whole document: the index now holds it without `api_hit`
    wait_task(client, client.index(settings.meili_index).add_documents([odd]).task_uid)
    answer = await api(browser, q="another shape")
    assert ids(answer) == [listing] and answer["degraded"] is False
    assert answer["hits"][0]["title"] == "Coder of another shape" and answer["hits"][0]["featured"] is True
    assert "the index answered in an unexpected shape" in caplog.text


async def test_a_credential_word_ranks_listings_that_require_it_above_those_that_only_prefer_it(browser, worker):
    """Relevance for 'CPC': required or any-of CPC first, preferred-only after, whatever their age."""
    required = await make_listing("Outpatient Coder", required=["CPC"])
    any_of = await make_listing("Pro Fee Coder", any_of=["CPC", "CCS-P"])
    preferred = await make_listing("Inpatient Coder", required=["CCS"], preferred=["CPC"])  # the newest
    await worker.drain()
    for q in ("CPC", "certified professional coder"):
        order = ids(await api(browser, q=q))
        assert set(order) == {required, any_of, preferred}
        assert order[-1] == preferred, (q, order)


async def test_an_empty_filter_value_is_refused_by_the_api_and_ignored_by_the_page(browser):
    response = await browser.get("/api/v1/listings?credential=&setting=&q=coder")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"credential", "setting"}
    page = await browser.get("/jobs?credential=&setting=&q=coder")
    assert page.status_code == 200
