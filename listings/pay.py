"""Pay insights: what published listings pay, by credential, setting, state and work mode.

One rule everywhere (the API, the pay pages, their charts): a listing counts once, at the midpoint of its
annual range (`pay_annual_min/max`: yearly pay, or hourly × 2,080; per-chart pay has none and is left out);
percentiles are `statistics.quantiles(values, n=4, method="inclusive")`, rounded half up to whole dollars;
below `MIN_SAMPLE` listings every figure is null (a figure from three postings says little and can point at
one employer). The API and the summary read only visible listings (`listings.service.public_where()`); the
trend by month also reads listings that have since expired or closed.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import msgspec

from careers.core import clock, forms
from careers.core.errors import Invalid
from careers.core.forms import Choices
from listings import service
from listings import vocabulary as vocab
from listings.tables import Listing, ListingCredential, ListingSetting

MIN_SAMPLE = 5  # below this many listings a figure is null
TREND_MONTHS = 12
TREND_STATES = (vocab.ListingState.PUBLISHED, vocab.ListingState.EXPIRED, vocab.ListingState.CLOSED)


class PayParams(msgspec.Struct, kw_only=True):
    """The URL parameters of GET /api/v1/pay and the pay pages (repeated or comma-separated; case-insensitive)."""

    credential: Annotated[list[str], Choices()]  # codes or aliases, matched against the taxonomy
    setting: Annotated[list[str], Choices(vocab.SETTINGS, "Unknown setting: {raw}.", case="lower")]
    state: Annotated[list[str], Choices(vocab.US_STATES, "Unknown state: {raw}.", case="upper")]
    work_mode: Annotated[list[str], Choices(vocab.WORK_MODES, "Unknown work mode: {raw}.", case="lower")]


class PayFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which listings a pay figure is about; an empty tuple means "any". Credentials match required ∪ any-of ∪
    preferred, exactly (CPC never matches CPC-A)."""

    credentials: tuple[str, ...] = ()
    settings: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    work_modes: tuple[str, ...] = ()

    def query_string(self, **extra: str) -> str:
        """The filter as URL parameters (the pay pages' links), credential left out when it is in the path."""
        pairs = [("setting", v) for v in self.settings] + [("state", v) for v in self.states] + [
            ("work_mode", v) for v in self.work_modes] + [(k, v) for k, v in extra.items() if v]
        return "&".join(f"{k}={v}" for k, v in pairs)


class PaySummary(msgspec.Struct, kw_only=True):
    """Annual pay of the listings that counted: `count` always; the six figures null below 5 listings."""

    count: int
    unit: str = "year"
    p25: float | None = None
    p50: float | None = None
    p75: float | None = None
    min: float | None = None
    max: float | None = None


class PayInvalid(service.ListingError, Invalid):
    """A pay parameter that cannot be read; `fields` names each one."""


def whole_dollars(value: float) -> float:
    """Half up to whole dollars (Python's round() would send 52,500.5 down to the even 52,500)."""
    return float(math.floor(value + 0.5))


def summarise(values: Iterable[float]) -> PaySummary:
    """The summary of annual midpoints: quartiles by `statistics.quantiles(n=4, method="inclusive")`."""
    values = sorted(values)
    if len(values) < MIN_SAMPLE:
        return PaySummary(count=len(values))
    p25, p50, p75 = statistics.quantiles(values, n=4, method="inclusive")
    return PaySummary(count=len(values), p25=whole_dollars(p25), p50=whole_dollars(p50), p75=whole_dollars(p75),
                      min=whole_dollars(values[0]), max=whole_dollars(values[-1]))


def midpoint(row: Mapping[str, Any]) -> float | None:
    """A listing's annual midpoint, or None for per-chart pay (no annual figure)."""
    low, high = row["pay_annual_min"], row["pay_annual_max"]
    if low is None or high is None or row.get("pay_unit") == "chart":
        return None
    return (low + high) / 2


async def read_filter(params: Mapping[str, Any], *, credential: str | None = None) -> PayFilter:
    """URL parameters (and a credential from the path) → a PayFilter; raises PayInvalid naming each bad one."""
    form, errors = forms.read(PayParams, params)
    lookup = await service.credential_lookup()
    codes: list[str] = []
    for raw in ([credential] if credential else []) + form.credential:
        code = lookup.get(raw.strip().upper())
        if code is None:
            errors.add("credential", f"Unknown credential: {raw}.")
        elif code not in codes:
            codes.append(code)
    if errors:
        field, message = errors.first()
        raise PayInvalid(message, field=field, fields=dict(errors))
    return PayFilter(credentials=tuple(codes), settings=tuple(form.setting), states=tuple(form.state),
                     work_modes=tuple(form.work_mode))


def _where(pay_filter: PayFilter, visible):
    condition = visible & (Listing.pay_unit != "chart") & Listing.pay_annual_min.is_not_null()
    if pay_filter.credentials:
        condition &= Listing.id.is_in(ListingCredential.select(ListingCredential.listing).where(
            ListingCredential.credential.is_in(list(pay_filter.credentials))))
    if pay_filter.settings:
        condition &= Listing.id.is_in(ListingSetting.select(ListingSetting.listing).where(
            ListingSetting.value.is_in(list(pay_filter.settings))))
    if pay_filter.states:
        condition &= Listing.state.is_in(list(pay_filter.states))
    if pay_filter.work_modes:
        condition &= Listing.work_mode.is_in(list(pay_filter.work_modes))
    return condition


async def _rows(pay_filter: PayFilter, visible=None) -> list[dict]:
    visible = service.public_where() if visible is None else visible
    return await Listing.select(Listing.id, Listing.state, Listing.pay_unit, Listing.pay_annual_min,
                                Listing.pay_annual_max, Listing.published_at).where(_where(pay_filter, visible))


async def pay_summary(pay_filter: PayFilter) -> PaySummary:
    """GET /api/v1/pay: the pay of every visible listing that matches, each counted once (one statement)."""
    return summarise(m for m in map(midpoint, await _rows(pay_filter)) if m is not None)


class PayGroup(msgspec.Struct, kw_only=True):
    key: str
    label: str
    summary: PaySummary


async def pay_by(pay_filter: PayFilter, group: str) -> list[PayGroup]:
    """The summary per location state (`group="state"`) or per coding setting (`"setting"`), largest first.

    A listing with two settings counts in both; remote listings without a workplace have no state.
    """
    rows = [r for r in await _rows(pay_filter) if midpoint(r) is not None]
    values: dict[str, list[float]] = defaultdict(list)
    if group == "setting":
        ids = [r["id"] for r in rows]
        by_id = {r["id"]: midpoint(r) for r in rows}
        settings = await ListingSetting.select(ListingSetting.listing, ListingSetting.value).where(
            ListingSetting.listing.is_in(ids)) if ids else []
        for row in settings:
            values[row["value"]].append(by_id[row["listing"]])
        labels = vocab.SETTINGS
    else:
        for row in rows:
            if row["state"]:
                values[row["state"]].append(midpoint(row))
        labels = vocab.US_STATES
    groups = [PayGroup(key=k, label=labels.get(k, k), summary=summarise(v)) for k, v in values.items()]
    return sorted(groups, key=lambda g: (-g.summary.count, g.label))


def _month_starts(now: dt.datetime, months: int) -> list[dt.datetime]:
    year, month = now.year, now.month
    starts = []
    for _ in range(months):
        starts.append(dt.datetime(year, month, 1, tzinfo=dt.UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


class PayMonth(msgspec.Struct, kw_only=True):
    month: dt.date
    summary: PaySummary


async def pay_trend(pay_filter: PayFilter, *, now: dt.datetime | None = None) -> list[PayMonth]:
    """The summary per calendar month (UTC) of listings published in the last 12 months, expired and closed
    ones included (a trend of only today's listings would show nothing); hidden listings never count."""
    starts = _month_starts(now or clock.now(), TREND_MONTHS)
    visible = Listing.status.is_in(list(TREND_STATES)) & (Listing.hidden == False)
    visible &= Listing.published_at >= starts[0]
    values: dict[dt.date, list[float]] = defaultdict(list)
    for row in await _rows(pay_filter, visible):
        value = midpoint(row)
        if value is not None:
            published = row["published_at"].astimezone(dt.UTC)
            values[dt.date(published.year, published.month, 1)].append(value)
    return [PayMonth(month=s.date(), summary=summarise(values.get(s.date(), []))) for s in starts]


async def credential_overview() -> list[dict]:
    """Every credential named by a visible listing with pay: code, name and its summary, most listings first."""
    rows = await ListingCredential.select(
        ListingCredential.listing, ListingCredential.credential,
        ListingCredential.listing.pay_annual_min.as_alias("pay_annual_min"),
        ListingCredential.listing.pay_annual_max.as_alias("pay_annual_max"),
        ListingCredential.listing.pay_unit.as_alias("pay_unit"),
    ).where(ListingCredential.listing.id.is_in(Listing.select(Listing.id).where(_where(PayFilter(),
                                                                                        service.public_where()))))
    per_code: dict[str, dict[int, float]] = defaultdict(dict)
    for row in rows:
        value = midpoint(row)
        if value is not None:
            per_code[row["credential"]][row["listing"]] = value  # once per listing, whatever the kind
    names = await service.credential_names()
    overview = [{"code": code, "name": names.get(code, code), "summary": summarise(by_listing.values())}
                for code, by_listing in per_code.items()]
    return sorted(overview, key=lambda c: (-c["summary"].count, c["code"]))


async def pay_page_paths() -> list[str]:
    """The pay pages worth listing in a sitemap: /pay and /pay/{credential} for every credential with enough
    listings to show figures."""
    return ["/pay"] + [f"/pay/{c['code']}" for c in await credential_overview() if c["summary"].count >= MIN_SAMPLE]


def comparison_link(details: Mapping[str, list[str]], work_mode: str, state: str) -> dict[str, str] | None:
    """The listing page's "this pay vs. CPC in TX" link, from facts the page already read (no query)."""
    codes = [*details.get("credentials_required", []), *details.get("credentials_any_of", []),
             *details.get("credentials_preferred", [])]
    if not codes:
        return None
    if state:
        return {"path": f"/pay/{codes[0]}?state={state}", "text": f"{codes[0]} in {state}"}
    return {"path": f"/pay/{codes[0]}?work_mode={work_mode}",
            "text": f"{codes[0]}, {vocab.WORK_MODES.get(work_mode, work_mode).lower()}"}
