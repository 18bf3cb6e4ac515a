"""The /jobs search page (and its landing pages) and the JSON API GET /api/v1/listings.

Both read the same URL parameters through `search.service.parse_query` and run
`search.service.search_listings`; this module only parses, authorises and renders.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.response import Template

from careers.coders.one_click import applied_listing_ids, one_click_ids
from careers.coders.saved import saved_listing_ids
from careers.coders.service import qualification_profile
from careers.core import db
from careers.core.config import Settings
from careers.core.web import render
from listings.vocabulary import EMPLOYMENT_TYPES, SETTINGS, SPECIALTIES, US_STATES, WORK_MODES
from search import api, service
from search.cards import card
from search.schemas import ApiError, ListingSearchResponse
from search.service import RADIUS_CHOICES, SearchParamError, SearchQuery, SearchResult

POSTED_WITHIN_LABELS = {"1": "Past 24 hours", "3": "Past 3 days", "7": "Past week", "14": "Past 2 weeks",
                        "30": "Past 30 days"}
SORT_LABELS = {"relevance": "Best match", "newest": "Newest", "pay": "Highest pay", "distance": "Nearest"}
QUALIFIED_ONLY_CODERS = "Sign in as a coder with a profile to see only the jobs you qualify for."


REPEATABLE_PARAMS = ("credential", "setting", "specialty", "employment_type", "work_mode", "state")


def query_params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


async def resolve_qualified(request: Request, query: SearchQuery) -> tuple[SearchQuery, str | None]:
    """Turn `qualified=true` into the coder's (held credentials, home state); a message when it cannot apply."""
    if not query.qualified:
        return query, None
    user = request.scope.get("user")
    if user is None or user.role != "coder":
        return query, QUALIFIED_ONLY_CODERS
    held, home_state = await qualification_profile(user.id)  # the coders domain owns the profile
    return query.replace(qualified_for=(frozenset(c.upper() for c in held), home_state or None)), None


# ---- the page ---------------------------------------------------------------------------------


def _url(params: list[tuple[str, str]]) -> str:
    return "/jobs" + ("?" + urlencode(params) if params else "")


def active_filters(query: SearchQuery) -> list[tuple[str, str, str]]:
    """(chip label, sentence label, URL of the same search without it) for every filter in force."""
    base = query.params(page=None)
    links: list[tuple[str, str, str]] = []

    def without(name: str, value: str | None = None) -> str:
        return _url([(k, v) for k, v in base if not (k == name and (value is None or v == value))])

    if query.q:
        links.append((f'"{query.q}"', f'the keywords "{query.q}"', without("q")))
    # (the chosen values, their URL parameter, the words naming them, their labels; credentials show their code)
    for values, param, noun, labels in (
        (query.credentials, "credential", "credential", None), (query.settings, "setting", "setting", SETTINGS),
        (query.specialties, "specialty", "specialty", SPECIALTIES),
        (query.work_modes, "work_mode", "work mode", WORK_MODES),
        (query.employment_types, "employment_type", "employment type", EMPLOYMENT_TYPES),
        (query.states, "state", "state", US_STATES),
    ):
        for value in values:
            label = labels[value] if labels else value
            links.append((label, f"{noun} {label}", without(param, value)))
    if query.remote_state:
        links.append((f"Remote, open to {query.remote_state}",
                      f"remote jobs open to residents of {US_STATES[query.remote_state]}", without("remote_state")))
    if query.zip:
        links.append((f"{query.radius} mi of {query.zip}", f"within {query.radius} miles of {query.zip}",
                      _url([(k, v) for k, v in base if k not in ("zip", "radius") and not (k == "sort" and v == "distance")])))
    if query.entry_level:
        links.append(("Entry level", "entry-level only", without("entry_level")))
    if query.min_pay is not None:
        links.append((f"${query.min_pay:,}+/yr", f"minimum pay ${query.min_pay:,}", without("min_pay")))
    if query.posted_within:
        label = POSTED_WITHIN_LABELS[str(query.posted_within)]
        links.append((label, f"posted in the {label.lower()}", without("posted_within")))
    if query.qualified:
        links.append(("Jobs I qualify for", "only jobs I qualify for", without("qualified")))
    if query.responsive:
        links.append(("Employers who respond", "only employers who respond", without("responsive")))
    return links


def removal_links(query: SearchQuery) -> list[tuple[str, str]]:
    """One link per active filter, each the same search without it (for the empty state)."""
    return [(sentence, url) for _chip, sentence, url in active_filters(query)]


def options(labels: dict[str, str], counts: dict[str, int] | None, selected) -> list[dict]:
    """Checkbox options with their facet counts: 0 for a value no result has, None when there are no facets."""
    missing = None if not counts else 0
    counts = {k.lower(): v for k, v in (counts or {}).items()}
    return [{"value": value, "label": label, "count": counts.get(value.lower(), missing), "selected": value in selected}
            for value, label in labels.items()]


def page_links(result: SearchResult) -> list[dict]:
    pages = result.pages
    current = result.page
    shown = sorted({1, pages, *range(max(1, current - 2), min(pages, current + 2) + 1)})
    return [{"number": n, "url": _url(result.query.params(page=n if n != 1 else None)), "current": n == current}
            for n in shown]


async def search_page(request: Request, settings: Settings, fixed: dict[str, list[str]] | None = None, *,
                      heading: str = "Find coding jobs", intro: str = "") -> Template:
    await service.refresh_lexicon()
    params = query_params(request)
    for name, values in (fixed or {}).items():
        params[name] = list(dict.fromkeys([*values, *params.get(name, [])]))
    errors: dict[str, str] = {}
    result = None
    notice = None
    try:
        query = service.parse_query(params)
    except SearchParamError as exc:
        errors = exc.fields
        query = SearchQuery()
    if not errors:
        query, notice = await resolve_qualified(request, query)
        result = await service.search_listings(query, settings)
    lex = service.lexicon()
    user = request.scope.get("user")
    saved_ids: set[int] = set()
    one_click, applied_ids = set(), set()
    if result and user is not None and user.role == "coder":
        shown = [h["id"] for h in result.hits]
        saved_ids, one_click, applied_ids = await db.gather(
            saved_listing_ids(user.id, shown), one_click_ids(user, result.hits), applied_listing_ids(user.id, shown))
    facets = result.facets if result else {}
    credential_labels = {t.code: f"{t.code} — {t.full_name}" for t in lex.credentials}
    names = {t.code: t.full_name for t in lex.credentials}
    highlight = frozenset(query.credentials) | (query.qualified_for[0] if query.qualified_for else frozenset())
    radius_choices = list(RADIUS_CHOICES)
    if query.radius and query.radius not in radius_choices:
        radius_choices = sorted([*radius_choices, query.radius])
    context: dict[str, Any] = {
        "heading": heading,
        "intro": intro,
        "query": query,
        "raw": {k: (v[0] if v else "") for k, v in params.items()},
        "result": result,
        "cards": [card(h, highlight, names) for h in result.hits] if result else [],
        "saved_ids": saved_ids,
        "one_click": one_click,
        "applied_ids": applied_ids,
        "active_filters": [(chip, url) for chip, _sentence, url in active_filters(query)],
        "out_of_range": bool(result and result.total and query.page > result.pages),
        "last_page_url": _url(query.params(page=result.pages if result.pages > 1 else None)) if result else None,
        "errors": errors,
        "notice": notice,
        "credential_options": options(credential_labels, facets.get("credential"),
                                      set(query.credentials)),
        "setting_options": options(SETTINGS, facets.get("setting"), set(query.settings)),
        "specialty_options": options(SPECIALTIES, None, set(query.specialties)),
        "work_mode_options": options(WORK_MODES, facets.get("work_mode"), set(query.work_modes)),
        "employment_options": options(EMPLOYMENT_TYPES, facets.get("employment_type"), set(query.employment_types)),
        "state_options": options(US_STATES, facets.get("state"), set(query.states)),
        "remote_state_options": options(US_STATES, None, {query.remote_state} if query.remote_state else set()),
        "radius_choices": radius_choices,
        "sort_labels": SORT_LABELS,
        "sort_choices": [(value, label + (" (needs a ZIP code)" if value == "distance" else ""), query.sort == value)
                         for value, label in SORT_LABELS.items()],
        "posted_within_labels": POSTED_WITHIN_LABELS,
        "removal_links": removal_links(query) if result is not None and not result.hits else [],
        "page_links": page_links(result) if result and result.total > result.per_page else [],
        "prev_url": _url(query.params(page=query.page - 1 if query.page > 2 else None)) if query.page > 1 else None,
        "next_url": (_url(query.params(page=query.page + 1)) if result and query.page < result.pages else None),
    }
    status = 400 if errors else (404 if context["out_of_range"] else 200)
    response = render(request, results_template(request), context, status_code=status)
    response.headers["Vary"] = "HX-Request, HX-Target"  # the same address answers a fragment to htmx
    return response


def results_template(request: Request) -> str:
    """htmx asks for the results alone (filters changed) or the next cards ("load more"); everything else, and
    every request without JavaScript, gets the whole page."""
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.history_restore_request:
        if htmx.target == "results":
            return "search/_results.html"
        if htmx.target == "load-more":
            return "search/_more.html"
    return "search/jobs.html"


class JobSearchController(Controller):
    path = "/jobs"
    include_in_schema = False

    @get("/")
    async def jobs(self, request: Request, settings: NamedDependency[Settings]) -> Template:
        return await search_page(request, settings)

    @get("/credential/{code:str}")
    async def by_credential(self, request: Request, settings: NamedDependency[Settings],
                            code: FromPath[str]) -> Template:
        await service.refresh_lexicon()
        term = service.lexicon().by_code.get(code.upper())
        if term is None:
            raise NotFoundException()
        return await search_page(request, settings, {"credential": [term.code]}, heading=f"{term.code} jobs",
                                 intro=f"Jobs for {term.full_name} ({term.code}) holders.")

    @get("/state/{st:str}")
    async def by_state(self, request: Request, settings: NamedDependency[Settings], st: FromPath[str]) -> Template:
        code = st.upper()
        if code not in US_STATES:
            raise NotFoundException()
        return await search_page(request, settings, {"state": [code]}, heading=f"Coding jobs in {US_STATES[code]}")

    @get("/remote")
    async def remote(self, request: Request, settings: NamedDependency[Settings]) -> Template:
        return await search_page(request, settings, {"work_mode": ["remote"]}, heading="Remote coding jobs")


# ---- the JSON API ------------------------------------------------------------------------------

Repeatable = Annotated[list[str] | None, QueryParameter(description="Repeatable: any of the values.")]


class ListingSearchApiController(Controller):
    path = "/api/v1/listings"
    include_in_schema = True
    tags = ["listings"]

    @get(
        "/",
        summary="Search published listings",
        description=(
            "Credential codes are case-insensitive and matched exactly (CPC never matches CPC-A, CPCO or CPB); "
            "a credential code or full name in `q` acts as a credential filter. `total` is capped at 1,000 "
            "(Meilisearch maxTotalHits). When the search engine is unreachable the answer is still 200 with "
            "`degraded: true` and results from the database (newest first).\n\n"
            "Facets are disjunctive: each group in `facets` is counted as if its own filter were absent, with every "
            "other filter applied. With `credential=CPC`, `facets.credential` still counts CCS, CRC, …: each the "
            "`total` that choosing that credential instead of CPC would give (the same for `setting`, `work_mode`, "
            "`state` and `employment_type`); the other groups count within the CPC result. Credential words in `q` "
            "are part of the query, not of the `credential` group. Degraded answers count the same way.\n\n"
            "Every hit's `employer.response` is the employer's response record (applications of the last 180 days, "
            "computed by the worker): `median_first_action_days`, `status_within_14_days` (0–1) and "
            "`applications_counted`; both figures are null below 5 counted applications. `responsive=true` keeps "
            "employers with at least 5 counted applications of which at least half got a status within 14 days. "
            "Ranking: listings of employers with the \"Responds quickly\" badge (median ≤ 3 days and ≥ 80% within "
            "14 days) get a 2-day head start in the freshness tie-breaker after relevance (featured listings get 7 "
            "days); it never beats a better text match, and an explicit sort replaces it."
        ),
        responses={400: ResponseSpec(data_container=ApiError, description="Invalid parameters, each named in `fields`.")},
    )
    async def search(
        self,
        request: Request,
        settings: NamedDependency[Settings],
        q: Annotated[str | None, QueryParameter(description="Keywords; credential words become credential filters.")] = None,
        credential: Annotated[list[str] | None, QueryParameter(description="Credential code (repeatable, any of): required, any-of or preferred.")] = None,
        setting: Repeatable = None,
        specialty: Repeatable = None,
        employment_type: Repeatable = None,
        work_mode: Repeatable = None,
        location_state: Annotated[list[str] | None, QueryParameter(name="state", description="Listing location state (repeatable, any of).")] = None,
        remote_state: Annotated[str | None, QueryParameter(description="Remote listings open to residents of this state.")] = None,
        zip: Annotated[str | None, QueryParameter(description="US ZIP code; remote listings are left out.")] = None,
        radius: Annotated[str | None, QueryParameter(description="Miles from `zip`, 1–500 (default 50).")] = None,
        entry_level: Annotated[str | None, QueryParameter(description="true: only entry-level / CPC-A welcome.")] = None,
        min_pay: Annotated[str | None, QueryParameter(description="Annual dollars; pay_annual_max must reach it.")] = None,
        posted_within: Annotated[str | None, QueryParameter(description="Date posted: published within the last 1, 3, 7, 14 or 30 days.")] = None,
        sort: Annotated[str | None, QueryParameter(description="relevance (default), newest, pay or distance (needs zip).")] = None,
        page: Annotated[str | None, QueryParameter(description="1-based page.")] = None,
        per_page: Annotated[str | None, QueryParameter(description="Results per page, default 20, at most 100.")] = None,
        qualified: Annotated[str | None, QueryParameter(description="true: only jobs the signed-in coder qualifies for.")] = None,
        responsive: Annotated[str | None, QueryParameter(
            description="true: only employers who respond (≥ 5 applications counted, ≥ 50% answered in 14 days).")
        ] = None,
    ) -> Response[ListingSearchResponse]:
        await service.refresh_lexicon()
        params = query_params(request)
        # The page's forms send empty choices (ignored there); an API caller's empty filter value is a mistake.
        empty = sorted(name for name in REPEATABLE_PARAMS if "" in params.get(name, ()))
        if empty:
            raise SearchParamError(empty[0], "Give a value or leave the parameter out.",
                                   {name: "Give a value or leave the parameter out." for name in empty})
        query, problem = await resolve_qualified(request, service.parse_query(params))
        if problem:
            raise SearchParamError("qualified", problem)
        return Response(await api.search(query, settings), media_type=MediaType.JSON)  # JSON bytes already


ROUTES = [JobSearchController, ListingSearchApiController]
