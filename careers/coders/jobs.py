"""Coder background work: job-alert digests and the applications retention rule.

`periodic()` jobs run on every worker pass, so each throttles itself: digests are
looked for every few minutes, the retention sweep hourly. Both are safe to run
in several workers at once (digests compare-and-set the alert's timestamps).
"""

from __future__ import annotations

from careers.coders import alerts, privacy
from careers.core.config import Settings
from careers.core.registry import Throttled

DIGEST_EVERY_SECONDS = 300
RETENTION_EVERY_SECONDS = 3600


async def alert_digests(settings: Settings) -> None:
    """Mail the digest of every alert whose day or week has passed."""
    await alerts.send_due_digests(settings)


async def application_retention(settings: Settings) -> None:
    """Anonymise applications of deleted accounts once the employers' retention window has passed."""
    await privacy.anonymise_due(settings)


def periodic() -> list:
    return [Throttled("alert_digests", DIGEST_EVERY_SECONDS, alert_digests),
            Throttled("application_retention", RETENTION_EVERY_SECONDS, application_retention)]
