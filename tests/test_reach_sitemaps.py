"""Sitemaps (issue 20): /sitemap.xml is an index whose children hold at most `sitemap_max_urls` URLs each
(50,000 by default, lowered here), with lastmod; listings, employer pages and the landing and pay pages."""

from __future__ import annotations

import dataclasses
import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from careers.core.config import Settings, load_settings
from employers.tables import Employer
from listings import service
from listings.tables import Credential, Listing
from listings.vocabulary import US_STATES
from tests import factories

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
LIMIT = 2


@pytest.fixture(scope="module")
def small_sitemaps(base_settings) -> Settings:
    return dataclasses.replace(base_settings, sitemap_max_urls=LIMIT)


@pytest.fixture
def settings(small_sitemaps) -> Settings:
    return small_sitemaps


def stamp(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


async def read_index(browser) -> dict[str, dict[str, dt.datetime | None]]:
    """child path -> {"lastmod": the index's lastmod, loc: lastmod for each URL in the child}."""
    index = ET.fromstring((await browser.get("/sitemap.xml")).content)
    assert index.tag == f"{SM}sitemapindex"
    children = {}
    for child in index.findall(f"{SM}sitemap"):
        path = child.findtext(f"{SM}loc").removeprefix("http://testserver")
        response = await browser.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
        urlset = ET.fromstring(response.content)
        assert urlset.tag == f"{SM}urlset"
        children[path] = {"lastmod": stamp(child.findtext(f"{SM}lastmod")),
                          **{u.findtext(f"{SM}loc"): stamp(u.findtext(f"{SM}lastmod")) for u in urlset}}
    return children


async def test_the_index_splits_listings_employers_and_pages_into_children_of_at_most_the_limit(browser):
    acme = await factories.make_employer("Acme Health")
    base = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    listings = [await factories.make_listing(acme, f"Coder {n}", now=base + dt.timedelta(days=n)) for n in range(5)]
    await factories.make_listing(acme, "Draft Coder", status="draft")
    await factories.make_listing(acme, "Hidden Coder", hidden=True)
    await factories.make_employer("Beta Clinic")

    children = await read_index(browser)
    assert all(len(urls) - 1 <= LIMIT for urls in children.values())  # "lastmod" is not a URL
    listing_children = [path for path in children if path.startswith("/sitemaps/listings-")]
    assert listing_children == ["/sitemaps/listings-1.xml", "/sitemaps/listings-2.xml", "/sitemaps/listings-3.xml"]
    listed = {loc: lastmod for path in listing_children for loc, lastmod in children[path].items() if loc != "lastmod"}
    rows = await Listing.objects().where(Listing.id.is_in([row.id for row in listings]))
    assert listed == {f"http://testserver/jobs/{row.id}/{row.slug}": row.updated_at.replace(microsecond=0)
                      for row in rows}
    for path in listing_children:  # the index's lastmod is the newest inside the child
        assert children[path]["lastmod"] == max(v for k, v in children[path].items() if k != "lastmod")

    employers = {loc for path, urls in children.items() if path.startswith("/sitemaps/employers-") for loc in urls}
    assert {"http://testserver/employers/acme-health", "http://testserver/employers/beta-clinic"} <= employers
    pages = {loc for path, urls in children.items() if path.startswith("/sitemaps/pages") for loc in urls} - {
        "lastmod"}
    codes = [row["code"] for row in await Credential.select(Credential.code).where(Credential.active.eq(True))]
    expected = {"/", "/jobs/", "/jobs/remote", "/pay", *[f"/jobs/state/{s}" for s in US_STATES],
                *[f"/jobs/credential/{c}" for c in codes], *[f"/pay/{c}" for c in codes]}
    assert pages == {f"http://testserver{path}" for path in expected}


async def test_children_follow_changes_and_unknown_children_are_404(browser):
    acme = await factories.make_employer("Acme Health")
    first = await factories.make_listing(acme, "Coder One")
    before = await read_index(browser)
    assert list(before["/sitemaps/listings-1.xml"]) == ["lastmod", f"http://testserver/jobs/{first.id}/{first.slug}"]

    second = await factories.make_listing(acme, "Coder Two")
    await service.close_listing(first.id)
    after = await read_index(browser)
    assert list(after["/sitemaps/listings-1.xml"]) == ["lastmod", f"http://testserver/jobs/{second.id}/{second.slug}"]

    await Employer.update({Employer.suspended: True}).where(Employer.id == acme.id)
    assert not [path for path in await read_index(browser) if path.startswith("/sitemaps/listings-")]
    for path in ("/sitemaps/listings-2.xml", "/sitemaps/listings-0.xml", "/sitemaps/other.xml", "/sitemaps/x"):
        assert (await browser.get(path)).status_code == 404


async def test_robots_txt_names_the_index(browser):
    text = (await browser.get("/robots.txt")).text
    assert "Sitemap: http://testserver/sitemap.xml" in text.splitlines()


def test_the_limit_is_the_protocols_50000_unless_set_lower():
    assert Settings().sitemap_max_urls == 50_000
    assert load_settings({"CAREERS_ENV": "test", "SECRET_KEY": "x" * 40}).sitemap_max_urls == 50_000
    env = {"CAREERS_ENV": "test", "SECRET_KEY": "x" * 40}
    assert load_settings({**env, "SITEMAP_MAX_URLS": "1000"}).sitemap_max_urls == 1000
    assert load_settings({**env, "SITEMAP_MAX_URLS": "90000"}).sitemap_max_urls == 50_000
