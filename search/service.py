"""Searching listings: parse and validate a query, ask Meilisearch, or fall back to the database.

Public entry points (other domains call these; keep them stable):

- `parse_query(params: Mapping[str, list[str]]) -> SearchQuery` validates the
  parameters of `/jobs` and `/api/v1/listings` (raises SearchParamError naming
  every bad field).
- `await search_listings(query, settings) -> SearchResult` runs it. Two inputs
  exist only in code, never in a URL: `query.published_after` (a datetime; job
  alert digests) and `query.qualified_for` (held credential codes, home state):
  "jobs I qualify for" — every required credential held, any-of empty or one
  held, and a remote listing open to the home state (onsite and hybrid listings
  are judged on credentials only). Build them with `query.replace(...)`.

Exact credentials: a credential code, alias or full name in `q` ("CPC", "cpc",
"CCS-P", "CPC-H", "certified professional coder") is taken out of the text and
becomes a filter on `credentials` (required ∪ any-of ∪ preferred). Meilisearch
never sees it as a word, so "CPC" cannot prefix- or typo-match CPC-A, CPCO,
CPCD or CPB, nor "CPT" in a description; "CCS" cannot match "CCS-P". Several
credential words mean any of them; the rest of `q` is the keyword query.

Code-like words (anything holding a digit: 99213, 0FB98ZX, J45.909) are sent to
Meilisearch as quoted phrases, so they match only themselves: no typo, no prefix,
and the matching strategy never drops them.

Facets are disjunctive: each facet group's counts are computed as if that group's
own filter were absent (choosing CPC still shows how many CCS jobs there are, the
count that choosing CCS instead would give). One multi-search request carries the
main query plus one query per active facet group.

Degraded mode: when Meilisearch is unreachable the same query runs against the
database (every filter honoured; `q` is a case-insensitive match on title and
employer name; relevance falls back to newest; facets counted with the same
disjunctive rule) and the result says `degraded=True`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from careers.core import clock, db, forms, geo
from careers.core.config import Settings
from careers.core.errors import Invalid
from careers.core.forms import FormErrors
from employers.response_record import MIN_COUNTED, RESPONSIVE_SHARE
from listings import service as listing_service
from listings.tables import Credential
from listings.vocabulary import ListingState
from search.client import SearchEngineError, SearchUnavailable, http_for
from search.documents import credential_rank_token, documents_for
from search.schemas import (  # noqa: F401 - the limits are part of this module's interface
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    MAX_Q_LENGTH,
    SORTS,
    SearchParams,
)
from search.settings import MAX_TOTAL_HITS, Lexicon, build_lexicon, find_credentials, load_terms

log = logging.getLogger("careers.search")

DEFAULT_RADIUS = 50
RADIUS_CHOICES = (10, 25, 50, 100)
METERS_PER_MILE = 1609.344
PRE, POST = "\x01", "\x02"  # highlight sentinels: never present in indexed text (documents strip control chars)

# API facet name -> index attribute
FACETS = {"credential": "credentials", "setting": "settings", "work_mode": "work_mode", "state": "state",
          "employment_type": "employment_type"}
# API facet name -> the SearchQuery field holding that group's own filter (left out when counting the group)
FACET_FILTERS = {"credential": "credentials", "setting": "settings", "work_mode": "work_modes", "state": "states",
                 "employment_type": "employment_types"}
SIMILAR_LIMIT = 5
RETRIEVE = [
    "id", "url", "slug", "title", "employer", "city", "state", "zip", "lat", "lng", "credentials_required",
    "credentials_any_of", "credentials_preferred", "settings", "specialties", "code_sets", "work_mode",
    "remote_states", "employment_type", "min_years", "benefits", "application_deadline", "apply_url",
    "requisition_id", "entry_level_ok", "pay_min", "pay_max", "pay_unit", "pay_annual_min",
    "pay_annual_max", "published_at_iso", "expires_at_iso", "confirmed_at_iso", "featured", "description_excerpt",
]


class SearchParamError(Invalid):
    """One or more search parameters are invalid; `fields` maps each parameter to its message."""

    def __init__(self, field: str, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message, field, fields=fields or {field: message})


@dataclass(frozen=True)
class SearchQuery:
    """A validated search. Tuples hold codes/values exactly as the vocabulary spells them."""

    q: str = ""  # as typed
    text: str = ""  # q without its credential words: what Meilisearch matches as text
    q_credentials: tuple[str, ...] = ()  # credential codes named in q (any of)
    credentials: tuple[str, ...] = ()  # the `credential` parameter (any of)
    settings: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()
    employment_types: tuple[str, ...] = ()
    work_modes: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    remote_state: str | None = None
    zip: str | None = None
    radius: int | None = None
    origin: tuple[float, float] | None = None  # lat, lng of `zip`
    entry_level: bool = False
    min_pay: int | None = None
    posted_within: int | None = None  # days: only listings published since now minus this many days
    sort: str = "relevance"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    qualified: bool = False  # `qualified=true` was asked for; the controller resolves it into qualified_for
    responsive: bool = False  # only employers who respond (most applications get a status within 14 days)
    # internal inputs (never from a URL)
    published_after: dt.datetime | None = None
    qualified_for: tuple[frozenset[str], str | None] | None = None

    def replace(self, **changes) -> "SearchQuery":
        return dataclasses.replace(self, **changes)

    def params(self, **overrides) -> list[tuple[str, str]]:
        """The query as URL parameters (the same names the API takes), for links and pagination."""
        values: dict[str, Any] = {
            "q": self.q, "credential": list(self.credentials), "setting": list(self.settings),
            "specialty": list(self.specialties), "employment_type": list(self.employment_types),
            "work_mode": list(self.work_modes), "state": list(self.states), "remote_state": self.remote_state,
            "zip": self.zip, "radius": self.radius if self.zip else None,
            "entry_level": "true" if self.entry_level else None, "min_pay": self.min_pay,
            "posted_within": self.posted_within,
            "qualified": "true" if self.qualified else None,
            "responsive": "true" if self.responsive else None,
            "sort": self.sort if self.sort != "relevance" else None,
            "per_page": self.per_page if self.per_page != DEFAULT_PER_PAGE else None,
            "page": self.page if self.page != 1 else None,
        }
        values.update(overrides)
        out: list[tuple[str, str]] = []
        for name, value in values.items():
            for item in value if isinstance(value, list) else [value]:
                if item is not None and item != "":
                    out.append((name, str(item)))
        return out

    @property
    def has_filters(self) -> bool:
        return bool(self.q_credentials or self.credentials or self.settings or self.specialties
                    or self.employment_types or self.work_modes or self.states or self.remote_state or self.zip
                    or self.entry_level or self.min_pay is not None or self.qualified or bool(self.posted_within)
                    or self.responsive)

    def active_facets(self) -> list[str]:
        """The facet groups whose own filter is set (each needs its own count without it)."""
        return [name for name, attribute in FACET_FILTERS.items() if getattr(self, attribute)]

    def without_facet(self, name: str) -> SearchQuery:
        """This query without facet group `name`'s own filter: what that group's counts are computed on."""
        return dataclasses.replace(self, **{FACET_FILTERS[name]: ()})

    def posted_since(self) -> dt.datetime | None:
        """The earliest publication time `posted_within` keeps (from the kernel clock)."""
        return clock.now() - dt.timedelta(days=self.posted_within) if self.posted_within else None


@dataclass
class SearchResult:
    query: SearchQuery
    hits: list[dict]
    total: int
    page: int
    per_page: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    degraded: bool = False

    @property
    def total_capped(self) -> bool:
        return not self.degraded and self.total >= MAX_TOTAL_HITS

    @property
    def pages(self) -> int:
        reachable = self.total if self.degraded else min(self.total, MAX_TOTAL_HITS)
        return max(1, math.ceil(reachable / self.per_page))


# ---- the credential lexicon (from the Credential table, refreshed every few minutes) ------------

_LEXICON_TTL = 300.0
_lexicon: tuple[float, Lexicon, frozenset[str]] | None = None


@functools.cache
def _default_lexicon() -> Lexicon:
    return build_lexicon()


def lexicon() -> Lexicon:
    """The lexicon in use: the last one loaded from the database, else the seeded taxonomy."""
    return _lexicon[1] if _lexicon else _default_lexicon()


def all_credential_codes() -> frozenset[str]:
    """Every credential code the board knows (inactive ones too): "qualified" must rule out all not held."""
    return _lexicon[2] if _lexicon else frozenset(t.code for t in _default_lexicon().credentials)


async def refresh_lexicon(*, force: bool = False) -> Lexicon:
    """Reload the credential lexicon from the database when it is older than a few minutes."""
    global _lexicon
    now = time.monotonic()
    if _lexicon and not force and now - _lexicon[0] < _LEXICON_TTL:
        return _lexicon[1]
    try:
        terms = await load_terms()
        codes = frozenset(r["code"] for r in await Credential.select(Credential.code))
    except Exception:  # the database is the app's problem, not search's: keep what we had
        log.exception("search: could not load the credential taxonomy")
        return lexicon()
    _lexicon = (now, build_lexicon(terms), codes | {t.code for t in terms})
    return _lexicon[1]


# ---- parsing -------------------------------------------------------------------------------------


def _credentials(lex: Lexicon, params: SearchParams, errors: FormErrors) -> list[str]:
    credentials: list[str] = []
    for raw in params.credential:
        code = lex.canonical(raw)
        if code is None:
            errors.add("credential", f"Unknown credential: {raw}.")
        elif code not in credentials:
            credentials.append(code)
    return credentials


def _place(params: SearchParams, errors: FormErrors) -> tuple[str | None, tuple[float, float] | None, int | None]:
    """ZIP, its coordinates and the radius (50 miles unless given); a radius or distance sort needs a ZIP."""
    zip_code, origin = None, None
    if params.zip:
        match = re.fullmatch(r"(\d{5})(?:-\d{4})?", params.zip)
        origin = geo.zip_point(match.group(1)) if match else None
        if origin is None:
            errors.add("zip", "Enter a valid US ZIP code (5 digits).")
        else:
            zip_code = match.group(1)
    radius = params.radius
    if radius is not None and not zip_code and "zip" not in errors:
        errors.add("radius", "A radius needs a ZIP code.")
    if zip_code and radius is None and "radius" not in errors:
        radius = DEFAULT_RADIUS
    if params.sort == "distance" and not zip_code and "zip" not in errors:
        errors.add("sort", "Sorting by distance needs a ZIP code.")
    return zip_code, origin, radius if zip_code else None


def parse_query(params: Mapping[str, Any], *, lexicon_: Lexicon | None = None) -> SearchQuery:
    """Validate URL parameters (each name -> its values) into a SearchQuery.

    Codes and values are case-insensitive on input. Raises SearchParamError whose `fields`
    names every invalid parameter.
    """
    lex = lexicon_ or lexicon()
    form, errors = forms.read(SearchParams, params)
    q = form.q[:MAX_Q_LENGTH]
    q_credentials, text = find_credentials(lex, q)
    credentials = _credentials(lex, form, errors)
    zip_code, origin, radius = _place(form, errors)
    if errors:
        errors = errors.ordered(forms.field_names(SearchParams))
        first, message = errors.first()
        raise SearchParamError(first, message, errors)
    return SearchQuery(
        q=q, text=text, q_credentials=tuple(q_credentials), credentials=tuple(credentials),
        settings=tuple(form.setting), specialties=tuple(form.specialty),
        employment_types=tuple(form.employment_type), work_modes=tuple(form.work_mode), states=tuple(form.state),
        remote_state=form.remote_state, zip=zip_code, radius=radius, origin=origin, entry_level=form.entry_level,
        min_pay=form.min_pay, posted_within=int(form.posted_within) if form.posted_within else None, sort=form.sort, page=form.page, per_page=form.per_page, qualified=form.qualified,
        responsive=form.responsive,
    )


# ---- Meilisearch ---------------------------------------------------------------------------------


def quote(value: str) -> str:
    """A Meilisearch filter string literal."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _in(attribute: str, values) -> str:
    return f"{attribute} IN [{', '.join(quote(v) for v in values)}]"


def meili_filter(query: SearchQuery, all_codes: frozenset[str] | None = None) -> list[str]:
    """The filter expressions (ANDed) for `query`; only known attributes, every value quoted."""
    f: list[str] = []
    if query.q_credentials:
        f.append(_in("credentials", query.q_credentials))
    if query.credentials:
        f.append(_in("credentials", query.credentials))
    for attribute, values in (("settings", query.settings), ("specialties", query.specialties),
                              ("employment_type", query.employment_types), ("work_mode", query.work_modes),
                              ("state", query.states)):
        if values:
            f.append(_in(attribute, values))
    if query.remote_state:
        f.append(f'work_mode = "remote" AND (remote_all_states = true OR remote_states = {quote(query.remote_state)})')
    if query.origin and query.radius:
        lat, lng = query.origin
        f.append(f"_geoRadius({lat:.6f}, {lng:.6f}, {int(query.radius * geo.METERS_PER_MILE)})")
        f.append('work_mode != "remote"')
    if query.entry_level:
        f.append("entry_level_ok = true")
    if query.responsive:
        f.append("employer.responsive = true")
    if query.min_pay is not None:
        f.append(f"pay_annual_max >= {int(query.min_pay)}")
    if query.published_after is not None:
        f.append(f"published_at > {query.published_after.timestamp():.3f}")
    if query.posted_within:
        f.append(f"published_at >= {query.posted_since().timestamp():.3f}")
    if query.qualified_for is not None:
        held, home_state = query.qualified_for
        held = {c.upper() for c in held}
        not_held = sorted((all_codes or all_credential_codes()) - held)
        if not_held:
            f.append(f"credentials_required NOT IN [{', '.join(quote(c) for c in not_held)}]")
        if held:
            f.append(f"(credentials_any_of IS EMPTY OR {_in('credentials_any_of', sorted(held))})")
        else:
            f.append("credentials_any_of IS EMPTY")
        remote_ok = ['work_mode != "remote"', "remote_all_states = true"]
        if home_state:
            remote_ok.append(f"remote_states = {quote(home_state.upper())}")
        f.append("(" + " OR ".join(remote_ok) + ")")
    return f


_CODE_WORD = re.compile(r'(?<!\S)[^\s"]*\d[^\s"]*')


def exact_codes(text: str) -> str:
    """Quote every word holding a digit (99213, 0FB98ZX, J45.909) as a phrase, outside phrases already quoted:
    Meilisearch matches a phrase exactly (no typo, no prefix) and never drops it for fewer results."""
    parts = text.split('"')
    parts[::2] = [_CODE_WORD.sub(lambda m: f'"{m.group(0)}"', part) for part in parts[::2]]
    return '"'.join(parts)


def meili_request(query: SearchQuery, *, facets: list[str] | None = None, highlight: bool = True,
                  retrieve: list[str] = RETRIEVE) -> dict:
    """The body of one search for `query` (all facet attributes unless `facets` names them); `highlight=False` for
    callers that show no highlights (each highlighted hit comes back twice, as `_formatted` too)."""
    text = exact_codes(query.text)
    if query.q_credentials and query.sort == "relevance":
        # Credential words left the text for an exact filter; their rank tokens come back for ordering only.
        text = " ".join([text, *(credential_rank_token(code) for code in query.q_credentials)]).strip()
    body: dict[str, Any] = {
        "q": text,
        "page": query.page,
        "hitsPerPage": query.per_page,
        "attributesToRetrieve": retrieve,
    }
    filters = meili_filter(query)
    if filters:
        body["filter"] = " AND ".join(f"({x})" for x in filters)
    body["facets"] = list(FACETS.values()) if facets is None else facets
    if query.text and highlight:
        body.update(attributesToHighlight=["title", "description_excerpt"], highlightPreTag=PRE, highlightPostTag=POST)
    if query.sort == "newest":
        body["sort"] = ["published_at:desc"]
    elif query.sort == "pay":
        body["sort"] = ["pay_annual_max:desc", "published_at:desc"]  # no pay_annual_max (per chart) sorts last
    elif query.sort == "distance" and query.origin:
        body["sort"] = [f"_geoPoint({query.origin[0]:.6f}, {query.origin[1]:.6f}):asc"]
    return body


def highlight(text: str) -> Markup:
    """Escape Meilisearch's text (the listing's own words), then turn our sentinels into <mark>."""
    escaped = str(escape(text))
    opened = escaped.count(PRE)
    closed = escaped.count(POST)
    escaped = escaped.replace(PRE, "<mark>").replace(POST, "</mark>")
    if opened > closed:
        escaped += "</mark>" * (opened - closed)
    return Markup(escaped)


def _hit(doc: dict, query: SearchQuery, settings: Settings, formatted: dict | None = None) -> dict:
    hit = {
        "id": doc["id"],
        "url": settings.base_url.rstrip("/") + doc["url"],
        "path": doc["url"],
        "title": doc["title"],
        "employer": doc["employer"],
        "city": doc.get("city") or None,
        "state": doc.get("state") or None,
        "zip": doc.get("zip") or None,
        "lat": doc.get("lat"),
        "lng": doc.get("lng"),
        "credentials_required": doc.get("credentials_required", []),
        "credentials_any_of": doc.get("credentials_any_of", []),
        "credentials_preferred": doc.get("credentials_preferred", []),
        "settings": doc.get("settings", []),
        "specialties": doc.get("specialties", []),
        "code_sets": doc.get("code_sets", []),
        "work_mode": doc.get("work_mode"),
        "remote_states": doc.get("remote_states", []),
        "employment_type": doc.get("employment_type"),
        "min_years": doc.get("min_years", 0),
        "benefits": doc.get("benefits", ""),
        "application_deadline": doc.get("application_deadline"),
        "apply_url": doc.get("apply_url"),
        "requisition_id": doc.get("requisition_id"),
        "entry_level_ok": doc.get("entry_level_ok", False),
        "pay_min": doc.get("pay_min"),
        "pay_max": doc.get("pay_max"),
        "pay_unit": doc.get("pay_unit"),
        "pay_annual_min": doc.get("pay_annual_min"),
        "pay_annual_max": doc.get("pay_annual_max"),
        "published_at": doc.get("published_at_iso"),
        "expires_at": doc.get("expires_at_iso"),
        "confirmed_at": doc.get("confirmed_at_iso"),
        "status": ListingState.PUBLISHED,
        "featured": doc.get("featured", False),
        "description_excerpt": doc.get("description_excerpt", ""),
    }
    if query.origin:
        meters = doc.get("_geoDistance")
        if meters is not None:
            hit["distance_miles"] = round(meters / geo.METERS_PER_MILE, 1)
        elif doc.get("lat") is not None and doc.get("lng") is not None:
            hit["distance_miles"] = round(geo.miles_between(query.origin, (doc["lat"], doc["lng"])), 1)
        else:
            hit["distance_miles"] = None
    formatted = formatted or {}
    hit["title_html"] = highlight(formatted.get("title", hit["title"]))
    hit["excerpt_html"] = highlight(formatted.get("description_excerpt", hit["description_excerpt"]))
    return hit


def meili_multi_search(query: SearchQuery, index: str, *, highlight: bool = True,
                       retrieve: list[str] = RETRIEVE) -> dict:
    """The body of POST /multi-search for `query`: the main search (hits, and the counts of every facet group
    without a filter of its own), then one count-only search per active facet group, without that group's filter.
    """
    active = query.active_facets()
    main = meili_request(query, facets=[a for name, a in FACETS.items() if name not in active], highlight=highlight,
                         retrieve=retrieve)
    queries = [{"indexUid": index, **main}]
    for name in active:
        counting: dict[str, Any] = {"indexUid": index, "q": main["q"], "page": 1, "hitsPerPage": 0,
                                    "facets": [FACETS[name]]}
        filters = meili_filter(query.without_facet(name))
        if filters:
            counting["filter"] = " AND ".join(f"({x})" for x in filters)
        queries.append(counting)
    return {"queries": queries}


def facet_counts(query: SearchQuery, distributions: list[dict | None], *, empty: Any = None) -> dict[str, Any]:
    """Each facet group's counts from the `facetDistribution`s of the multi-search answer of
    `meili_multi_search(query, ...)`, in the order of its results; a group nobody counted gets `empty` (a new
    `{}` by default). The counts are whatever the distributions hold: dicts, or the API's raw JSON."""
    own = dict(zip(query.active_facets(), distributions[1:]))
    facets = {}
    for name, attribute in FACETS.items():
        distribution = (own[name] if name in own else distributions[0]) or {}
        facets[name] = distribution.get(attribute) or ({} if empty is None else empty)
    return facets


async def _search_meilisearch(query: SearchQuery, settings: Settings) -> SearchResult:
    results = (await http_for(settings).multi_search(meili_multi_search(query, settings.meili_index)))["results"]
    data = results[0]
    hits = [_hit(doc, query, settings, doc.get("_formatted")) for doc in data.get("hits", [])]
    facets = facet_counts(query, [r.get("facetDistribution") for r in results])
    return SearchResult(query=query, hits=hits, total=int(data.get("totalHits", len(hits))), page=query.page,
                        per_page=query.per_page, facets=facets)


async def search_listings(query: SearchQuery, settings: Settings, *, allow_degraded: bool = True) -> SearchResult:
    """Run a search: Meilisearch when it answers, else the database (`degraded=True`)."""
    await refresh_lexicon()
    try:
        return await _search_meilisearch(query, settings)
    except SearchUnavailable as exc:
        if not allow_degraded:
            raise
        log.warning("search: Meilisearch unavailable (%s); answering from the database", exc)
    return await search_database(query, settings)


# ---- similar jobs (the listing page) --------------------------------------------------------------


def similar_request(credentials: list[str], coding_settings: list[str], *, work_mode: str,
                    origin: tuple[float, float] | None) -> dict | None:
    """The search for listings sharing a credential and a setting (each only if the listing names any): nearest
    first for onsite and hybrid listings with a place, newest first otherwise. None when there is nothing to share."""
    filters = [_in(attribute, values) for attribute, values in (("credentials", credentials),
                                                                ("settings", coding_settings)) if values]
    if not filters:
        return None
    nearest = work_mode != "remote" and origin is not None
    return {
        "q": "",
        "filter": " AND ".join(f"({x})" for x in filters),
        "limit": SIMILAR_LIMIT + 1,  # one more: the listing itself is among the matches
        "attributesToRetrieve": RETRIEVE,
        "sort": [f"_geoPoint({origin[0]:.6f}, {origin[1]:.6f}):asc"] if nearest else ["published_at:desc"],
    }


async def similar_listings(listing_id: int, credentials: list[str], coding_settings: list[str], settings: Settings, *,
                           work_mode: str, origin: tuple[float, float] | None) -> list[dict]:
    """Up to SIMILAR_LIMIT other published listings like this one, in one Meilisearch request (see
    `similar_request`); an empty list when Meilisearch cannot answer: the listing page never fails for it."""
    body = similar_request(credentials, coding_settings, work_mode=work_mode, origin=origin)
    if body is None:
        return []
    try:
        data = await http_for(settings).search(settings.meili_index, body)
    except (SearchUnavailable, SearchEngineError) as exc:
        log.warning("search: no similar jobs for listing %s (%s)", listing_id, exc)
        return []
    query = SearchQuery(origin=origin if body["sort"][0].startswith("_geoPoint") else None)
    hits = [_hit(doc, query, settings) for doc in data.get("hits", []) if doc["id"] != listing_id]
    return hits[:SIMILAR_LIMIT]


# ---- degraded mode: the database -----------------------------------------------------------------


def _like(word: str) -> str:
    return "%" + word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _placeholders(values) -> str:
    return ", ".join("{}" for _ in values)


def database_conditions(query: SearchQuery, all_codes: frozenset[str] | None = None) -> tuple[list[str], list[Any]]:
    """SQL conditions (ANDed, `{}` placeholders) over `listings l JOIN employers e` for every filter of `query`."""
    conds, args = listing_service.public_sql("l")
    for word in query.text.split():
        conds.append("(LOWER(l.title) LIKE {} ESCAPE '\\' OR LOWER(e.name) LIKE {} ESCAPE '\\')")
        args += [_like(word), _like(word)]
    for codes in (query.q_credentials, query.credentials):
        if codes:
            conds.append(f"l.id IN (SELECT listing FROM listing_credentials WHERE credential IN ({_placeholders(codes)}))")
            args += list(codes)
    for table, values in (("listing_settings", query.settings), ("listing_specialties", query.specialties)):
        if values:
            conds.append(f"l.id IN (SELECT listing FROM {table} WHERE value IN ({_placeholders(values)}))")
            args += list(values)
    for column, values in (("employment_type", query.employment_types), ("work_mode", query.work_modes),
                           ("state", query.states)):
        if values:
            conds.append(f"l.{column} IN ({_placeholders(values)})")
            args += list(values)
    if query.remote_state:
        conds.append("l.work_mode = 'remote' AND (NOT EXISTS (SELECT 1 FROM listing_remote_states r WHERE r.listing = l.id)"
                     " OR l.id IN (SELECT listing FROM listing_remote_states WHERE value = {}))")
        args.append(query.remote_state)
    if query.origin and query.radius:
        lat, lng = query.origin
        dlat = query.radius / 69.0 + 0.01
        dlng = query.radius / max(1.0, 69.172 * math.cos(math.radians(lat))) + 0.01
        conds.append("l.work_mode <> 'remote' AND l.lat IS NOT NULL AND l.lng IS NOT NULL"
                     " AND l.lat BETWEEN {} AND {} AND l.lng BETWEEN {} AND {}")
        args += [lat - dlat, lat + dlat, lng - dlng, lng + dlng]
    if query.entry_level:
        conds.append("l.entry_level_ok = {}")
        args.append(True)
    if query.responsive:  # the same rule as employers.response_record.ResponseRecord.responsive
        conds.append("e.response_counted >= {} AND e.response_within_14_days >= {}")
        args += [MIN_COUNTED, RESPONSIVE_SHARE]
    if query.min_pay is not None:
        conds.append("l.pay_annual_max >= {}")
        args.append(int(query.min_pay))
    if query.published_after is not None:
        conds.append("l.published_at > {}")
        args.append(query.published_after)
    if query.posted_within:
        conds.append("l.published_at >= {}")
        args.append(query.posted_since())
    if query.qualified_for is not None:
        held, home_state = query.qualified_for
        held = sorted({c.upper() for c in held})
        not_held_sql = f" AND c.credential NOT IN ({_placeholders(held)})" if held else ""
        conds.append("NOT EXISTS (SELECT 1 FROM listing_credentials c WHERE c.listing = l.id AND c.kind = 'required'"
                     + not_held_sql + ")")
        args += held
        any_of = "NOT EXISTS (SELECT 1 FROM listing_credentials c WHERE c.listing = l.id AND c.kind = 'any_of')"
        if held:
            any_of = (f"({any_of} OR EXISTS (SELECT 1 FROM listing_credentials c WHERE c.listing = l.id"
                      f" AND c.kind = 'any_of' AND c.credential IN ({_placeholders(held)})))")
            args += held
        conds.append(any_of)
        remote = "l.work_mode <> 'remote' OR NOT EXISTS (SELECT 1 FROM listing_remote_states r WHERE r.listing = l.id)"
        if home_state:
            remote += " OR EXISTS (SELECT 1 FROM listing_remote_states r WHERE r.listing = l.id AND r.value = {})"
            args.append(home_state.upper())
        conds.append("(" + remote + ")")
    return conds, args


async def search_database(query: SearchQuery, settings: Settings) -> SearchResult:
    """The degraded path: the same filters as a plain database query, newest first (or pay / distance)."""
    conds, args = database_conditions(query)
    where = " AND ".join(conds)
    base = "FROM listings l JOIN employers e ON e.id = l.employer WHERE " + where
    offset = (query.page - 1) * query.per_page
    distances: dict[int, float] = {}
    if query.origin:
        rows = await db.fetch("SELECT l.id, l.lat, l.lng, l.published_at, l.pay_annual_max " + base, *args)
        kept = []
        for row in rows:
            miles = geo.miles_between(query.origin, (row["lat"], row["lng"]))
            if miles <= (query.radius or DEFAULT_RADIUS):
                distances[row["id"]] = miles
                kept.append(row)
        if query.sort == "distance":
            kept.sort(key=lambda r: (distances[r["id"]], -r["id"]))
        elif query.sort == "pay":
            kept.sort(key=lambda r: (r["pay_annual_max"] is None, -(r["pay_annual_max"] or 0), _ts(r), r["id"]))
        else:
            kept.sort(key=lambda r: (_ts(r), r["id"]), reverse=True)
        total = len(kept)
        ids = [r["id"] for r in kept[offset:offset + query.per_page]]
    else:
        count = await db.fetch("SELECT COUNT(*) AS n " + base, *args)
        total = int(count[0]["n"]) if count else 0
        if query.sort == "pay":
            order = "(l.pay_annual_max IS NULL), l.pay_annual_max DESC, l.published_at DESC, l.id DESC"
        else:
            order = "l.published_at DESC, l.id DESC"
        rows = await db.fetch(f"SELECT l.id {base} ORDER BY {order} LIMIT {{}} OFFSET {{}}", *args,
                              query.per_page, offset)
        ids = [r["id"] for r in rows]
    docs = await documents_for(ids)
    hits = []
    for listing_id in ids:
        doc = docs.get(listing_id)
        if doc is None:
            continue
        if listing_id in distances:
            doc["_geoDistance"] = distances[listing_id] * geo.METERS_PER_MILE
        hits.append(_hit(doc, query, settings))
    return SearchResult(query=query, hits=hits, total=total, page=query.page, per_page=query.per_page,
                        facets=await database_facets(query), degraded=True)


# facet name -> (the join that brings its values, the value expression)
_FACET_SQL = {
    "credential": ("JOIN listing_credentials fv ON fv.listing = l.id", "fv.credential"),
    "setting": ("JOIN listing_settings fv ON fv.listing = l.id", "fv.value"),
    "work_mode": ("", "l.work_mode"),
    "state": ("", "l.state"),
    "employment_type": ("", "l.employment_type"),
}


async def database_facets(query: SearchQuery) -> dict[str, dict[str, int]]:
    """The degraded path's facet counts, disjunctive like Meilisearch's, in one statement (UNION ALL per group).

    With a ZIP radius the rows come back per listing and are counted in Python after the exact distance check.
    """
    parts: list[str] = []
    args: list[Any] = []
    for name, (join, value) in _FACET_SQL.items():
        conds, cond_args = database_conditions(query.without_facet(name))
        conds.append(f"{value} IS NOT NULL AND {value} <> ''")
        picked = "l.id AS listing_id, l.lat, l.lng" if query.origin else "COUNT(DISTINCT l.id) AS n"
        group = "" if query.origin else f" GROUP BY {value}"
        parts.append(f"SELECT '{name}' AS facet, {value} AS value, {picked} FROM listings l"
                     f" JOIN employers e ON e.id = l.employer {join} WHERE {' AND '.join(conds)}{group}")
        args += cond_args
    facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    within: dict[tuple[str, str], set[int]] = {}
    for row in await db.fetch(" UNION ALL ".join(parts), *args):
        if not query.origin:
            facets[row["facet"]][row["value"]] = int(row["n"])
        elif geo.miles_between(query.origin, (row["lat"], row["lng"])) <= (query.radius or DEFAULT_RADIUS):
            within.setdefault((row["facet"], row["value"]), set()).add(row["listing_id"])
    for (name, value), listing_ids in within.items():
        facets[name][value] = len(listing_ids)
    return facets


def _ts(row: dict) -> float:
    value = row.get("published_at")
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).timestamp()
        except ValueError:
            return 0.0
    return 0.0

