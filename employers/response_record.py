"""The response record's rules (issue 18): how an employer answers the applications it receives.

Pure functions over application rows and the stored employer columns; `employers/response.py` reads and stores.
From the employer's applications of the last 180 days:

- counted: every application, except one the coder withdrew before anyone at the employer acted (the employer
  had no chance) and one younger than 14 days that nobody has acted on yet (its 14 days are not over);
- median days to first action: the median, over counted applications the employer acted on, of the days from
  applying to the first stage move or note by the employer's people (automatic moves never count);
- status within 14 days: the share of counted applications acted on within 14 days;
- closed with an outcome: the share of counted applications at hired or not selected.

Below 5 counted applications the figures are None (the API still answers every key; pages say
"Not enough applications yet").
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from careers.coders.tables import ApplicationStage

WINDOW_DAYS = 180
STATUS_DAYS = 14
MIN_COUNTED = 5
QUICK_MEDIAN_DAYS = 3.0  # "Responds quickly": median first action within 3 days …
QUICK_SHARE = 0.8  # … and at least 80% of applications given a status within 14 days
RESPONSIVE_SHARE = 0.5  # the search filter "employers who respond": most applications get a status within 14 days
OUTCOME_STAGES = frozenset({ApplicationStage.HIRED, ApplicationStage.NOT_SELECTED})
DAY_SECONDS = 86400.0
# The employer columns that hold the stored record (employers.tables.Employer).
RECORD_COLUMNS = ("response_median_days", "response_within_14_days", "response_closed_share", "response_counted")


@dataclass(frozen=True)
class ResponseRecord:
    median_first_action_days: float | None = None
    status_within_14_days: float | None = None
    closed_with_outcome: float | None = None
    applications_counted: int = 0

    @property
    def enough(self) -> bool:
        """At least 5 applications count: the figures are published."""
        return self.applications_counted >= MIN_COUNTED and self.status_within_14_days is not None

    @property
    def responds_quickly(self) -> bool:
        """The "Responds quickly" badge: median first action ≤ 3 days and ≥ 80% given a status within 14 days."""
        return (self.enough and self.median_first_action_days is not None
                and self.median_first_action_days <= QUICK_MEDIAN_DAYS
                and (self.status_within_14_days or 0) >= QUICK_SHARE)

    @property
    def responsive(self) -> bool:
        """Matches the search filter "employers who respond" (most applications get a status within 14 days)."""
        return self.enough and (self.status_within_14_days or 0) >= RESPONSIVE_SHARE

    def api(self) -> dict[str, Any]:
        """`employer.response` of the JSON API: every key, figures null below 5 applications."""
        return {"median_first_action_days": self.median_first_action_days if self.enough else None,
                "status_within_14_days": self.status_within_14_days if self.enough else None,
                "applications_counted": self.applications_counted}

    def document(self) -> dict[str, Any]:
        """What a search document carries under `employer`: the API shape plus the two filter/badge flags."""
        return {"response": self.api(), "responds_quickly": self.responds_quickly, "responsive": self.responsive}


def _aware(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def record_from_rows(rows: Iterable[dict[str, Any]], now: dt.datetime) -> ResponseRecord:
    """The record from application rows (`created_at`, `first_employer_action_at`, `stage`) as of `now`."""
    since = now - dt.timedelta(days=WINDOW_DAYS)
    counted = 0
    action_days: list[float] = []
    within = closed = 0
    for row in rows:
        created, acted = _aware(row["created_at"]), _aware(row["first_employer_action_at"])
        if created is None or created < since or created > now:
            continue
        if acted is None and (row["stage"] == ApplicationStage.WITHDRAWN or now - created < dt.timedelta(days=STATUS_DAYS)):
            continue
        counted += 1
        if acted is not None:
            days = max(0.0, (acted - created).total_seconds() / DAY_SECONDS)
            action_days.append(days)
            within += days <= STATUS_DAYS
        closed += row["stage"] in OUTCOME_STAGES
    if counted < MIN_COUNTED:
        return ResponseRecord(applications_counted=counted)
    return ResponseRecord(
        median_first_action_days=round(statistics.median(action_days), 1) if action_days else None,
        status_within_14_days=round(within / counted, 2),
        closed_with_outcome=round(closed / counted, 2),
        applications_counted=counted,
    )


def record_of(employer: Any) -> ResponseRecord:
    """The stored record of an employer row (an `Employer` or a dict of its columns); never computed here."""
    def get(name: str) -> Any:
        return employer.get(name) if isinstance(employer, dict) else getattr(employer, name, None)

    return ResponseRecord(
        median_first_action_days=get("response_median_days"),
        status_within_14_days=get("response_within_14_days"),
        closed_with_outcome=get("response_closed_share"),
        applications_counted=int(get("response_counted") or 0),
    )
