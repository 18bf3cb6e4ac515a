"""Attack: stored (and reflected) XSS in every free-text field, on every page that shows it.

Each field of the world carries `<script>`, an attribute break-out with `onerror`, and (Markdown
fields) `javascript:` links, plus a marker naming the field. A page passes when the marker is in
its visible text (the field really was rendered) and the parsed HTML holds nothing executable:
no script but our own files and JSON-LD that is still JSON, no event-handler attribute, no
script URL, no injected image or embedding element.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from careers.core.tables import OutboxRow
from careers.worker import Worker
from tests.attack.conftest import active_content, payload
from tests.search_helpers import fresh_index

# page -> (who looks, the fields whose marker must be visible there)
PAGES = {
    "/jobs/{listing_a}": ("anonymous", ["listing_title", "listing_description", "listing_benefits", "employer_name"]),
    "/employers/{employer_slug_a}": ("anonymous", ["listing_title", "employer_name", "employer_about"]),
    "/coders/{handle_a}": ("anonymous", ["profile_name", "profile_headline", "profile_summary"]),
    "/employer": ("employer_a", ["listing_title", "review_title", "employer_name"]),
    "/employer/organisation": ("employer_a", ["employer_about"]),
    "/employer/team": ("employer_a", ["employer_name"]),
    "/employer/listings/{listing_a}": ("employer_a", ["listing_title"]),
    "/employer/listings/{listing_a}/preview": ("employer_a", ["listing_title", "listing_description",
                                                               "listing_benefits", "employer_name"]),
    "/employer/listings/{listing_a}/edit": ("employer_a", ["listing_title", "listing_description"]),
    "/employer/listings/{listing_a}/applicants": ("employer_a", ["profile_name", "profile_headline", "cover_note"]),
    "/employer/applications/{application_a}": ("employer_a", ["listing_title", "profile_name", "profile_headline",
                                                              "profile_summary", "cover_note", "note"]),
    "/account/applications": ("coder_a", ["listing_title", "employer_name"]),
    "/account/saved": ("coder_a", ["listing_title", "employer_name"]),
    "/account/alerts": ("coder_a", ["alert_query"]),
    "/account/profile": ("coder_a", []),
    "/admin/review": ("admin", ["review_title", "employer_name"]),
    "/admin/reports": ("admin", ["listing_title", "employer_name", "report_detail"]),
    "/admin/employers": ("admin", ["employer_name"]),
    "/admin/listings": ("admin", ["listing_title", "review_title", "employer_name"]),
    "/admin/mail": ("admin", ["listing_title"]),
    "/admin/audit": ("admin", []),
    "/admin": ("admin", []),
}


def check_page(html: str, settings, markers: dict[str, str], expected: list[str], where: str) -> None:
    found = active_content(html, settings)
    assert found.problems == [], f"{where}: executable markup from user data: {found.problems}"
    text = "".join(found.text)
    missing = [name for name in expected if markers[name] not in text]
    assert missing == [], f"{where}: these fields were not rendered, so the check proves nothing: {missing}"


async def test_hostile_text_in_every_free_text_field_renders_inert_on_every_page_that_shows_it(world, settings):
    people = world.people()
    for template, (who, expected) in PAGES.items():
        path = template.format(**vars(world))
        response = await people[who].get(path, follow_redirects=True)
        assert response.status_code == 200, f"{path} as {who}: {response.status_code}"
        check_page(response.text, settings, world.markers, expected, f"{path} as {who}")


async def test_search_results_and_their_highlights_render_hostile_listings_inert(world, settings):
    await fresh_index(settings)
    await Worker(settings).drain()
    title_marker, description_marker = world.markers["listing_title"], world.markers["listing_description"]
    for query in (title_marker, description_marker, "coder", "script alert", "onerror"):
        response = await world.anonymous.get("/jobs", params={"q": query})
        assert response.status_code == 200
        assert 'id="degraded-notice"' not in response.text, "search fell back to the database: no highlights tested"
        check_page(response.text, settings, world.markers, ["listing_title"], f"/jobs?q={query}")
        if query == title_marker:
            assert "<mark>" in response.text, "the search page highlighted nothing"
    api = await world.anonymous.get("/api/v1/listings", params={"q": title_marker})
    assert api.status_code == 200 and api.headers["content-type"].startswith("application/json")
    assert any(hit["id"] == world.listing_a for hit in api.json()["hits"])


REFLECTED = [{"q": payload("XSS-reflected-q")}, {"q": "coder", "zip": payload("XSS-reflected-zip")},
             {"q": "coder", "sort": payload("XSS-reflected-sort")},
             {"q": "coder", "credential": payload("XSS-reflected-credential")},
             {"q": "coder", "page": payload("XSS-reflected-page")}, {"state": payload("XSS-reflected-state")}]


async def test_search_parameters_are_never_reflected_as_markup(browser, settings):
    for params in REFLECTED:
        response = await browser.get("/jobs", params=params)
        assert response.status_code in (200, 400)
        assert active_content(response.text, settings).problems == [], params
    for path in ("/jobs/credential/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/jobs/state/%22%3E%3Cimg%20src%3Dx%3E",
                 "/login?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E"):
        response = await browser.get(path)
        assert response.status_code in (200, 400, 404)
        assert active_content(response.text, settings).problems == [], path


async def test_feeds_and_the_sitemap_stay_well_formed_xml_with_hostile_titles(world):
    for path in ("/jobs.rss", "/sitemap.xml"):
        response = await world.anonymous.get(path)
        assert response.status_code == 200
        root = ET.fromstring(response.content)  # raises if a title broke the XML
        tags = {element.tag.rsplit("}", 1)[-1] for element in root.iter()}
        assert not tags & {"script", "img", "iframe"}, f"{path}: markup elements {tags}"
    rss = await world.anonymous.get("/jobs.rss")
    assert world.markers["listing_title"] in rss.text


async def test_html_mail_parts_carry_no_executable_markup(world, settings):
    rows = await OutboxRow.select(OutboxRow.payload).where(OutboxRow.kind == "mail").output(load_json=True)
    html_parts = [r["payload"]["html"] for r in rows if r["payload"].get("html")]
    for html in html_parts:
        found = active_content(html, settings)
        assert found.problems == [], found.problems
    texts = " ".join(r["payload"]["text"] for r in rows)
    assert world.markers["profile_name"] in texts  # the employer's new-application mail names the coder
