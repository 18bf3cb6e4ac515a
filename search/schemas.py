"""The JSON API's answer for GET /api/v1/listings (typed for Litestar's OpenAPI schema).

A hit carries the fields of GET /api/v1/listings/{id} (listings.schemas.ListingOut) except
`description` and `description_html`, plus `description_excerpt`, `featured`, and
`distance_miles` when a ZIP was given.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from careers.core.forms import Boolean, Choice, Choices, Integer, Text
from employers.response_record import ResponseRecord
from listings.schemas import ApiError, EmployerRef, EmployerResponse, PublishedListing
from listings.vocabulary import EMPLOYMENT_TYPES, SETTINGS, SPECIALTIES, US_STATES, WORK_MODES

__all__ = ["ApiError", "EmployerRef", "ListingHit", "ListingSearchResponse", "SearchFacets", "SearchParams"]

SORTS = ("relevance", "newest", "pay", "distance")
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_Q_LENGTH = 200
POSTED_WITHIN = ("1", "3", "7", "14", "30")  # days
TRUE_WORDS = frozenset({"true", "1", "on", "yes"})
FALSE_WORDS = frozenset({"false", "0", "off", "no", ""})


def _yes_no(label: str) -> Boolean:
    return Boolean(invalid=f"{label} must be true or false.", true_words=TRUE_WORDS, false_words=FALSE_WORDS)


def _whole(low: int, high: int, message: str, default: int | None = None) -> Integer:
    return Integer(low=low, high=high, invalid=message, out_of_range=message, thousands=True, default=default)


class SearchParams(msgspec.Struct, kw_only=True):
    """The URL parameters of /jobs and GET /api/v1/listings, each read on its own (values are
    case-insensitive; repeated or comma-separated for lists). `search.service.parse_query` adds the rules
    between them (credential words, ZIP and radius, distance sort) and builds a SearchQuery."""

    q: Annotated[str, Text(MAX_Q_LENGTH, squash=True, too_long=f"Use at most {MAX_Q_LENGTH} characters.")]
    credential: Annotated[list[str], Choices()]  # codes, aliases or names, matched by the lexicon
    setting: Annotated[list[str], Choices(SETTINGS, "Unknown setting: {raw}.", case="lower")]
    specialty: Annotated[list[str], Choices(SPECIALTIES, "Unknown specialty: {raw}.", case="lower")]
    employment_type: Annotated[list[str], Choices(EMPLOYMENT_TYPES, "Unknown employment type: {raw}.", case="lower")]
    work_mode: Annotated[list[str], Choices(WORK_MODES, "Unknown work mode: {raw}.", case="lower")]
    state: Annotated[list[str], Choices(US_STATES, "Unknown state: {raw}.", case="upper")]
    remote_state: Annotated[str | None, Choice(case="upper", default=None, allowed=US_STATES,
                                               unknown="Unknown state: {value}.")]
    zip: Annotated[str, Text()]
    radius: Annotated[int | None, _whole(1, 500, "Radius must be a whole number of miles from 1 to 500.")]
    entry_level: Annotated[bool, _yes_no("Entry level")]
    qualified: Annotated[bool, _yes_no("Qualified")]
    responsive: Annotated[bool, _yes_no("Employers who respond")]  # issue 18: the employer's response record
    min_pay: Annotated[int | None, _whole(0, 10_000_000, "Minimum pay must be a whole number of dollars a year.")]
    posted_within: Annotated[str | None, Choice(default=None, allowed=POSTED_WITHIN,
                                                unknown="Date posted must be within 1, 3, 7, 14 or 30 days.")]
    sort: Annotated[str, Choice(case="lower", default="relevance", allowed=SORTS,
                                unknown="Sort by relevance, newest, pay or distance.")]
    page: Annotated[int, _whole(1, 100_000, "Page must be a whole number from 1.", default=1)]
    per_page: Annotated[int, _whole(1, MAX_PER_PAGE, f"Results per page must be from 1 to {MAX_PER_PAGE}.",
                                    default=DEFAULT_PER_PAGE)]


class ListingHit(PublishedListing, kw_only=True, omit_defaults=True):
    description_excerpt: str
    application_deadline: str | None  # ISO 8601 date
    published_at: str  # ISO 8601, UTC
    expires_at: str  # ISO 8601, UTC
    featured: bool
    distance_miles: float | None = None  # only when `zip` was given


class SearchFacets(msgspec.Struct, omit_defaults=True):
    """Counts of matching listings per value. Disjunctive: each group is counted as if its own filter were absent
    (with `credential=CPC`, `credential` still counts CCS: what choosing CCS instead would find); every other
    filter applies. The same counts in degraded mode, from the database."""

    credential: dict[str, int] | None = None
    setting: dict[str, int] | None = None
    work_mode: dict[str, int] | None = None
    state: dict[str, int] | None = None
    employment_type: dict[str, int] | None = None


class ListingSearchResponse(msgspec.Struct):
    hits: list[ListingHit]
    total: int  # capped at 1,000 by Meilisearch's maxTotalHits (exact in degraded mode)
    page: int
    per_page: int
    facets: SearchFacets
    degraded: bool


def listing_hit(hit: dict) -> ListingHit:
    employer = hit["employer"] or {}
    out = ListingHit(
        id=hit["id"], url=hit["url"], status=hit["status"], title=hit["title"],
        description_excerpt=hit["description_excerpt"],
        employer=EmployerRef(name=employer.get("name", ""), slug=employer.get("slug", ""),
                             verified=bool(employer.get("verified")),
                             response=EmployerResponse(**(employer.get("response") or ResponseRecord().api()))),
        credentials_required=hit["credentials_required"], credentials_any_of=hit["credentials_any_of"],
        credentials_preferred=hit["credentials_preferred"], settings=hit["settings"], specialties=hit["specialties"],
        code_sets=hit["code_sets"], work_mode=hit["work_mode"], zip=hit["zip"], city=hit["city"], state=hit["state"],
        lat=hit["lat"], lng=hit["lng"], remote_states=hit["remote_states"], employment_type=hit["employment_type"],
        min_years=int(hit["min_years"] or 0), entry_level_ok=bool(hit["entry_level_ok"]),
        pay_min=float(hit["pay_min"] or 0), pay_max=float(hit["pay_max"] or 0), pay_unit=hit["pay_unit"],
        pay_annual_min=hit["pay_annual_min"], pay_annual_max=hit["pay_annual_max"], benefits=hit["benefits"] or "",
        application_deadline=hit["application_deadline"], apply_url=hit["apply_url"],
        requisition_id=hit["requisition_id"], published_at=hit["published_at"], expires_at=hit["expires_at"],
        featured=bool(hit["featured"]),
    )
    if "distance_miles" in hit:
        out.distance_miles = hit["distance_miles"]
    return out
