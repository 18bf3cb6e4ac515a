"""Drill: Meilisearch is killed (SIGKILL) in the middle of a burst of publishes and comes back.

A private Meilisearch (the session's one keeps serving everybody else), a worker draining the
outbox in the background the whole time, listings published in concurrent waves through the
lifecycle, some closed while the engine is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

import httpx
import pytest

from careers import local
from careers.core import outbox
from careers.core.tables import OutboxRow
from careers.worker import Worker
from listings import service as listings_service
from search.client import run_admin
from search.indexing import ensure_index
from tests.conftest import _TMP, Browser
from tests.reliability.conftest import make_draft, make_employer, wait_until

WAVES = 6
PER_WAVE = 10
KILL_AFTER_WAVE = 2  # Meilisearch dies after this wave and stays down for the next two
RESTART_AFTER_WAVE = 4
CLOSED_WHILE_DOWN = 5
KEY = "drill-master-key-0123456789"


@pytest.fixture
def own_meilisearch():
    proc = local.start_meilisearch(_TMP / f"meili-drill-{time.monotonic_ns()}", master_key=KEY,
                                   log_path=_TMP / "meili-drill.log")
    yield proc
    proc.stop()


async def _indexed_ids(settings) -> list[int]:
    def fetch(client):
        docs = client.index(settings.meili_index).get_documents({"limit": 1000, "fields": ["id"]}).results
        return [d.id for d in docs]

    return await run_admin(settings, lambda c: [int(i) for i in fetch(c)], timeout=30)


@pytest.mark.slow
async def test_meilisearch_killed_during_a_publish_burst_ends_with_every_published_listing_indexed_once(
        own_meilisearch, settings):
    """Invariant: afterwards the index holds exactly the published listings, each once (none missing, none
    twice, none closed), every search row is done, and search answers from Meilisearch again, not degraded."""
    own = settings.replace(meili_url=own_meilisearch.url, meili_master_key=KEY, meili_index="listings_drill")
    await ensure_index(own)
    employer_id, _ = await make_employer("Search Drill Health")
    drafts = [await make_draft(employer_id, f"Coder wave {w} number {n}")
              for w in range(WAVES) for n in range(PER_WAVE)]
    worker = Worker(own)
    stop = asyncio.Event()
    worker_errors: list[str] = []

    async def background_worker() -> None:
        while not stop.is_set():
            try:
                if not await worker.run_once():
                    await asyncio.sleep(0.05)  # idle pause of the worker loop, as in production
            except Exception as exc:  # the drill fails below; the loop goes on as in production
                worker_errors.append(repr(exc))
                await asyncio.sleep(0.05)  # idle pause of the worker loop, as in production

    loop_task = asyncio.create_task(background_worker())
    closed: list[int] = []
    try:
        for wave in range(WAVES):
            batch = drafts[wave * PER_WAVE:(wave + 1) * PER_WAVE]
            await asyncio.gather(*(listings_service.transition(lid, "published", actor_kind="admin") for lid in batch))
            if wave == KILL_AFTER_WAVE:
                os.killpg(own_meilisearch.pid, signal.SIGKILL)  # mid-burst: sync tasks may be in flight
                own_meilisearch.process.wait(timeout=10)
                # closed while the engine is down: these must not survive in the index
                closed = drafts[:CLOSED_WHILE_DOWN]
                await asyncio.gather(*(listings_service.close_listing(lid) for lid in closed))
            if wave == RESTART_AFTER_WAVE:
                own_meilisearch.start()
                own_meilisearch.wait_until_listening(timeout=60, health_path="/health")
            await asyncio.sleep(0.1)  # paces the burst; the invariants below hold whatever ran in between

        # Rows that failed while the engine was down wait out their back-off; an admin's retry makes them due now.
        async def caught_up() -> bool:
            waiting = await OutboxRow.select(OutboxRow.id).where(
                (OutboxRow.kind == "search.sync") & (OutboxRow.status != "done"))
            for row in waiting:
                await outbox.retry(row["id"])
            return not waiting

        await wait_until(caught_up, timeout=90, interval=0.5, what="every search row to be done")
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(loop_task, timeout=30)

    assert worker_errors == []
    published = sorted(set(drafts) - set(closed))
    indexed = await _indexed_ids(own)
    assert len(indexed) == len(set(indexed)), "a listing is in the index twice"
    assert sorted(indexed) == published
    failed = await OutboxRow.count().where((OutboxRow.kind == "search.sync") & (OutboxRow.status == "failed"))
    assert failed == 0

    from careers.app import create_app

    async with Browser(transport=httpx.ASGITransport(app=create_app(own)), base_url="http://testserver") as client:
        body = (await client.get("/api/v1/listings", params={"per_page": "100"})).json()
    hits = [h["id"] for h in body["hits"]]
    assert body["degraded"] is False
    assert body["total"] == len(published) and sorted(hits) == published
