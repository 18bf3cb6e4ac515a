"""Live listings' background work: pause listings unconfirmed for 21 days, remind at 14, ask why expired ones ended.

Each step is a bounded batch claimed with a conditional update, so several workers (or a backlog) never mail twice.
"""

from __future__ import annotations

import logging

from careers.core.config import Settings
from careers.core.registry import Throttled
from listings.liveness import service

log = logging.getLogger("careers.listings")

LIVENESS_INTERVAL = 60.0


async def keep_listings_live(settings: Settings) -> None:
    """One pass: pause first (a listing due for both is paused and still reminded), then remind, then ask."""
    paused = await service.pause_due()
    reminded = await service.remind_due()
    asked = await service.ask_why_ended()
    if paused or reminded or asked:
        log.info("live listings: paused %s, reminded %s, asked why ended %s", paused, reminded, asked)


def periodic() -> list:
    return [Throttled("listings.liveness", LIVENESS_INTERVAL, keep_listings_live)]
