"""Background work for search: the outbox handler that keeps the index in step with the database."""

from __future__ import annotations

from typing import Any

from careers.core import outbox
from careers.core.config import Settings
from search.indexing import sync_listings


async def sync_listing(payload: dict[str, Any], row_id: int, settings: Settings) -> None:
    """SEARCH_SYNC: upsert the listing's document if it is published and not hidden, else delete it.

    Idempotent (it reads the listing's current state). It waits for Meilisearch to report the task
    succeeded and raises otherwise, so the outbox keeps the row and retries it with back-off; while
    Meilisearch is down nothing is lost.
    """
    await sync_listings(settings, [int(payload["listing_id"])])


def handlers() -> dict:
    return {outbox.SEARCH_SYNC: sync_listing}
