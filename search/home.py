"""What the home page shows that search knows: open jobs, counts per credential and for remote jobs, the newest
and featured listings as cards, and the employers hiring now. One search, newest first."""

from __future__ import annotations

from typing import Any

from careers.core.config import Settings
from search import service
from search.cards import card
from search.service import SearchQuery

HOME_SAMPLE = 50  # the newest listings the home page picks its cards and employers from
CREDENTIAL_CHIPS = 8


async def home_board(settings: Settings) -> dict[str, Any]:
    """Counts, newest and featured cards and hiring employers for `/` (empty lists when search is down)."""
    await service.refresh_lexicon()
    result = await service.search_listings(SearchQuery(sort="newest", per_page=HOME_SAMPLE), settings)
    names = {t.code: t.full_name for t in service.lexicon().credentials}
    cards = [card(hit, names=names) for hit in result.hits]
    by_credential = sorted(((code, n) for code, n in (result.facets.get("credential") or {}).items() if n),
                           key=lambda pair: (-pair[1], pair[0]))
    employers: dict[str, dict] = {}
    for c in cards:
        employers.setdefault(c["employer"]["slug"], {**c["employer"], "logo_url": c["logo_url"], "jobs": 0})
        employers[c["employer"]["slug"]]["jobs"] += 1
    return {
        "total": result.total,
        "degraded": result.degraded,
        "credential_counts": [(code.upper(), n, names.get(code.upper(), code)) for code, n in by_credential][:CREDENTIAL_CHIPS],
        "remote_count": (result.facets.get("work_mode") or {}).get("remote"),
        "newest": cards[:6],
        "featured": [c for c in cards if c.get("featured")][:4],
        "employers": sorted(employers.values(), key=lambda e: -e["jobs"])[:8],
    }
