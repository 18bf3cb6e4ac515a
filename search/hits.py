"""A listing's API hit, written into its search document when the document is built (`api_hit`).

`GET /api/v1/listings` answers each hit as the API's `ListingHit` JSON. Building that per request (decoding each
document into typed fields, then a `ListingHit`, then encoding it) was the largest part of what the API added to
Meilisearch's own time. So the document builder (`search.documents.build_document`) stores the hit as the API
answers it, less the two parts that depend on the request: `url` (the configured BASE_URL in front of the
document's path) and `distance_miles` (from the query's ZIP code). `search.api` passes the stored JSON through.
"""

from __future__ import annotations

import msgspec

from listings.schemas import EmployerRef
from listings.vocabulary import ListingState
from search.schemas import ListingHit


class IndexedListing(msgspec.Struct, gc=False):
    """A search document's fields the API answers with; anything the builder may leave null is optional."""

    id: int
    url: str
    title: str
    employer: EmployerRef  # the document's `employer` holds the API's four keys (and flags the API leaves out)
    credentials_required: list[str] = []
    credentials_any_of: list[str] = []
    credentials_preferred: list[str] = []
    settings: list[str] = []
    specialties: list[str] = []
    code_sets: list[str] = []
    work_mode: str | None = None
    remote_states: list[str] = []
    employment_type: str | None = None
    min_years: int | None = 0
    benefits: str | None = ""
    application_deadline: str | None = None
    apply_url: str | None = None
    requisition_id: str | None = None
    entry_level_ok: bool | None = False
    pay_min: float | None = None
    pay_max: float | None = None
    pay_unit: str | None = None
    pay_annual_min: int | None = None
    pay_annual_max: int | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    lat: float | None = None
    lng: float | None = None
    published_at_iso: str | None = None
    expires_at_iso: str | None = None
    featured: bool | None = False
    description_excerpt: str | None = ""

    def hit(self) -> ListingHit:
        """The API's hit (`url` still the path, no distance), field for field what the page path gives."""
        return ListingHit(
            id=self.id, url=self.url, status=ListingState.PUBLISHED, title=self.title,
            description_excerpt=self.description_excerpt or "",
            employer=self.employer,
            credentials_required=self.credentials_required, credentials_any_of=self.credentials_any_of,
            credentials_preferred=self.credentials_preferred, settings=self.settings, specialties=self.specialties,
            code_sets=self.code_sets, work_mode=self.work_mode, zip=self.zip or None, city=self.city or None,
            state=self.state or None, lat=self.lat, lng=self.lng, remote_states=self.remote_states,
            employment_type=self.employment_type, min_years=self.min_years or 0,
            entry_level_ok=bool(self.entry_level_ok), pay_min=self.pay_min or 0.0, pay_max=self.pay_max or 0.0,
            pay_unit=self.pay_unit, pay_annual_min=self.pay_annual_min, pay_annual_max=self.pay_annual_max,
            benefits=self.benefits or "", application_deadline=self.application_deadline, apply_url=self.apply_url,
            requisition_id=self.requisition_id, published_at=self.published_at_iso, expires_at=self.expires_at_iso,
            featured=bool(self.featured),
        )


def api_hit(document: dict) -> dict:
    """The API hit of `document` (a search document as `build_document` makes it) without `url`: what
    `listing_hit(search.service._hit(document))` gives the page path, for the API to pass through."""
    hit = msgspec.to_builtins(msgspec.convert(document, IndexedListing).hit())
    del hit["url"]
    return hit
