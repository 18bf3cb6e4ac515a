"""The JSON API's search (GET /api/v1/listings): the page's query, its answer passed through as JSON bytes.

The page renders highlighted HTML from hit dicts; the API returns neither. Each search document carries its hit
as the API answers it (`api_hit`, written by search/hits.py when the document is built), so the API asks
Meilisearch for no highlights and only that stored hit, the path and the point, and answers with the stored
JSON: the configured BASE_URL put in front of the path and, for a ZIP search, `distance_miles` added; the facet
counts go through as Meilisearch wrote them. Nothing is decoded into objects per hit and nothing re-encoded. The
answer is the same as the page path's (a test in `tests/test_search.py` compares them and decodes it into
`ListingSearchResponse`). `api_multi_search` is also the body `bench/search_bench.py` posts straight to
Meilisearch.
"""

from __future__ import annotations

import logging

import msgspec

from careers.core import geo
from careers.core.config import Settings
from search import service
from search.client import SearchUnavailable, http_for
from search.schemas import ListingSearchResponse, SearchFacets, listing_hit
from search.service import SearchQuery

log = logging.getLogger("careers.search")

# The stored API hit (search/hits.py), the document's path and its point (for `distance_miles`).
API_RETRIEVE = ["url", "api_hit", "lat", "lng"]


class StoredHit(msgspec.Struct, gc=False):
    """A hit as `API_RETRIEVE` brings it back: the stored API hit and what the request adds to it."""

    url: str
    api_hit: msgspec.Raw  # an index built before `api_hit` existed fails here: the untyped path answers
    lat: float | None = None
    lng: float | None = None

    def answer(self, base_url: str, origin: tuple[float, float] | None) -> msgspec.Raw:
        """The hit's JSON: `url` first, the stored fields, `distance_miles` last when a ZIP code was given (as the
        page path: from the listing's point; a listing without one gets no distance)."""
        stored = memoryview(self.api_hit)  # joined without copying it first
        if len(stored) < 3 or stored[0] != ord("{"):  # spliced as an object's members: anything else is no hit
            raise msgspec.ValidationError("a stored api_hit is not a JSON object with fields")
        url = ENCODE(base_url + self.url)
        if origin is None or self.lat is None or self.lng is None:
            return msgspec.Raw(b"".join((b'{"url":', url, b",", stored[1:])))
        distance = ENCODE(round(geo.miles_between(origin, (self.lat, self.lng)), 1))
        return msgspec.Raw(b"".join((b'{"url":', url, b",", stored[1:-1], b',"distance_miles":', distance, b"}")))


class IndexAnswer(msgspec.Struct, gc=False):
    hits: list[StoredHit] = []
    totalHits: int = 0  # Meilisearch's names
    facetDistribution: dict[str, msgspec.Raw] | None = None  # counts passed through as Meilisearch wrote them


class MultiSearchAnswer(msgspec.Struct, gc=False):
    results: list[IndexAnswer]


class Facets(msgspec.Struct):
    """`SearchFacets`' JSON, each group's counts as Meilisearch wrote them."""

    credential: msgspec.Raw
    setting: msgspec.Raw
    work_mode: msgspec.Raw
    state: msgspec.Raw
    employment_type: msgspec.Raw


class Answer(msgspec.Struct):
    """`ListingSearchResponse`'s JSON with the hits and counts passed through (a test decodes it into that type)."""

    hits: list[msgspec.Raw]
    total: int
    page: int
    per_page: int
    facets: Facets
    degraded: bool


ANSWER = msgspec.json.Decoder(MultiSearchAnswer)
ENCODE = msgspec.json.Encoder().encode
NO_COUNTS = msgspec.Raw(b"{}")


def api_multi_search(query: SearchQuery, index: str) -> dict:
    """The API's POST /multi-search body: the page's (search.service.meili_multi_search) without highlights and with
    only the fields the API answers with."""
    return service.meili_multi_search(query, index, highlight=False, retrieve=API_RETRIEVE)


def untyped(result: service.SearchResult) -> bytes:
    """The API's answer from the page path's result (dict hits): the degraded database path."""
    return ENCODE(ListingSearchResponse(hits=[listing_hit(h) for h in result.hits], total=result.total,
                                        page=result.page, per_page=result.per_page,
                                        facets=SearchFacets(**result.facets), degraded=result.degraded))


async def search(query: SearchQuery, settings: Settings) -> bytes:
    """Run `query` for the API and answer its JSON (`ListingSearchResponse`): Meilisearch when it answers, else the
    database (`degraded: true`), as the page."""
    await service.refresh_lexicon()
    base_url = settings.base_url.rstrip("/")
    try:
        answer = await http_for(settings).multi_search(api_multi_search(query, settings.meili_index), into=ANSWER)
        main = answer.results[0]
        hits = [hit.answer(base_url, query.origin) for hit in main.hits]
    except SearchUnavailable as exc:
        log.warning("search: Meilisearch unavailable (%s); answering from the database", exc)
        return untyped(await service.search_database(query, settings))
    except msgspec.ValidationError as exc:  # an index of another shape (built by another release): the page's path
        log.warning("search: the index answered in an unexpected shape (%s); using the untyped path "
                    "(`careers reindex` rebuilds it in this release's shape)", exc)
        return untyped(await service.search_listings(query, settings))
    facets = service.facet_counts(query, [r.facetDistribution for r in answer.results], empty=NO_COUNTS)
    return ENCODE(Answer(hits=hits, total=main.totalHits, page=query.page, per_page=query.per_page,
                         facets=Facets(**facets), degraded=False))
