"""Builders for the rows tests need: one employer and one listing builder instead of a copy per test module.

Rows are written the way the domains write them (join tables for credentials, settings and remote states,
coordinates from the ZIP) and a listing reaches `in_review` or `published` through the real lifecycle, so
its events, outbox rows and search sync are what production would have. Test modules pass only what
their assertions depend on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from careers.core import geo
from careers.core.text import render_markdown, slugify
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

LIFECYCLE_STATES = ("in_review", "published")


async def make_employer(name: str = "Acme Health", *, verified: bool = False, website: str = "https://acmehealth.org",
                        **fields) -> Employer:
    """The employer called `name` (slug from the name), created on first use with `verified` and `fields`."""
    slug = slugify(name, fallback="employer")
    employer = await Employer.objects().where(Employer.slug == slug).first()
    if employer is None:
        employer = Employer(name=name, slug=slug, website=website, verified=verified, **fields)
        await employer.save()
    return employer


async def make_listing(
    employer: int | Employer | str,
    title: str = "Remote CPC coder",
    *,
    status: str = "published",
    actor_kind: str = "admin",
    now: dt.datetime | None = None,
    required: Iterable[str] = (),
    any_of: Iterable[str] = (),
    preferred: Iterable[str] = (),
    settings: Iterable[str] = (),
    specialties: Iterable[str] = (),
    code_sets: Iterable[str] = (),
    remote_states: Iterable[str] = (),
    work_mode: str = "onsite",
    employment_type: str = "full_time",
    zip_code: str = "60614",
    city: str = "Chicago",
    state: str = "IL",
    pay: tuple = (25, 32, "hour"),
    description: str = "Code charts.",
    slug: str | None = None,
    hidden: bool = False,
    **fields,
) -> Listing:
    """A listing of `employer` (a row, an id, or a name to find or create), moved to `status` by `actor_kind`.

    `in_review` and `published` go through `listings.service.transition` (at `now` if given); any other
    status is stored as it is. `fields` are further Listing columns (created_by, featured, expires_at …).
    """
    if isinstance(employer, str):
        employer = await make_employer(employer, verified=True)
    employer_id = employer.id if isinstance(employer, Employer) else employer
    place = geo.lookup_zip(zip_code) if zip_code else None
    pay_min, pay_max, unit = Decimal(str(pay[0])), Decimal(str(pay[1])), pay[2]
    listing = Listing(
        employer=employer_id, title=title, normalised_title=title.lower(),
        slug=slugify(title) if slug is None else slug,
        status="draft" if status in LIFECYCLE_STATES else status, description_md=description,
        description_html=render_markdown(description), work_mode=work_mode, employment_type=employment_type,
        zip=zip_code, city=city, state=state, lat=place.lat if place else None, lng=place.lng if place else None,
        pay_min=pay_min, pay_max=pay_max, pay_unit=unit, pay_annual_min=annualise(pay_min, unit),
        pay_annual_max=annualise(pay_max, unit), duration_days=30, **fields,
    )
    await listing.save()
    await _join_rows(listing.id, required=required, any_of=any_of, preferred=preferred, settings=settings,
                     specialties=specialties, code_sets=code_sets, remote_states=remote_states)
    if status in LIFECYCLE_STATES:
        await listings_service.transition(listing.id, status, actor_kind=actor_kind, now=now)
    if hidden:
        await Listing.update({Listing.hidden: True}).where(Listing.id == listing.id)
    return await Listing.objects().get(Listing.id == listing.id)


async def _join_rows(listing_id: int, *, required, any_of, preferred, settings, specialties, code_sets,
                     remote_states) -> None:
    credentials = [ListingCredential(listing=listing_id, credential=code, kind=kind)
                   for kind, codes in (("required", required), ("any_of", any_of), ("preferred", preferred))
                   for code in codes]
    if credentials:
        await ListingCredential.insert(*credentials)
    for table, values in ((ListingSetting, settings), (ListingSpecialty, specialties), (ListingCodeSet, code_sets),
                          (ListingRemoteState, remote_states)):
        rows = [table(listing=listing_id, value=value) for value in values]
        if rows:
            await table.insert(*rows)
