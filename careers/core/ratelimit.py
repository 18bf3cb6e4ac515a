"""Fixed-window rate limits whose counters live in the database.

Litestar's RateLimitMiddleware keys on the client address only and does a
read-then-write on its store; we need per-account keys (login, apply, report)
and an atomic increment that holds across processes, so the counter is one
`INSERT ... ON CONFLICT DO UPDATE ... RETURNING` statement.
"""

from __future__ import annotations

from careers.core import clock, db, errors


class RateLimited(errors.RateLimited):
    def __init__(self, bucket: str, retry_after: int) -> None:
        self.bucket = bucket
        super().__init__(f"Too many attempts; try again in {wait_in_words(retry_after)}.", retry_after)


def wait_in_words(seconds: int) -> str:
    """"45 seconds", "1 minute", "59 minutes": people do not count in thousands of seconds."""
    if seconds < 90:
        seconds = max(seconds, 1)
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minutes"


async def hit(bucket: str, key: str, limit: tuple[int, int]) -> None:
    """Count one attempt of `key` in `bucket`; raise RateLimited past `limit` = (count, seconds)."""
    allowed, window = limit
    now = clock.timestamp()
    window_start = now - now % window
    slot = f"{bucket}:{key}:{window_start}"
    rows = await db.fetch(
        "INSERT INTO rate_limit_hits (slot, count, expires_at) VALUES ({}, 1, {}) "
        "ON CONFLICT (slot) DO UPDATE SET count = rate_limit_hits.count + 1 RETURNING count",
        slot,
        window_start + window,
    )
    if rows and rows[0]["count"] > allowed:
        raise RateLimited(bucket, window_start + window - now)


async def purge_expired() -> None:
    await db.fetch("DELETE FROM rate_limit_hits WHERE expires_at < {}", clock.timestamp())
