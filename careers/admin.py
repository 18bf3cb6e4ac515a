"""Admin pages that belong to no domain: the dashboard, the mail kept in the outbox, outbox retries.

The dashboard's figures come from the domains' admin panels (`admin_panels` in each `<domain>/plugin.py`).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careers.accounts import audit
from careers.accounts.auth import AdminPages
from careers.core import clock, db, filters, mail, outbox, registry
from careers.core.tables import OutboxRow
from careers.core.web import redirect, render
from careers.domains import DOMAINS

MAIL_STATES = {"pending": "Waiting to be sent", "done": "Sent", "failed": "Failed"}  # outbox.status in words


class AdminController(AdminPages):
    path = "/admin"

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
        # Metadata only: who, what, when, how it went. Never the text (it may hold a one-time link in development).
        rows = await OutboxRow.select().where(
            (OutboxRow.kind == mail.MAIL_KIND) | OutboxRow.kind.like(mail.LINK_MAIL_PREFIX + "%")
        ).order_by(OutboxRow.id, ascending=False).limit(50).offset((page - 1) * 50).output(load_json=True)
        shown = [{"id": r["id"], "to": r["payload"].get("to", ""), "subject": r["payload"].get("subject", ""),
                  "purpose": r["kind"].removeprefix(mail.LINK_MAIL_PREFIX) if r["kind"] != mail.MAIL_KIND else "",
                  "status": MAIL_STATES.get(r["status"], r["status"]), "attempts": r["attempts"],
                  "created_at": r["created_at"],
                  "done_at": r["done_at"], "failing": bool(r["last_error"])} for r in rows]
        return render(request, "admin/mail.html", {"rows": shown, "page": page})

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


@dataclass
class DashboardFigures:
    waiting_reviews: int | None = None
    oldest_wait: dt.timedelta | None = None
    open_reports: int | None = None
    published_listings: int | None = None
    new_employers_week: int | None = None
    revenue_month_cents: int | None = None
    applications_per_day: list[tuple[dt.date, int]] | None = None
    ghost_risk: list[dict] | None = None  # listings.liveness: published > 45 days, no applications, no reconfirm
    worst_response_records: list[dict] | None = None  # employers/response.py


async def dashboard_figures(now: dt.datetime | None = None) -> DashboardFigures:
    """Every domain's dashboard panel (careers/domains.py), merged; a figure no panel gives shows "—"."""
    now = now or clock.now()
    found: dict = {}
    for panel in registry.admin_panels(DOMAINS):
        found.update(await panel(now))
    return DashboardFigures(**found)


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
