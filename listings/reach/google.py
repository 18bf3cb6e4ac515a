"""Google's Indexing API for job pages: URL_UPDATED when a listing is (re)published or edited, URL_DELETED when it
stops being public (closed, expired, removed, hidden, paused).

On when GOOGLE_INDEXING_CREDENTIALS names a service-account JSON file. The token comes from google-auth (which
honours the file's `token_uri`); the notifications of one worker pass go in one batch request (multipart/mixed,
at most 100 parts). Google allows GOOGLE_INDEXING_DAILY_QUOTA publish calls a day (its day ends at midnight
Pacific time): past it, the remaining rows wait for the next day, deletions sent first so a closed job leaves
Google before a new one arrives. Each part's answer settles its own rows.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from zoneinfo import ZoneInfo

import anyio
import httpx

from careers.core import clock, db
from careers.core.config import Settings
from careers.core.outbox import BatchOutcome
from listings.reach.announced import Announced, announced

SCOPES = ("https://www.googleapis.com/auth/indexing",)
BATCH_PATH = "/batch/indexing/v3"
PUBLISH_PATH = "/v3/urlNotifications:publish"
BATCH_MAX = 100  # parts per batch request (Google's limit)
QUOTA_DAY = ZoneInfo("America/Los_Angeles")  # when Google's daily quota starts over
UPDATED, DELETED = "URL_UPDATED", "URL_DELETED"
TIMEOUT_SECONDS = 30.0
_credentials: dict[str, object] = {}  # credentials file -> google-auth Credentials (the token is reused until expiry)


class IndexingRefused(Exception):
    """The batch request itself failed (token, transport, a non-200 answer); every row is retried."""


def notification(item: Announced) -> str | None:
    """What Google is told about one listing: updated (public), deleted (was public, no longer), or nothing."""
    if item.public:
        return UPDATED
    return DELETED if item.ever_public else None


def quota_day_end(now: dt.datetime) -> dt.datetime:
    """When the quota day holding `now` ends (the next midnight in Google's time zone), in UTC."""
    local = now.astimezone(QUOTA_DAY)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=QUOTA_DAY)
    return midnight.astimezone(dt.timezone.utc)


def _quota_slot(day_end: dt.datetime) -> str:
    return f"google-indexing:{day_end.date().isoformat()}"


async def reserve_quota(wanted: int, settings: Settings) -> int:
    """Take up to `wanted` of today's calls (a counter in rate_limit_hits, atomic across workers); returns how many."""
    if wanted <= 0:
        return 0
    end = quota_day_end(clock.now())
    slot = _quota_slot(end)
    rows = await db.fetch(
        "INSERT INTO rate_limit_hits (slot, count, expires_at) VALUES ({}, {}, {}) ON CONFLICT (slot) "
        "DO UPDATE SET count = rate_limit_hits.count + excluded.count RETURNING count",
        slot, wanted, int(end.timestamp()) + 86400)
    over = max(0, int(rows[0]["count"]) - settings.google_indexing_daily_quota)
    granted = max(0, wanted - over)
    if granted < wanted:  # give back what did not fit, so the count stays the calls actually made
        await release_quota(wanted - granted)
    return granted


async def release_quota(calls: int) -> None:
    """Give back calls reserved for a batch that got no answer."""
    slot = _quota_slot(quota_day_end(clock.now()))
    await db.fetch("UPDATE rate_limit_hits SET count = count - {} WHERE slot = {}", calls, slot)


def _access_token(path: str) -> str:
    """A valid access token for the service account in `path` (blocking: run in a thread)."""
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account

    credentials = _credentials.get(path)
    if credentials is None:
        credentials = _credentials[path] = service_account.Credentials.from_service_account_file(path, scopes=SCOPES)
    if not credentials.valid:
        credentials.refresh(Request())
    return credentials.token


def batch_body(notes: list[tuple[str, str]], boundary: str) -> bytes:
    """The multipart/mixed body of one batch: one embedded `POST urlNotifications:publish` per (url, type)."""
    parts = []
    for n, (url, kind) in enumerate(notes):
        payload = json.dumps({"url": url, "type": kind})
        parts.append(f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <item{n}>\r\n\r\n"
                     f"POST {PUBLISH_PATH} HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{payload}\r\n")
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


_STATUS = re.compile(r"^HTTP/1\.[01] (\d{3})", re.MULTILINE)
_CONTENT_ID = re.compile(r"^Content-ID:\s*<response-item(\d+)>", re.MULTILINE | re.IGNORECASE)


def part_statuses(response: httpx.Response) -> dict[int, tuple[int, str]]:
    """{part number: (HTTP status, text)} read from a batch answer (parts without a Content-ID count in order)."""
    found = re.search(r'boundary="?([^";]+)"?', response.headers.get("content-type", ""))
    if not found:
        raise IndexingRefused(f"the batch answer is not multipart: {response.headers.get('content-type')!r}")
    statuses: dict[int, tuple[int, str]] = {}
    for order, part in enumerate(p for p in response.text.split("--" + found.group(1))[1:] if p.strip() != "--"):
        status, number = _STATUS.search(part), _CONTENT_ID.search(part)
        if status:
            statuses[int(number.group(1)) if number else order] = (int(status.group(1)), part.strip()[-300:])
    return statuses


async def send_batch(notes: list[tuple[str, str]], settings: Settings) -> dict[int, tuple[int, str]]:
    """POST one batch of (url, type) notifications; returns each part's status."""
    token = await anyio.to_thread.run_sync(_access_token, settings.google_indexing_credentials)
    boundary = "careers_" + uuid.uuid4().hex
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        response = await client.post(
            settings.google_indexing_endpoint.rstrip("/") + BATCH_PATH, content=batch_body(notes, boundary),
            headers={"Authorization": f"Bearer {token}", "Content-Type": f"multipart/mixed; boundary={boundary}"})
    if response.status_code != 200:
        raise IndexingRefused(f"the Indexing API answered {response.status_code}: {response.text[:300]}")
    return part_statuses(response)


async def notify(rows: list[dict], settings: Settings, worker_id: str) -> BatchOutcome:
    """GOOGLE_INDEXING batch handler: deletions first, as many as today's quota allows; the rest wait for tomorrow."""
    if not settings.google_indexing_credentials:
        return BatchOutcome()
    items = [(item, kind) for item in await announced(rows, settings) if (kind := notification(item))]
    items.sort(key=lambda pair: pair[1] != DELETED)  # stable: deletions first, each group in the rows' order
    fits = min(len(items), BATCH_MAX)
    granted = await reserve_quota(fits, settings)
    sending = items[:granted]
    later = {i: quota_day_end(clock.now()) for item, _ in items[granted:fits] for i in item.row_ids}
    later.update({i: clock.now() for item, _ in items[fits:] for i in item.row_ids})  # the next batch, next pass
    outcome = BatchOutcome(later=later)
    if not sending:
        return outcome
    try:
        statuses = await send_batch([(item.url, kind) for item, kind in sending], settings)
    except Exception:
        await release_quota(granted)  # no batch answer: the rows are retried and will count then
        raise
    for n, (item, _) in enumerate(sending):
        status, text = statuses.get(n, (0, "no answer for this part"))
        if status != 200:
            outcome.failed.update({i: f"Indexing API part {n}: {status} {text}" for i in item.row_ids})
    return outcome
