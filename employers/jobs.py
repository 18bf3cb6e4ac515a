"""Background work of the employers domain, run by careers/worker.py on every pass."""

from __future__ import annotations

from careers.core.config import Settings
from careers.core.registry import Throttled
from employers import service

TRUST_REFRESH_SECONDS = 300  # a member who confirms their email gets the "domain verified" flag stored within minutes


async def refresh_trust_flags(settings: Settings) -> None:
    """Keep the stored domain_verified / freemail_flag columns in step with members' confirmed emails.

    Pages compute the signals live (`service.trust_signals`); the stored columns serve moderation and search.
    """
    await service.refresh_all_trust_flags()


def periodic() -> list:
    return [Throttled("refresh_trust_flags", TRUST_REFRESH_SECONDS, refresh_trust_flags)]
