"""Background work of the employers domain, run by careers/worker.py on every pass."""

from __future__ import annotations

import time

from careers.core.config import Settings
from employers import service

TRUST_REFRESH_SECONDS = 300  # a member who confirms their email gets the "domain verified" flag stored within minutes

_last_refresh = 0.0


async def refresh_trust_flags(settings: Settings) -> None:
    """Keep the stored domain_verified / freemail_flag columns in step with members' confirmed emails.

    Pages compute the signals live (`service.trust_signals`); the stored columns serve moderation and search.
    """
    global _last_refresh
    now = time.monotonic()
    if _last_refresh and now - _last_refresh < TRUST_REFRESH_SECONDS:
        return
    _last_refresh = now
    await service.refresh_all_trust_flags()


def periodic() -> list:
    return [refresh_trust_flags]
