"""Demo traffic for `careers seed-demo`: daily views and applications on the demo listings, so the employer
dashboard's chart and cards have something to show (written straight to listing_daily_stats)."""

from __future__ import annotations

import datetime as dt
import random

from listings.stats import DIRECT


async def add(listings: list[tuple[int, dt.datetime]], now: dt.datetime) -> int:
    """Rows of (listing, day, views, applies) from each listing's publication day to today (at most 30 days);
    the same numbers on every run for the same listing ids. Returns the rows written."""
    from listings.tables import ListingDailyStat

    today = now.astimezone(dt.timezone.utc).date()
    rows = []
    for listing_id, published in listings:
        rng = random.Random(listing_id)
        interest = rng.uniform(2, 14)  # some jobs draw more views than others
        first = max(published.astimezone(dt.timezone.utc).date(), today - dt.timedelta(days=29))
        for n in range((today - first).days + 1):
            day = first + dt.timedelta(days=n)
            views = max(0, round(rng.gauss(interest, interest / 3) * (0.5 if day.weekday() >= 5 else 1)))
            applies = sum(rng.random() < 0.06 for _ in range(views))
            rows.append(ListingDailyStat(listing=listing_id, day=day, source=DIRECT, views=views, applies=applies))
    for start in range(0, len(rows), 500):
        await ListingDailyStat.insert(*rows[start:start + 500])
    return len(rows)
