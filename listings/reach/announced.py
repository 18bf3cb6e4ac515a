"""The listings a batch of announcement rows names, and the public URL of each (the one the API gives)."""

from __future__ import annotations

from dataclasses import dataclass

from careers.core.config import Settings
from listings import service
from listings.tables import Listing


@dataclass(frozen=True)
class Announced:
    url: str
    public: bool  # visible now: a page to (re)crawl; else a page that is gone
    ever_public: bool  # published at some point: search engines may know the URL
    row_ids: tuple[int, ...]  # the outbox rows that asked for it (several changes of one listing: one URL)


async def announced(rows: list[dict], settings: Settings) -> list[Announced]:
    """One entry per listing the rows name that still exists, in the rows' order; the listing is read now, so a
    late or repeated row announces the current state."""
    row_ids: dict[int, list[int]] = {}
    for row in rows:
        row_ids.setdefault(int(row["payload"]["listing_id"]), []).append(row["id"])
    found = await Listing.objects().where(Listing.id.is_in(list(row_ids))) if row_ids else []
    by_id = {listing.id: listing for listing in found}
    return [Announced(url=settings.base_url.rstrip("/") + service.listing_path(by_id[i]),
                      public=service.is_public(by_id[i]), ever_public=by_id[i].published_at is not None,
                      row_ids=tuple(ids))
            for i, ids in row_ids.items() if i in by_id]
