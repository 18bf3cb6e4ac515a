"""IndexNow (Bing, Yandex, Seznam, Naver): one POST names every listing URL that changed since the last pass.

On when INDEXNOW_KEY is set; the key file `/{key}.txt` proves the site owns the key. A listing that was never
public is not announced (no search engine can know its URL). The endpoint's 200 or 202 is acceptance; anything
else fails the batch, and the outbox retries it with back-off (a URL sent twice is harmless).
"""

from __future__ import annotations

from urllib.parse import urlparse

import httpx

from careers.core.config import Settings
from careers.core.outbox import BatchOutcome
from listings.reach.announced import announced

ACCEPTED = (200, 202)
TIMEOUT_SECONDS = 15.0


class IndexNowRefused(Exception):
    """The endpoint answered something other than acceptance; the rows are retried."""


def key_location(settings: Settings) -> str:
    return f"{settings.base_url.rstrip('/')}/{settings.indexnow_key}.txt"


def submission(settings: Settings, urls: list[str]) -> dict:
    """The IndexNow JSON body for `urls`."""
    return {"host": urlparse(settings.base_url).hostname, "key": settings.indexnow_key,
            "keyLocation": key_location(settings), "urlList": urls}


async def submit(rows: list[dict], settings: Settings, worker_id: str) -> BatchOutcome:
    """INDEXNOW batch handler: POST the changed URLs of every row this pass claimed; off (rows done) without a key."""
    if not settings.indexnow_key:
        return BatchOutcome()
    urls = list(dict.fromkeys(a.url for a in await announced(rows, settings) if a.ever_public))
    if not urls:
        return BatchOutcome()
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        response = await client.post(settings.indexnow_endpoint, json=submission(settings, urls))
    if response.status_code not in ACCEPTED:
        raise IndexNowRefused(f"IndexNow answered {response.status_code}: {response.text[:300]}")
    return BatchOutcome()
