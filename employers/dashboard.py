"""The employer dashboard's listing cards and its 30-day chart of views and applications.

Counts come from `listing_daily_stats` (listings/stats.py) in one grouped statement for the whole organisation,
whatever the number of listings; the chart is drawn on the server as SVG geometry (no script, no inline style:
the CSP allows neither).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from careers.core import clock, db
from employers.tables import Employer, EmployerMember
from listings.vocabulary import ListingState

DAYS = 30
# The chart's drawing box (SVG user units): plot area inside the margins left for the axis labels.
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 200, 48, 8, 10, 26
SPARK_WIDTH, SPARK_HEIGHT = 120, 32
STATE_BADGES = {ListingState.PUBLISHED: "success", ListingState.IN_REVIEW: "info",
                ListingState.AWAITING_PAYMENT: "warning", ListingState.REJECTED: "danger",
                ListingState.REMOVED: "danger"}


@dataclass
class Series:
    """Views and applications per UTC day, oldest first, for `days` (the last is today)."""

    days: list[dt.date]
    views: list[int]
    applies: list[int]

    @property
    def total_views(self) -> int:
        return sum(self.views)

    @property
    def total_applies(self) -> int:
        return sum(self.applies)


async def membership_with_employer(user_id: int) -> tuple[EmployerMember | None, Employer | None]:
    """The person's membership and its organisation in one statement (the dashboard's statement budget)."""
    member = await EmployerMember.objects(EmployerMember.employer).where(EmployerMember.user == user_id).first()
    if member is None:
        return None, None
    employer = member.employer
    member.employer = employer.id  # callers read the membership's employer as an id, as without the join
    return member, employer


def _as_date(value: Any) -> dt.date:
    """A day from raw SQL (SQLite answers a DATE column as text)."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


async def daily_counts(employer_id: int, today: dt.date, days: int = DAYS) -> dict[int, dict[dt.date, tuple[int, int]]]:
    """{listing id: {day: (views, applies)}} for the organisation's listings over the last `days` UTC days:
    one grouped statement, all traffic sources added together."""
    first = today - dt.timedelta(days=days - 1)
    rows = await db.fetch(
        "SELECT listing, day, SUM(views) AS views, SUM(applies) AS applies FROM listing_daily_stats "
        "WHERE listing IN (SELECT id FROM listings WHERE employer = {}) AND day >= {} GROUP BY listing, day",
        employer_id, first)
    counts: dict[int, dict[dt.date, tuple[int, int]]] = {}
    for r in rows:
        counts.setdefault(r["listing"], {})[_as_date(r["day"])] = (int(r["views"] or 0), int(r["applies"] or 0))
    return counts


def series(per_day: list[dict[dt.date, tuple[int, int]]], today: dt.date, days: int = DAYS) -> Series:
    """The day-by-day sum of one or more listings' counts, zeros for quiet days."""
    span = [today - dt.timedelta(days=n) for n in range(days - 1, -1, -1)]
    views = [sum(d.get(day, (0, 0))[0] for d in per_day) for day in span]
    applies = [sum(d.get(day, (0, 0))[1] for d in per_day) for day in span]
    return Series(span, views, applies)


def nice_top(value: int) -> int:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` (at least 1): the y axis ends on a round number."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def _points(values: list[int], top: int, box: tuple[float, float, float, float]) -> str:
    left, top_y, width, height = box
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{left + i * step:.1f},{top_y + height - height * v / top:.1f}" for i, v in enumerate(values))


def chart(data: Series) -> dict[str, Any]:
    """What the SVG template draws: the two polylines, y gridlines with labels, and a few x labels."""
    top = nice_top(max(data.views + data.applies + [0]))
    box = (LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM)
    plot_bottom = TOP + box[3]
    grid = [{"y": round(plot_bottom - box[3] * f, 1), "label": f"{round(top * f):,}"} for f in (0, 0.5, 1)
            if f == 0 or round(top * f) == top * f]
    step = box[2] / max(len(data.days) - 1, 1)
    last = len(data.days) - 1
    ticks = [{"x": round(LEFT + i * step, 1), "label": f"{day:%b} {day.day}",
              "anchor": "end" if i == last else "start" if i == 0 else "middle"}
             for i, day in enumerate(data.days) if i % 7 == last % 7]
    busiest = max(range(len(data.days)), key=lambda i: data.views[i]) if data.total_views else None
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "bottom": plot_bottom,
        "views": _points(data.views, top, box), "applies": _points(data.applies, top, box),
        "grid": grid, "ticks": ticks, "label_y": HEIGHT - 6, "series": data,
        "busiest": (data.days[busiest], data.views[busiest]) if busiest is not None else None,
        "rows": list(zip(data.days, data.views, data.applies, strict=True))[::-1],
    }


def sparkline(data: Series) -> dict[str, Any]:
    """A card's small line of daily views (no axes; the card states the numbers in words)."""
    top = nice_top(max(data.views + [0]))
    return {"width": SPARK_WIDTH, "height": SPARK_HEIGHT,
            "views": _points(data.views, top, (1, 2, SPARK_WIDTH - 2, SPARK_HEIGHT - 4))}


def days_left(expires_at: dt.datetime | None, now: dt.datetime) -> int | None:
    """Whole days until a published listing expires (0 on its last day); None without an expiry."""
    if expires_at is None:
        return None
    return max(0, math.ceil((expires_at - now).total_seconds() / 86400))


def cards(figures: list[dict[str, Any]], counts: dict[int, dict[dt.date, tuple[int, int]]],
          state_labels: dict[str, str], now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The dashboard's listing cards, in `figures`' order: state, days left, views, applications, conversion and
    the last 30 days' views as a sparkline."""
    from employers.applicants import conversion  # the one definition of the dashboard's conversion

    now = now or clock.now()
    today = now.astimezone(dt.timezone.utc).date()
    out = []
    for f in figures:
        recent = series([counts.get(f["id"], {})], today)
        live = f["status"] == ListingState.PUBLISHED
        out.append({**f, "state_label": state_labels.get(f["status"], f["status"]),
                    "state_badge": STATE_BADGES.get(f["status"], ""),
                    "days_left": days_left(f["expires_at"], now) if live else None,
                    "conversion": conversion(f["applications"], f["views"]),
                    "views_30": recent.total_views, "spark": sparkline(recent) if recent.total_views else None})
    return out
