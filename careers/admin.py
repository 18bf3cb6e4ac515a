"""Admin pages that belong to no domain: the dashboard, the mail kept in the outbox, outbox retries.

The dashboard reads other domains' tables for its figures (read-only, each guarded so a domain that
is not there yet shows "—" instead of breaking the page).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careers.accounts import audit
from careers.accounts.auth import requires_admin
from careers.core import clock, db, filters, outbox
from careers.core.tables import OutboxRow
from careers.core.web import redirect, render


class AdminController(Controller):
    path = "/admin"
    include_in_schema = False
    guards = [requires_admin]

    @get("/")
    async def dashboard(self, request: Request) -> Template:
        failed = await OutboxRow.select().where(OutboxRow.status == "failed").order_by(OutboxRow.id, ascending=False).limit(50)
        retrying = await OutboxRow.select().where(
            (OutboxRow.status == "pending") & OutboxRow.last_error.is_not_null()
        ).order_by(OutboxRow.id, ascending=False).limit(50)
        figures = await dashboard_figures()
        chart = applications_chart(figures.applications_per_day)
        return render(request, "admin/dashboard.html", {"failed": failed, "retrying": retrying, "figures": figures,
                                                        "chart_svg": chart})

    @get("/mail")
    async def mail(self, request: Request, page: Annotated[int, QueryParameter(ge=1)] = 1) -> Template:
        rows = await OutboxRow.select().where(OutboxRow.kind == "mail").order_by(OutboxRow.id, ascending=False).limit(50).offset(
            (page - 1) * 50
        ).output(load_json=True)
        return render(request, "admin/mail.html", {"rows": rows, "page": page})

    @post("/outbox/{row_id:int}/retry")
    async def retry(self, request: Request, row_id: FromPath[int]) -> Redirect:
        row = await OutboxRow.objects().where(OutboxRow.id == row_id).first()
        if row is None:
            raise NotFoundException()
        async with db.transaction():  # an admin action: audited with the change it makes
            await outbox.retry(row_id)
            await audit.record("outbox row retried", actor=request.user, reason=f"{row.kind} row {row_id}",
                               before={"status": row.status, "attempts": row.attempts,
                                       "last_error": (row.last_error or "")[:500]},
                               after={"status": "pending", "attempts": 0})
        return redirect(request, "/admin", f"Outbox row {row_id} will be retried now.")


# ---- the dashboard's figures --------------------------------------------------------------------------

CHART_DAYS = 30


@dataclass
class DashboardFigures:
    waiting_reviews: int | None = None
    oldest_wait: dt.timedelta | None = None
    open_reports: int | None = None
    published_listings: int | None = None
    new_employers_week: int | None = None
    revenue_month_cents: int | None = None
    applications_per_day: list[tuple[dt.date, int]] | None = None



def _as_datetime(value) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


async def dashboard_figures(now: dt.datetime | None = None) -> DashboardFigures:
    now = now or clock.now()
    figures = DashboardFigures()
    try:
        from employers.tables import Employer
        from listings.tables import Listing, ListingEvent
        from listings.vocabulary import ListingState
    except ImportError:
        return figures
    waiting = [r["id"] for r in await Listing.select(Listing.id).where(Listing.status == ListingState.IN_REVIEW)]
    figures.waiting_reviews = len(waiting)
    if waiting:
        since: dict[int, dt.datetime] = {}
        for row in await ListingEvent.select(ListingEvent.listing, ListingEvent.created_at).where(
            ListingEvent.listing.is_in(waiting) & (ListingEvent.to_status == ListingState.IN_REVIEW)
        ):
            since[row["listing"]] = max(since.get(row["listing"], row["created_at"]), row["created_at"])
        if since:
            figures.oldest_wait = now - min(since.values())
    figures.published_listings = await Listing.count().where(
        (Listing.status == ListingState.PUBLISHED) & (Listing.hidden == False))  # noqa: E712
    figures.new_employers_week = await Employer.count().where(Employer.created_at >= now - dt.timedelta(days=7))
    try:
        from listings.moderation.service import open_report_count

        figures.open_reports = await open_report_count()
    except ImportError:
        pass
    figures.revenue_month_cents = await _revenue_this_month(now)
    figures.applications_per_day = await _applications_per_day(now)
    return figures


async def _revenue_this_month(now: dt.datetime) -> int | None:
    """Paid orders since the first of this month (UTC); refunded or disputed ones do not count."""
    try:
        from billing.tables import Order, OrderStatus
    except ImportError:
        return None
    if not all(hasattr(Order, name) for name in ("amount_cents", "status", "paid_at")):
        return None
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = await Order.select(Order.amount_cents).where((Order.status == OrderStatus.PAID) & (Order.paid_at >= start))
    return sum(r["amount_cents"] or 0 for r in rows)


async def _applications_per_day(now: dt.datetime) -> list[tuple[dt.date, int]] | None:
    """Applications submitted on each of the last 30 days (UTC), oldest first."""
    try:
        from careers.coders.tables import Application
    except ImportError:
        return None
    column = next((getattr(Application, n) for n in ("submitted_at", "created_at") if hasattr(Application, n)), None)
    if column is None:
        return None
    today = now.date()
    first = today - dt.timedelta(days=CHART_DAYS - 1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.timezone.utc)
    counts = {first + dt.timedelta(days=i): 0 for i in range(CHART_DAYS)}
    for row in await Application.select(column.as_alias("at")).where(column >= start):
        at = _as_datetime(row["at"])
        if at is not None:
            day = at.astimezone(dt.timezone.utc).date()
            if day in counts:
                counts[day] += 1
    return sorted(counts.items())


def applications_chart(days: list[tuple[dt.date, int]] | None, *, width: int = 600, height: int = 140) -> str:
    """A small bar chart as inline SVG, drawn here (no script); the page carries a table as its text alternative."""
    if not days:
        return ""
    peak = max(count for _, count in days) or 1
    gap, top, bottom = 2, 14, 18
    bar_width = (width - gap * len(days)) / len(days)
    total = sum(count for _, count in days)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="apps-chart-title">',
        f'<title id="apps-chart-title">{total} applications in the last {len(days)} days; '
        f'at most {peak} on one day. The table below lists each day.</title>',
        f'<line x1="0" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#8c959f" stroke-width="1"/>',
    ]
    usable = height - top - bottom
    for i, (day, count) in enumerate(days):
        bar = usable * count / peak
        x = i * (bar_width + gap)
        parts.append(
            f'<rect x="{x:.1f}" y="{height - bottom - bar:.1f}" width="{bar_width:.1f}" height="{bar:.1f}" fill="#0b5cad">'
            f"<title>{html.escape(filters.date(day))}: {count}</title></rect>"
        )
    parts.append(f'<text x="0" y="{height - 4}" font-size="11" fill="#57606a">{html.escape(filters.date(days[0][0]))}</text>')
    parts.append(f'<text x="{width}" y="{height - 4}" font-size="11" fill="#57606a" text-anchor="end">'
                 f"{html.escape(filters.date(days[-1][0]))}</text>")
    parts.append(f'<text x="0" y="11" font-size="11" fill="#57606a">{peak}</text>')
    parts.append("</svg>")
    return "".join(parts)
