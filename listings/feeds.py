"""Feeds for crawlers and readers: /sitemap.xml and /jobs.rss.

Both read the listing tables directly and list only what a visitor can see:
published, unhidden listings of employers that are not suspended (and, in the
sitemap, those employers' public pages). XML is built with ElementTree, so
every text is escaped; characters XML 1.0 forbids are dropped first.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from email.utils import format_datetime

from litestar import Request, Response, get

from careers.core.config import Settings
from employers.tables import Employer
from listings import service as listing_service
from listings.tables import Listing
from listings.vocabulary import pay_text

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_MAX_URLS = 50_000  # the sitemap protocol's limit per file
RSS_ITEMS = 50
FEED_CACHE = "public, max-age=300"

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Text safe for an XML 1.0 document (ElementTree escapes &, < and > itself)."""
    return _NOT_XML.sub("", str(value or ""))


def w3c_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def listing_url(settings: Settings, listing_id: int, slug: str | None) -> str:
    return f"{settings.base_url}/jobs/{listing_id}/{slug or 'job'}"


def _visible():
    return listing_service.public_where() & (Listing.employer.suspended.eq(False))


def _serialise(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


async def sitemap_xml(settings: Settings) -> bytes:
    """The sitemap: every visible listing (lastmod = its updated_at) and every visible employer page."""
    listings = await Listing.select(
        Listing.id, Listing.slug, Listing.updated_at, Listing.employer.as_alias("employer_id")
    ).where(_visible()).order_by(Listing.id).limit(SITEMAP_MAX_URLS)
    employers = await Employer.select(Employer.id, Employer.slug, Employer.created_at, Employer.updated_at).where(
        Employer.suspended.eq(False)
    ).order_by(Employer.id)
    # An employer page changes when its own fields change and when its listings do.
    latest: dict[int, dt.datetime] = {}
    for row in listings:
        if row["updated_at"] and (row["employer_id"] not in latest or row["updated_at"] > latest[row["employer_id"]]):
            latest[row["employer_id"]] = row["updated_at"]

    ET.register_namespace("", SITEMAP_NS)
    urlset = ET.Element(f"{{{SITEMAP_NS}}}urlset")

    def add(loc: str, lastmod: dt.datetime | None) -> None:
        url = ET.SubElement(urlset, f"{{{SITEMAP_NS}}}url")
        ET.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = xml_text(loc)
        stamp = w3c_datetime(lastmod)
        if stamp:
            ET.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = stamp

    for row in listings:
        add(listing_url(settings, row["id"], row["slug"]), row["updated_at"])
    for row in employers[: max(0, SITEMAP_MAX_URLS - len(listings))]:
        stamps = [s for s in (row["updated_at"], row["created_at"], latest.get(row["id"])) if s is not None]
        add(f"{settings.base_url}/employers/{row['slug']}", max(stamps) if stamps else None)
    return _serialise(urlset)


async def jobs_rss(settings: Settings) -> bytes:
    """RSS 2.0 of the newest visible listings."""
    rows = await Listing.select(
        Listing.id,
        Listing.slug,
        Listing.title,
        Listing.city,
        Listing.state,
        Listing.work_mode,
        Listing.pay_min,
        Listing.pay_max,
        Listing.pay_unit,
        Listing.published_at,
        Listing.employer.name.as_alias("employer_name"),
    ).where(_visible()).order_by(Listing.published_at, ascending=False).order_by(
        Listing.id, ascending=False
    ).limit(RSS_ITEMS)

    ET.register_namespace("atom", ATOM_NS)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = "CareerCenter — medical coding jobs"
    ET.SubElement(channel, "link").text = f"{settings.base_url}/"
    ET.SubElement(channel, "description").text = "The newest jobs for medical coders on CareerCenter."
    ET.SubElement(channel, "language").text = "en-us"
    ET.SubElement(channel, f"{{{ATOM_NS}}}link",
                  {"href": f"{settings.base_url}/jobs.rss", "rel": "self", "type": "application/rss+xml"})
    newest = max((r["published_at"] for r in rows if r["published_at"]), default=None)
    if newest is not None:
        ET.SubElement(channel, "lastBuildDate").text = format_datetime(newest.astimezone(dt.timezone.utc), usegmt=True)
    for row in rows:
        url = listing_url(settings, row["id"], row["slug"])
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = xml_text(f"{row['title']} — {row['employer_name']}")
        ET.SubElement(item, "link").text = url
        ET.SubElement(item, "guid", {"isPermaLink": "true"}).text = url
        if row["published_at"]:
            ET.SubElement(item, "pubDate").text = format_datetime(
                row["published_at"].astimezone(dt.timezone.utc), usegmt=True
            )
        place = ", ".join(p for p in (row["city"], row["state"]) if p)
        where = "Remote" if row["work_mode"] == "remote" else place
        pay = pay_text(row["pay_min"], row["pay_max"], row["pay_unit"], compact=True)
        summary = " · ".join(p for p in (row["employer_name"], where, pay) if p)
        ET.SubElement(item, "description").text = xml_text(summary)
    return _serialise(rss)


@get("/sitemap.xml", include_in_schema=False)
async def sitemap(request: Request) -> Response:
    body = await sitemap_xml(request.app.state.settings)
    return Response(content=body, media_type="application/xml; charset=utf-8", headers={"Cache-Control": FEED_CACHE})


@get("/jobs.rss", include_in_schema=False)
async def rss(request: Request) -> Response:
    body = await jobs_rss(request.app.state.settings)
    return Response(content=body, media_type="application/rss+xml; charset=utf-8", headers={"Cache-Control": FEED_CACHE})


ROUTES = [sitemap, rss]
