"""Pay insights pages (`/pay`, `/pay/{credential}`) and their JSON API (`GET /api/v1/pay`).

The rules live in `listings.pay`; chart geometry in `listings.pay_charts`; figures are cached per process at the
listings' change stamp (`listings.pay_cache`).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careers.core.web import render
from listings import pay, pay_cache, pay_charts, service
from listings import vocabulary as vocab
from listings.schemas import ApiError

Repeatable = Annotated[list[str] | None, QueryParameter(description="Repeatable: any of the values.")]
GROUPINGS = {"state": "By state", "setting": "By coding setting"}


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


class PayApiController(Controller):
    path = "/api/v1/pay"
    include_in_schema = True
    tags = ["pay"]

    @get(
        "/",
        summary="Annual pay of published listings",
        description=(
            "Computed over published, visible listings that match every given parameter (each parameter repeatable, "
            "any of its values). A listing matches a credential named as required, any-of or preferred (codes are "
            "exact: CPC never matches CPC-A) and counts once, at the midpoint of its annual range: yearly pay, or "
            "hourly pay × 2,080; per-chart listings have no annual figure and are left out. `p25`, `p50` and `p75` "
            "are Python's `statistics.quantiles(values, n=4, method=\"inclusive\")`; every figure is rounded half up "
            "to whole dollars. `count` is the number of listings that counted; the six figures are null when it is "
            "below 5."
        ),
        responses={400: ResponseSpec(data_container=ApiError, description="Invalid parameters, each named in `fields`.")},
    )
    async def pay_figures(
        self,
        request: Request,
        credential: Annotated[list[str] | None, QueryParameter(
            description="Credential code or alias (repeatable, any of): required, any-of or preferred.")] = None,
        setting: Repeatable = None,
        location_state: Annotated[list[str] | None, QueryParameter(
            name="state", description="Listing location state, two letters (repeatable, any of).")] = None,
        work_mode: Annotated[list[str] | None, QueryParameter(
            description="remote, hybrid or onsite (repeatable, any of).")] = None,
    ) -> pay.PaySummary:
        return await pay_cache.summary(await pay.read_filter(_params(request)))


class PayPagesController(Controller):
    path = "/pay"
    include_in_schema = False

    @get("/")
    async def overview(self, request: Request) -> Template:
        credentials = await pay_cache.credential_overview()
        groups = [pay.PayGroup(key=c["code"], label=c["code"], summary=c["summary"]) for c in credentials]
        return render(request, "listings/pay_overview.html", {
            "credentials": credentials, "chart": pay_charts.range_bars(groups), "min_sample": pay.MIN_SAMPLE,
            "table_rows": [(c["code"], f"/pay/{c['code']}", c["summary"]) for c in credentials],
        })

    @get("/{code:str}")
    async def credential(self, request: Request, code: FromPath[str],
                         by: Annotated[str | None, QueryParameter(name="by")] = None) -> Template | Redirect:
        """One credential's pay; an alias or another spelling (cpc, CPC-H) redirects to the code's own address."""
        canonical = (await service.credential_lookup()).get(code.strip().upper())
        if canonical is None:
            raise NotFoundException()
        if canonical != code:
            query = request.url.query
            return Redirect(path=f"/pay/{canonical}" + (f"?{query}" if query else ""), status_code=301)
        params = {k: v for k, v in _params(request).items() if k != "credential"}
        try:
            pay_filter = await pay.read_filter(params, credential=code)
        except pay.PayInvalid:
            pay_filter = pay.PayFilter(credentials=(code,))  # a hand-edited link: show the credential unfiltered
        by = by if by in GROUPINGS else "state"
        summary, groups, months = await pay_cache.credential_page(pay_filter, by)
        return render(request, "listings/pay_credential.html", {
            "code": code, "name": (await service.credential_names()).get(code, code), "filter": pay_filter,
            "summary": summary, "by": by, "groupings": GROUPINGS, "groups": groups,
            "chart": pay_charts.range_bars(groups), "trend": pay_charts.trend_line(months), "months": months,
            "min_sample": pay.MIN_SAMPLE, "vocab": vocab, "table_rows": [(g.label, None, g.summary) for g in groups],
        })


ROUTES = [PayApiController, PayPagesController]
