"""The JSON API's search (GET /api/v1/listings): the page's query, answered straight into the API's types.

The page renders highlighted HTML from hit dicts; the API returns neither. So the API asks Meilisearch for no
highlights (a highlighted hit comes back twice, the second time as `_formatted`) and only the fields it answers
with, and decodes the answer with msgspec straight into typed structs, then `ListingHit`s: no dict per hit and
no second conversion. The answer is the same as the page path's (a test in `tests/test_search.py` compares
them); only the work is less. `api_multi_search` is also the body `bench/search_bench.py` posts straight to
Meilisearch.
"""

from __future__ import annotations

import logging

import msgspec

from careers.core import geo
from careers.core.config import Settings
from listings.schemas import EmployerRef
from listings.vocabulary import ListingState
from search import service
from search.client import SearchUnavailable, http_for
from search.schemas import ListingHit, ListingSearchResponse, SearchFacets, listing_hit
from search.service import SearchQuery

log = logging.getLogger("careers.search")

# The document fields a hit of the API carries (search.service.RETRIEVE less the page's own).
API_RETRIEVE = [name for name in service.RETRIEVE if name not in ("slug", "confirmed_at_iso")]


class IndexedListing(msgspec.Struct, gc=False):
    """An index document as `API_RETRIEVE` brings it back; anything the builder may leave null is optional."""

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
    geo_distance: float | None = msgspec.field(default=None, name="_geoDistance")

    def hit(self, base_url: str, origin: tuple[float, float] | None) -> ListingHit:
        """The API's hit, field for field what `listing_hit(search.service._hit(document))` gives the page path."""
        out = ListingHit(
            id=self.id, url=base_url + self.url, status=ListingState.PUBLISHED, title=self.title,
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
        if origin:
            if self.geo_distance is not None:
                out.distance_miles = round(self.geo_distance / geo.METERS_PER_MILE, 1)
            elif self.lat is not None and self.lng is not None:
                out.distance_miles = round(geo.miles_between(origin, (self.lat, self.lng)), 1)
        return out


class IndexAnswer(msgspec.Struct, gc=False):
    hits: list[IndexedListing] = []
    totalHits: int = 0  # Meilisearch's names
    facetDistribution: dict[str, dict[str, int]] | None = None


class MultiSearchAnswer(msgspec.Struct, gc=False):
    results: list[IndexAnswer]


ANSWER = msgspec.json.Decoder(MultiSearchAnswer)


def api_multi_search(query: SearchQuery, index: str) -> dict:
    """The API's POST /multi-search body: the page's (search.service.meili_multi_search) without highlights and with
    only the fields the API answers with."""
    return service.meili_multi_search(query, index, highlight=False, retrieve=API_RETRIEVE)


def untyped(result: service.SearchResult) -> ListingSearchResponse:
    """The API's answer from the page path's result (dict hits): the degraded database path."""
    return ListingSearchResponse(hits=[listing_hit(h) for h in result.hits], total=result.total, page=result.page,
                                 per_page=result.per_page, facets=SearchFacets(**result.facets),
                                 degraded=result.degraded)


async def search(query: SearchQuery, settings: Settings) -> ListingSearchResponse:
    """Run `query` for the API: Meilisearch when it answers, else the database (`degraded: true`), as the page."""
    await service.refresh_lexicon()
    try:
        answer = await http_for(settings).multi_search(api_multi_search(query, settings.meili_index), into=ANSWER)
    except SearchUnavailable as exc:
        log.warning("search: Meilisearch unavailable (%s); answering from the database", exc)
        return untyped(await service.search_database(query, settings))
    except msgspec.ValidationError as exc:  # an index of another shape (built by another release): the page's path
        log.warning("search: the index answered in an unexpected shape (%s); using the untyped path", exc)
        return untyped(await service.search_listings(query, settings))
    main = answer.results[0]
    base_url = settings.base_url.rstrip("/")
    facets = service.facet_counts(query, [r.facetDistribution for r in answer.results])
    return ListingSearchResponse(hits=[doc.hit(base_url, query.origin) for doc in main.hits],
                                 total=main.totalHits, page=query.page, per_page=query.per_page,
                                 facets=SearchFacets(**facets), degraded=False)
