"""US ZIP codes and distances, from the offline `zipcodes` package (it ships its data; nothing is downloaded).

Every domain asks here: profiles and organisations for city and state, listings for coordinates,
search for the radius origin and the miles shown on a result.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

ZIP_RE = re.compile(r"(\d{5})(?:-\d{4})?")
METERS_PER_MILE = 1609.344
EARTH_RADIUS_METERS = 6371008.8


@dataclass(frozen=True)
class Place:
    """Where a US ZIP code is: the 5-digit code, its city and state, and its coordinates."""

    zip: str
    city: str
    state: str
    lat: float
    lng: float

    @property
    def point(self) -> tuple[float, float]:
        return (self.lat, self.lng)


@functools.cache
def _table() -> dict[str, dict]:
    import zipcodes  # loads ~43k rows: only when a ZIP is first needed, then kept

    return {row["zip_code"]: row for row in zipcodes.list_all() if row.get("lat") and row.get("long")}


def load_table() -> None:
    """Load the ZIP table now: a served process does at start, before it freezes its objects out of the garbage
    collector (loaded later, its ~170k lists and dicts would sit in the collector's oldest generation, and the
    first ZIP search would wait for the load)."""
    _table()


def zip5(value: str | None) -> str | None:
    """The 5-digit code of "60614" or "60614-1234" (spaces around allowed), or None if it is not ZIP-shaped."""
    match = ZIP_RE.fullmatch((value or "").strip())
    return match.group(1) if match else None


def lookup_zip(value: str | None) -> Place | None:
    """The place of a US ZIP code ("60614" or "60614-1234"), or None if it is malformed or unknown."""
    code = zip5(value)
    row = _table().get(code) if code else None
    if row is None:
        return None
    return Place(zip=code, city=row["city"], state=row["state"], lat=float(row["lat"]), lng=float(row["long"]))


def zip_point(value: str | None) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP code, or None if it is malformed or unknown."""
    place = lookup_zip(value)
    return place.point if place else None


def zip_problem(value: str | None, example: str) -> str:
    """The message a form shows for a ZIP code `lookup_zip` refused ("" when it is fine)."""
    code = zip5(value)
    if code is None:
        return f"Enter a 5-digit US ZIP code, such as {example}."
    if code not in _table():
        return f"We do not know the ZIP code {code}. Check it and try again."
    return ""


def miles_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in miles between two (latitude, longitude) points (haversine)."""
    lat1, lng1, lat2, lng2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_METERS * math.asin(min(1.0, math.sqrt(h))) / METERS_PER_MILE


def standard_zips(states: Iterable[str]) -> dict[str, list[str]]:
    """Active street-address (STANDARD) ZIP codes of each state, sorted: the pool demo data draws from."""
    found: dict[str, list[str]] = {state: [] for state in states}
    for code, row in _table().items():
        if row["state"] in found and row["zip_code_type"] == "STANDARD" and row["active"]:
            found[row["state"]].append(code)
    return {state: sorted(codes) for state, codes in found.items()}
