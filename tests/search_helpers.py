"""Helpers the search tests share: make listings the way the lifecycle does, and a clean index."""

from __future__ import annotations

from careers.core.config import Settings
from tests import factories

_index_ready: set[tuple[str, str]] = set()


async def fresh_index(settings: Settings) -> None:
    """The test index exists with our settings (applied once per session) and holds no document."""
    from search.indexing import clear_index, ensure_index

    key = (settings.meili_url, settings.meili_index)
    if key not in _index_ready:
        await ensure_index(settings)
        _index_ready.add(key)
    if await _holds_documents(settings):  # most tests leave it empty: a stats read is cheaper than a delete task
        await clear_index(settings)


async def _holds_documents(settings: Settings) -> bool:
    from search.client import run_admin

    stats = await run_admin(settings, lambda c: c.index(settings.meili_index).get_stats())
    return bool(stats.number_of_documents or stats.is_indexing)


async def make_listing(title: str, *, employer_name: str = "Acme Health", **options) -> int:
    """A listing of `employer_name` (verified), yearly pay and no place unless given; published unless told."""
    place = {"zip_code": "", "city": "", "state": "", "pay": (50000, 60000, "year"), "description": ""}
    return (await factories.make_listing(employer_name, title, **(place | options))).id


def ids(response_json: dict) -> list[int]:
    return [hit["id"] for hit in response_json["hits"]]
