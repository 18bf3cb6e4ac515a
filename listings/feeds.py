"""The RSS feed (/jobs.rss) and what every feed shares: the visible-listing query, URLs, XML-safe text, dates.

Feeds read the listing tables directly and list only what a visitor can see: published, unhidden listings of
employers that are not suspended. XML is built with ElementTree, so every text is escaped; characters XML 1.0
forbids are dropped first. The sitemaps live in `listings.sitemaps`, the aggregator feeds in
`listings.syndication`.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from email.utils import format_datetime

from litestar import Request, Response, get

from careers.core.config import Settings
from listings import service as listing_service
from listings.tables import Listing
from listings.vocabulary import pay_text

ATOM_NS = "http://www.w3.org/2005/Atom"
RSS_ITEMS = 50
FEED_CACHE = "public, max-age=300"

_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: object) -> str:
    """Text safe for an XML 1.0 document (ElementTree escapes &, < and > itself)."""
    return _NOT_XML.sub("", "" if value is None else str(value))


def w3c_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def rfc822(value: dt.datetime | None) -> str:
    """An RFC 822 date in GMT, as RSS, Indeed and LinkedIn write them ("" for none)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return format_datetime(value.astimezone(dt.timezone.utc), usegmt=True)


def listing_url(settings: Settings, listing_id: int, slug: str | None) -> str:
    return f"{settings.base_url}/jobs/{listing_id}/{slug or 'job'}"


def _visible():
    return listing_service.public_where() & (Listing.employer.suspended.eq(False))


def visible_listings(*columns):
    """A select of `columns` over the listings a visitor may see (of employers that are not suspended)."""
    return Listing.select(*columns).where(_visible())


def serialise(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


async def jobs_rss(settings: Settings) -> bytes:
    """RSS 2.0 of the newest visible listings."""
    rows = await visible_listings(
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
    ).order_by(Listing.published_at, ascending=False).order_by(
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
        ET.SubElement(channel, "lastBuildDate").text = rfc822(newest)
    for row in rows:
        url = listing_url(settings, row["id"], row["slug"])
        item = ET.SubElement(channel, "item")
        ET.SubElement(item, "title").text = xml_text(f"{row['title']} — {row['employer_name']}")
        ET.SubElement(item, "link").text = url
        ET.SubElement(item, "guid", {"isPermaLink": "true"}).text = url
        if row["published_at"]:
            ET.SubElement(item, "pubDate").text = rfc822(row["published_at"])
        place = ", ".join(p for p in (row["city"], row["state"]) if p)
        where = "Remote" if row["work_mode"] == "remote" else place
        pay = pay_text(row["pay_min"], row["pay_max"], row["pay_unit"], compact=True)
        summary = " · ".join(p for p in (row["employer_name"], where, pay) if p)
        ET.SubElement(item, "description").text = xml_text(summary)
    return serialise(rss)


@get("/jobs.rss", include_in_schema=False)
async def rss(request: Request) -> Response:
    body = await jobs_rss(request.app.state.settings)
    return Response(content=body, media_type="application/rss+xml; charset=utf-8", headers={"Cache-Control": FEED_CACHE})


ROUTES = [rss]
