"""The one clock: every "what time is it" in production code asks `now()`.

Tests move time with `frozen_at(...)` or `advance(...)` instead of waiting or straddling wall-clock
windows; production never touches the override.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

_override: dt.datetime | None = None


def now() -> dt.datetime:
    """The current time, timezone-aware UTC (or the time a test has set)."""
    if _override is not None:
        return _override
    return dt.datetime.now(dt.timezone.utc)


def timestamp() -> int:
    """Whole seconds since the epoch, from the same clock."""
    return int(now().timestamp())


def set_now(moment: dt.datetime | None) -> None:
    """Fix the clock at `moment` (aware), or give it back to the wall clock with None. Tests only."""
    global _override
    if moment is not None and moment.tzinfo is None:
        raise ValueError("set_now needs a timezone-aware datetime")
    _override = moment


def advance(delta: dt.timedelta) -> dt.datetime:
    """Move a fixed clock forward by `delta` (fixing it at the wall clock first). Tests only."""
    set_now(now() + delta)
    return now()


@contextmanager
def frozen_at(moment: dt.datetime) -> Iterator[None]:
    """Hold the clock at `moment` for the block, then restore what was there."""
    previous = _override
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)
