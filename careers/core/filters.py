"""Jinja filters every template shares, registered once on the template engine by `register(env)`.

One date style on every page: "Nov 29, 2026" for a day, "Nov 29, 2026 at 14:05 UTC" for a moment
(times are UTC, and the page says so). Money, relative days and plurals are written here once too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from careers.core import clock
from careers.core.icons import icon
from careers.core.text import money


def _as_datetime(value: dt.datetime | dt.date | str) -> dt.datetime | dt.date:
    """A datetime in UTC (naive ones are UTC already), a date as it is; ISO strings (search hits) are parsed."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)
    return value


def as_utc(value: dt.datetime | dt.date | str) -> dt.datetime | dt.date:
    """A stored or ISO time as an aware UTC datetime (SQLite rows and search hits can hand back strings)."""
    return _as_datetime(value)


def date(value: dt.datetime | dt.date | str | None) -> str:
    """ "Nov 29, 2026" ("" for None)."""
    if value is None or value == "":
        return ""
    day = _as_datetime(value)
    return f"{day:%b} {day.day}, {day.year}"


def datetime(value: dt.datetime | str | None, seconds: bool = False) -> str:
    """ "Nov 29, 2026 at 14:05 UTC" (with ":07" seconds when asked; "" for None)."""
    if value is None or value == "":
        return ""
    moment = _as_datetime(value)
    clock_time = f"{moment:%H:%M:%S}" if seconds else f"{moment:%H:%M}"
    return f"{date(moment)} at {clock_time} UTC"


def relative_date(value: dt.datetime | dt.date | str | None) -> str:
    """ "today", "yesterday", "3 days ago", "tomorrow", "in 3 days": calendar days in UTC from `clock.now()`."""
    if value is None or value == "":
        return ""
    day = _as_datetime(value)
    day = day.date() if isinstance(day, dt.datetime) else day
    days = (clock.now().date() - day).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days == -1:
        return "tomorrow"
    if days > 0:
        return f"{days} days ago"
    return f"in {-days} days"


def pluralize(count: Any, singular: str = "", plural: str | None = None) -> str:
    """The word for `count`: `n | pluralize("job")` -> "job"/"jobs"; bare `n | pluralize` -> ""/"s"."""
    try:
        one = int(count or 0) == 1
    except (TypeError, ValueError):
        one = False
    if one:
        return singular
    return plural if plural is not None else singular + "s"


FILTERS = {"money": money, "date": date, "datetime": datetime, "relative_date": relative_date, "pluralize": pluralize}


def register(env: Any) -> None:
    """Add the shared filters to a Jinja environment (the app's template engine calls this once)."""
    env.filters.update(FILTERS)
    env.globals["icon"] = icon
