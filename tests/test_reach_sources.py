"""Where applicants came from: each listing view and apply counted under its traffic source (utm_source, else the
Referer host, else the source the visitor arrived with, else direct), shown to the employer per listing."""

from __future__ import annotations

import re

from careers.coders.alerts import digest_bodies
from careers.coders.tables import JobAlert
from listings import sources, stats
from listings.tables import Listing
from tests.conftest import register_employer
from tests.test_applicants import coder_applies, employer_id, make_listing

# (query, Referer) of one visitor each, and the source each must count under
VISITS = [
    ("?utm_source=indeed", None, "indeed"),
    ("?utm_source=indeed", "https://www.google.com/", "indeed"),  # our feed's tag wins over the engine in between
    ("", "https://www.google.com/search?q=cpc+coder", "google"),
    ("", "https://www.google.co.uk/", "google"),
    ("", "https://cn.bing.com/search?q=coder", "bing"),
    ("?utm_source=linkedin", None, "linkedin"),
    ("", "https://lnkd.in/abc", "linkedin"),
    ("?utm_source=alert", None, "alert"),
    ("", None, "direct"),
    ("", "http://testserver/jobs?q=cpc", "direct"),  # our own search page, no arrival source remembered
    ("", "https://forum.example.net/t/coders", "other"),
    ("?utm_source=newsletter", None, "other"),
]


def source_rows(html: str) -> dict[str, list[int]]:
    """{source label: [views, apply clicks, applications]} from the traffic-source table of a page."""
    section = re.search(r'<section class="traffic-sources".*?</section>', html, re.S)
    assert section, "no traffic-source table on the page"
    rows = re.findall(r"<td>([^<]+)</td>\s*<td>(\d+)</td>\s*<td>(\d+)</td>\s*<td>(\d+)</td>", section.group(0))
    return {label: [int(v), int(c), int(a)] for label, v, c, a in rows}


async def test_the_employer_dashboard_shows_views_and_applies_by_source(browser, make_browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    path = f"/jobs/{listing_id}/{(await Listing.objects().get(Listing.id == listing_id)).slug}"
    for query, referer, _ in VISITS:
        page = await make_browser().get(path + query, headers={"referer": referer} if referer else {})
        assert page.status_code == 200
    coder = make_browser()  # arrives from Google, signs up, reads the job again from the board, applies
    await coder.get(path, headers={"referer": "https://www.google.com/"})
    assert coder.cookies.get(sources.COOKIE) == "google"  # the source's name only: nothing about the person
    await coder.get(path, headers={"referer": "http://testserver/jobs"})
    await coder_applies(coder, listing_id, "ann@example.org", resume=False)
    await stats.flush()

    expected = {sources.LABELS[s]: [0, 0, 0] for _, _, s in VISITS}
    for _, _, source in VISITS:
        expected[sources.LABELS[source]][0] += 1
    expected["Google"] = [expected["Google"][0] + 2, 1, 1]
    for page in ("/employer", f"/employer/listings/{listing_id}"):
        shown = await browser.get(page)
        assert shown.status_code == 200
        assert source_rows(shown.text) == expected, page


async def test_an_external_apply_click_counts_for_the_arrival_source(browser, make_browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id(), apply_url="https://jobs.acmehealth.org/42")
    visitor = make_browser()
    await visitor.get(f"/jobs/{listing_id}/x?utm_source=linkedin", follow_redirects=True)  # a wrong slug redirects
    click = await visitor.get(f"/jobs/{listing_id}/external-apply")
    assert click.status_code == 303 and click.headers["location"] == "https://jobs.acmehealth.org/42"
    await stats.flush()
    assert source_rows((await browser.get(f"/employer/listings/{listing_id}")).text) == {"LinkedIn": [1, 1, 0]}


async def test_a_listing_without_visits_shows_no_source_table(browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    assert "traffic-sources" not in (await browser.get(f"/employer/listings/{listing_id}")).text


def test_alert_mail_links_carry_the_alert_source(settings):
    alert = JobAlert(id=1, email="coder@example.org", query="q=cpc", frequency="daily")
    text, html = digest_bodies(alert, [("CPC coder", "Remote", "/jobs/7/cpc-coder")], settings)
    assert f"{settings.base_url}/jobs/7/cpc-coder?utm_source=alert" in text
    assert f'href="{settings.base_url}/jobs/7/cpc-coder?utm_source=alert"' in html
