"""A per-process cache of the built feeds and sitemaps, rebuilt when the listings or employers change.

Every request asks the database one cheap aggregate statement (the "change stamp": counts, newest ids, newest
update times and version sums of listings, their events and employers); a feed is rebuilt only when the stamp
differs from the one it was built at. Every listing change (edit, transition, hide, opt-out) moves `updated_at`
or `version` and records an event, so no writer has to remember to bump anything, and several web processes each
notice the change on their next request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from careers.core import db

_STAMP_SQL = (
    "SELECT (SELECT COUNT(*) FROM listings) AS listings, (SELECT MAX(id) FROM listings) AS listing_max, "
    "(SELECT MAX(updated_at) FROM listings) AS listing_updated, (SELECT MAX(created_at) FROM listings) AS created, "
    "(SELECT SUM(version) FROM listings) AS versions, "
    "(SELECT COUNT(*) FROM listings WHERE hidden OR paused OR syndicate_opt_out) AS held_back, "
    "(SELECT MAX(id) FROM listing_events) AS events, "
    "(SELECT COUNT(*) FROM employers) AS employers, (SELECT MAX(updated_at) FROM employers) AS employer_updated, "
    "(SELECT COUNT(*) FROM employers WHERE suspended) AS suspended, "
    "(SELECT COUNT(*) FROM credentials WHERE active) AS credentials"
)

T = TypeVar("T")
_built: dict[tuple, tuple[tuple, Any]] = {}


async def change_stamp() -> tuple:
    """What the feeds depend on, summed up in one statement; equal stamps mean equal feeds."""
    row = (await db.fetch(_STAMP_SQL))[0]
    return tuple(str(value) for value in row.values())


async def cached(key: tuple, build: Callable[[], Awaitable[T]]) -> T:
    """What `build` made for `key` at the current change stamp, building it again when the stamp moved."""
    stamp = await change_stamp()
    found = _built.get(key)
    if found is not None and found[0] == stamp:
        return found[1]
    body = await build()
    _built[key] = (stamp, body)
    return body


def discard() -> None:
    """Forget every built feed (tests empty the database between them)."""
    _built.clear()
