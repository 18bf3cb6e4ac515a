"""Sitemaps: /sitemap.xml is a sitemap index; its children hold at most `Settings.sitemap_max_urls` URLs each.

Children (each under /sitemaps/): `listings-N.xml` (visible listings in id order, lastmod = updated_at),
`employers-N.xml` (public pages of employers that are not suspended, lastmod = the newest of their own edit and
their listings' updates) and `pages.xml` (home, search, the remote, credential and state landing pages, the pay
pages). The index names each child with the newest lastmod inside it. Everything is built once per change of
the listings or employers (`listings.feed_cache`); robots.txt names the index.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from careers.core.config import Settings
from employers.tables import Employer
from listings import feed_cache
from listings import service as listing_service
from listings.feeds import FEED_CACHE, listing_url, serialise, visible_listings, w3c_datetime, xml_text
from listings.tables import Listing
from listings.vocabulary import US_STATES

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"

Entry = tuple[str, dt.datetime | None]  # (loc, lastmod)


@dataclass(frozen=True)
class Sitemaps:
    children: dict[str, list[Entry]]  # child file name -> its URLs, in index order
    rendered: dict[str, bytes] = field(default_factory=dict)  # child XML, made on first request

    def lastmod(self, name: str) -> dt.datetime | None:
        return max((stamp for _, stamp in self.children[name] if stamp is not None), default=None)


def _chunks(kind: str, entries: list[Entry], size: int) -> dict[str, list[Entry]]:
    return {f"{kind}-{n // size + 1}.xml": entries[n:n + size] for n in range(0, len(entries), size)}


async def _listing_entries(settings: Settings) -> tuple[list[Entry], dict[int, dt.datetime]]:
    """Visible listings' URLs, and each employer's newest listing update (an employer page lists its jobs)."""
    rows = await visible_listings(Listing.id, Listing.slug, Listing.updated_at,
                                  Listing.employer.as_alias("employer_id")).order_by(Listing.id)
    latest: dict[int, dt.datetime] = {}
    for row in rows:
        stamp, employer = row["updated_at"], row["employer_id"]
        if stamp and (employer not in latest or stamp > latest[employer]):
            latest[employer] = stamp
    return [(listing_url(settings, row["id"], row["slug"]), row["updated_at"]) for row in rows], latest


async def _employer_entries(settings: Settings, latest: dict[int, dt.datetime]) -> list[Entry]:
    rows = await Employer.select(Employer.id, Employer.slug, Employer.created_at, Employer.updated_at).where(
        Employer.suspended.eq(False)).order_by(Employer.id)
    entries = []
    for row in rows:
        stamps = [s for s in (row["updated_at"], row["created_at"], latest.get(row["id"])) if s is not None]
        entries.append((f"{settings.base_url}/employers/{row['slug']}", max(stamps) if stamps else None))
    return entries


async def _page_entries(settings: Settings, newest: dt.datetime | None) -> list[Entry]:
    """Home, search and the landing pages; they change whenever listings do, so all carry the newest update."""
    base = settings.base_url
    codes = [row["code"] for row in await listing_service.credential_choices()]
    paths = ["/", "/jobs/", "/jobs/remote"]
    paths += [f"/jobs/credential/{code}" for code in codes]
    paths += [f"/jobs/state/{state}" for state in US_STATES]
    paths += ["/pay", *[f"/pay/{code}" for code in codes]]  # the pay pages (issue 19)
    return [(base + path, newest) for path in paths]


async def build_sitemaps(settings: Settings) -> Sitemaps:
    """Every child sitemap's URLs, split at the configured limit."""
    size = max(1, settings.sitemap_max_urls)
    listings, latest = await _listing_entries(settings)
    employers = await _employer_entries(settings, latest)
    newest = max(latest.values(), default=None)
    children = {**_chunks("listings", listings, size), **_chunks("employers", employers, size)}
    pages = await _page_entries(settings, newest)
    children.update(_chunks("pages", pages, size) if len(pages) > size else {"pages.xml": pages})
    return Sitemaps(children)


async def current_sitemaps(settings: Settings) -> Sitemaps:
    return await feed_cache.cached(("sitemaps", settings.base_url, settings.sitemap_max_urls),
                                   lambda: build_sitemaps(settings))


def _element(parent: ET.Element, tag: str, loc: str, lastmod: dt.datetime | None) -> None:
    node = ET.SubElement(parent, f"{{{SITEMAP_NS}}}{tag}")
    ET.SubElement(node, f"{{{SITEMAP_NS}}}loc").text = xml_text(loc)
    stamp = w3c_datetime(lastmod)
    if stamp:
        ET.SubElement(node, f"{{{SITEMAP_NS}}}lastmod").text = stamp


def index_xml(settings: Settings, sitemaps: Sitemaps) -> bytes:
    """The <sitemapindex>: one <sitemap> per child with the newest lastmod inside it."""
    ET.register_namespace("", SITEMAP_NS)
    root = ET.Element(f"{{{SITEMAP_NS}}}sitemapindex")
    for name in sitemaps.children:
        _element(root, "sitemap", f"{settings.base_url}/sitemaps/{name}", sitemaps.lastmod(name))
    return serialise(root)


def urlset_xml(entries: list[Entry]) -> bytes:
    ET.register_namespace("", SITEMAP_NS)
    root = ET.Element(f"{{{SITEMAP_NS}}}urlset")
    for loc, lastmod in entries:
        _element(root, "url", loc, lastmod)
    return serialise(root)


def _xml(body: bytes) -> Response:
    return Response(content=body, media_type="application/xml; charset=utf-8", headers={"Cache-Control": FEED_CACHE})


@get("/sitemap.xml", include_in_schema=False)
async def sitemap_index(request: Request) -> Response:
    settings = request.app.state.settings
    return _xml(index_xml(settings, await current_sitemaps(settings)))


@get("/sitemaps/{name:str}", include_in_schema=False)
async def child_sitemap(request: Request, name: FromPath[str]) -> Response:
    settings = request.app.state.settings
    sitemaps = await current_sitemaps(settings)
    if name not in sitemaps.children:
        raise NotFoundException()
    if name not in sitemaps.rendered:
        sitemaps.rendered[name] = urlset_xml(sitemaps.children[name])
    return _xml(sitemaps.rendered[name])


ROUTES = [sitemap_index, child_sitemap]
