"""Helpers the search tests share: make listings the way the lifecycle does, and a clean index."""

from __future__ import annotations

import html

from careers.core.config import Settings
from careers.core.geo import zip_point
from employers.tables import Employer
from listings import service as listings_service
from listings.tables import (
    Listing,
    ListingCodeSet,
    ListingCredential,
    ListingRemoteState,
    ListingSetting,
    ListingSpecialty,
)
from listings.vocabulary import annualise

_index_ready: set[tuple[str, str]] = set()


async def fresh_index(settings: Settings) -> None:
    """The test index exists with our settings (applied once per session) and holds no document."""
    from search.indexing import clear_index, ensure_index

    key = (settings.meili_url, settings.meili_index)
    if key not in _index_ready:
        await ensure_index(settings)
        _index_ready.add(key)
    if await _holds_documents(settings):  # most tests leave it empty: a stats read is cheaper than a delete task
        await clear_index(settings)


async def _holds_documents(settings: Settings) -> bool:
    from search.client import run_admin

    stats = await run_admin(settings, lambda c: c.index(settings.meili_index).get_stats())
    return bool(stats.number_of_documents or stats.is_indexing)


async def employer(name: str = "Acme Health", *, verified: bool = True) -> int:
    slug = name.lower().replace(" ", "-")
    row = await Employer.objects().where(Employer.slug == slug).first()
    if row is None:
        row = Employer(name=name, slug=slug, verified=verified)
        await row.save()
    return row.id


async def make_listing(title: str, *, required=(), any_of=(), preferred=(), settings=(), specialties=(), code_sets=(),
                       work_mode: str = "onsite", remote_states=(), zip_code: str = "", city: str = "", state: str = "",
                       employment_type: str = "full_time", pay=(50000, 60000, "year"), description: str = "",
                       entry_level: bool = False, employer_name: str = "Acme Health", featured: bool = False,
                       publish: bool = True) -> int:
    """Insert a listing with its join-table rows and (by default) publish it through the lifecycle."""
    lat = lng = None
    if zip_code:
        lat, lng = zip_point(zip_code)
    pay_min, pay_max, unit = pay
    listing = Listing(
        employer=await employer(employer_name), title=title, slug=title.lower().replace(" ", "-")[:60],
        description_md=description, description_html=f"<p>{html.escape(description)}</p>" if description else "",
        work_mode=work_mode, zip=zip_code, city=city, state=state, lat=lat, lng=lng, employment_type=employment_type,
        entry_level_ok=entry_level, pay_min=pay_min, pay_max=pay_max, pay_unit=unit,
        pay_annual_min=annualise(pay_min, unit), pay_annual_max=annualise(pay_max, unit), featured=featured,
    )
    await listing.save()
    for kind, codes in (("required", required), ("any_of", any_of), ("preferred", preferred)):
        for code in codes:
            await ListingCredential.insert(ListingCredential(listing=listing.id, credential=code, kind=kind))
    for table, values in ((ListingSetting, settings), (ListingSpecialty, specialties), (ListingCodeSet, code_sets),
                          (ListingRemoteState, remote_states)):
        for value in values:
            await table.insert(table(listing=listing.id, value=value))
    if publish:
        await listings_service.transition(listing.id, "published", actor_kind="admin")
    return listing.id


def ids(response_json: dict) -> list[int]:
    return [hit["id"] for hit in response_json["hits"]]
