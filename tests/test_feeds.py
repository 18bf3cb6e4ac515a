"""Feeds: the sitemaps and /jobs.rss list exactly what visitors may see, as well-formed, properly escaped XML."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

from employers.tables import Employer
from listings.tables import Listing
from tests import factories
from tests.conftest import register_employer

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


async def make_listing(employer_id: int, title: str, **options) -> Listing:
    return await factories.make_listing(employer_id, title, **({"zip_code": "78701", "city": "Austin", "state": "TX",
                                                                "pay": ("23.50", 28, "hour")} | options))


async def sitemap_urls(browser) -> dict[str, str | None]:
    """Every <url> of every child the sitemap index names: loc -> lastmod."""
    index = ET.fromstring((await browser.get("/sitemap.xml")).content)
    assert index.tag == f"{SM}sitemapindex"
    entries: dict[str, str | None] = {}
    for child in index.findall(f"{SM}sitemap"):
        response = await browser.get(child.findtext(f"{SM}loc").removeprefix("http://testserver"))
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
        urlset = ET.fromstring(response.content)
        assert urlset.tag == f"{SM}urlset"
        entries.update({u.findtext(f"{SM}loc"): u.findtext(f"{SM}lastmod") for u in urlset.findall(f"{SM}url")})
    return entries


async def acme(browser) -> Employer:
    await register_employer(browser)
    return await Employer.objects().get(Employer.slug == "acme-health")


async def test_sitemap_is_well_formed_and_lists_published_listings_and_employer_pages(browser, make_browser):
    employer = await acme(browser)
    live = await make_listing(employer.id, "Inpatient Coder III")
    draft = await make_listing(employer.id, "Draft ED Coder", status="draft")
    hidden = await make_listing(employer.id, "Hidden Auditor", hidden=True)
    no_slug = await make_listing(employer.id, "Slugless Coder", slug="")

    entries = await sitemap_urls(make_browser())
    listing_url = f"http://testserver/jobs/{live.id}/inpatient-coder-iii"
    assert listing_url in entries
    assert f"http://testserver/jobs/{no_slug.id}/job" in entries
    assert not [u for u in entries if f"/jobs/{draft.id}/" in u or f"/jobs/{hidden.id}/" in u]
    assert "http://testserver/employers/acme-health" in entries

    updated = (await Listing.objects().get(Listing.id == live.id)).updated_at
    lastmod = dt.datetime.fromisoformat(entries[listing_url])
    assert abs((lastmod - updated).total_seconds()) < 1
    assert entries["http://testserver/employers/acme-health"]


async def test_suspended_employers_and_their_listings_leave_the_sitemap(browser, make_browser):
    employer = await acme(browser)
    listing = await make_listing(employer.id, "Coder")
    await Employer.update({Employer.suspended: True}).where(Employer.id == employer.id)
    urls = await sitemap_urls(make_browser())
    assert "http://testserver/employers/acme-health" not in urls
    assert not [u for u in urls if f"/jobs/{listing.id}/" in u]


async def test_rss_is_well_formed_escaped_and_lists_only_published_listings(browser, make_browser):
    employer = await acme(browser)
    await Employer.update({Employer.name: "Acme <Health> & Sons"}).where(Employer.id == employer.id)
    live = await make_listing(employer.id, "Coder & Auditor <Remote> \x0b\"CPC\"", work_mode="remote")
    await make_listing(employer.id, "Draft Coder", status="draft")
    await make_listing(employer.id, "Hidden Coder", hidden=True)

    response = await make_browser().get("/jobs.rss")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/rss+xml")
    assert b"<Remote>" not in response.content  # escaped, not markup
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel.findtext("title") and channel.findtext("link") == "http://testserver/"
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ['Coder & Auditor <Remote> "CPC" — Acme <Health> & Sons']
    item = items[0]
    assert item.findtext("link") == f"http://testserver/jobs/{live.id}/{live.slug}"
    assert item.find("guid").get("isPermaLink") == "true"
    assert "$23.50–$28 per hour" in item.findtext("description") and "Remote" in item.findtext("description")
    published = (await Listing.objects().get(Listing.id == live.id)).published_at
    from email.utils import parsedate_to_datetime

    assert abs((parsedate_to_datetime(item.findtext("pubDate")) - published).total_seconds()) < 1


async def test_rss_holds_the_50_newest_listings(browser, make_browser):
    employer = await acme(browser)
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    rows = [Listing(employer=employer.id, title=f"Coder {n}", slug=f"coder-{n}", status="published",
                    work_mode="onsite", employment_type="full_time", pay_min=Decimal("20"), pay_max=Decimal("25"),
                    pay_unit="hour", published_at=base + dt.timedelta(hours=n)) for n in range(55)]
    await Listing.insert(*rows)
    items = ET.fromstring((await make_browser().get("/jobs.rss")).content).find("channel").findall("item")
    assert len(items) == 50
    assert items[0].findtext("title").startswith("Coder 54 ") and items[-1].findtext("title").startswith("Coder 5 ")


async def test_empty_feeds_are_still_valid_xml(make_browser):
    browser = make_browser()
    assert ET.fromstring((await browser.get("/sitemap.xml")).content).tag == f"{SM}sitemapindex"
    assert not [u for u in await sitemap_urls(browser) if "/jobs/" in u and u.split("/jobs/")[1][:1].isdigit()]
    assert ET.fromstring((await browser.get("/jobs.rss")).content).find("channel/item") is None
