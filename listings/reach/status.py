"""`careers check`'s reach line: which announcements are on, and whether the service-account file can be used."""

from __future__ import annotations

import json
from pathlib import Path

from careers.core.config import Settings


def reach_status(settings: Settings, problems: list[str]) -> str:
    """"IndexNow on; Google Indexing API as <account> (200 a day)", adding a problem for an unusable credentials file."""
    parts = ["IndexNow " + ("on" if settings.indexnow_key else "off (INDEXNOW_KEY unset)")]
    path = settings.google_indexing_credentials
    if not path:
        return "; ".join([*parts, "Google Indexing API off (GOOGLE_INDEXING_CREDENTIALS unset)"])
    try:
        account = json.loads(Path(path).read_text())
        email = account["client_email"]
        account["private_key"], account["token_uri"]  # noqa: B018 - a service-account file has all three
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"GOOGLE_INDEXING_CREDENTIALS: {path} is not a readable service-account JSON file ({exc!r})")
        return "; ".join([*parts, "Google Indexing API: credentials unusable"])
    return "; ".join([*parts, f"Google Indexing API as {email} ({settings.google_indexing_daily_quota} a day)"])
