"""Background work of the listings domain: expiry and the 3-day expiry warning.

The worker calls every `periodic()` job on each pass (about every half second when idle); the
expiry job throttles itself to one run per EXPIRY_INTERVAL seconds. Each Worker gets its own job
instance, so a fresh worker (a test, a restarted process) runs it on its first pass.
"""

from __future__ import annotations

import logging

from careers.core.config import Settings
from careers.core.registry import Throttled
from listings import service

log = logging.getLogger("careers.listings")

EXPIRY_INTERVAL = 30.0


async def expire_and_warn(settings: Settings) -> None:
    """Expire published listings whose `expires_at` has passed; warn employers 3 days ahead, once."""
    expired = await service.expire_due()  # each transition also queues the search removal
    warned = await service.warn_expiring(settings)
    if expired or warned:
        log.info("listings: expired %s, expiry warnings sent for %s", expired, warned)


def periodic() -> list:
    return [Throttled("listings.expiry", EXPIRY_INTERVAL, expire_and_warn)]
