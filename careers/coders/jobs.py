"""Coder background work: job-alert digests and the applications retention rule.

`periodic()` jobs run on every worker pass, so each throttles itself: digests are
looked for every few minutes, the retention sweep hourly. Both are safe to run
in several workers at once (digests compare-and-set the alert's timestamps).
"""

from __future__ import annotations

import time

from careers.coders import alerts, privacy
from careers.core.config import Settings

DIGEST_EVERY_SECONDS = 300
RETENTION_EVERY_SECONDS = 3600
_last_run: dict[str, float] = {}


def _due(name: str, every: float) -> bool:
    now = time.monotonic()
    last = _last_run.get(name)
    if last is not None and now - last < every:
        return False
    _last_run[name] = now
    return True


async def alert_digests(settings: Settings) -> None:
    """Mail the digest of every alert whose day or week has passed."""
    if _due("alert_digests", DIGEST_EVERY_SECONDS):
        await alerts.send_due_digests(settings)


async def application_retention(settings: Settings) -> None:
    """Anonymise applications of deleted accounts once the employers' retention window has passed."""
    if _due("application_retention", RETENTION_EVERY_SECONDS):
        await privacy.anonymise_due(settings)


def periodic() -> list:
    return [alert_digests, application_retention]
