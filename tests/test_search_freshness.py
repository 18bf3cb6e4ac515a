"""Search freshness: an idle worker wakes for new outbox rows instead of sleeping out a fixed wait.

Every worker here idles for an hour between passes, so only a wake-up can explain a row handled within the
test's deadline: `enqueue`'s in-process event, the SQLite `MAX(id)` poll or PostgreSQL's NOTIFY trigger.
Rows are written only once the worker waits (`wakeup.waiting`), so its first pass cannot pick them up.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from careers.core import clock, db, outbox
from careers.core.tables import OutboxRow
from careers.worker import Worker
from listings import service as listings_service
from tests.search_helpers import fresh_index, make_listing
from tests.waiting import apoll

AN_HOUR = 3600.0
WAKE_DEADLINE = 20.0  # generous for a busy machine; without a wake-up the worker would sleep an hour


@pytest.fixture
async def idle_worker(settings, database):
    """Run a worker (given handlers) that idles for an hour; yields a starter, stops it afterwards."""
    started: list[tuple[Worker, asyncio.Task]] = []

    async def start(handlers=None, periodic=None) -> Worker:
        worker = Worker(settings, handlers=handlers, periodic=periodic)
        task = asyncio.create_task(worker.run_forever(idle_seconds=AN_HOUR))
        started.append((worker, task))
        await apoll(lambda: worker.wakeup is not None and worker.wakeup.waiting, what="the worker to idle")
        return worker

    yield start
    for worker, task in started:
        worker.stop()
        await asyncio.wait_for(task, timeout=10)


async def test_a_row_enqueued_in_a_transaction_wakes_the_idle_worker(idle_worker):
    handled: list[dict] = []

    async def handler(payload, row_id, settings):
        handled.append(payload)

    await idle_worker({"test.wake": handler}, periodic=[])
    async with db.transaction():
        await outbox.enqueue("test.wake", {"n": 1})
    await apoll(lambda: handled, timeout=WAKE_DEADLINE, what="the enqueued row to be handled")
    assert handled == [{"n": 1}]


async def test_a_row_written_by_another_process_wakes_the_idle_worker(idle_worker):
    """Another process's row never sets this process's event: SQLite's MAX(id) poll or PostgreSQL's NOTIFY must."""
    handled: list[dict] = []

    async def handler(payload, row_id, settings):
        handled.append(payload)

    await idle_worker({"test.wake": handler}, periodic=[])
    # a plain insert, as another process's enqueue looks from here
    await OutboxRow.insert(OutboxRow(kind="test.wake", payload=json.dumps({"n": 2}), run_after=clock.now()))
    await apoll(lambda: handled, timeout=WAKE_DEADLINE, what="the other process's row to be handled")
    assert handled == [{"n": 2}]


async def test_a_woken_worker_keeps_the_lease_and_the_row_is_handled_once(idle_worker):
    """Waking is only a hint: two rows, each handled exactly once and marked done (at-least-once, no duplicates)."""
    handled: list[int] = []

    async def handler(payload, row_id, settings):
        handled.append(payload["n"])

    await idle_worker({"test.wake": handler}, periodic=[])
    first = await outbox.enqueue("test.wake", {"n": 1})
    second = await outbox.enqueue("test.wake", {"n": 2})

    async def both_done() -> bool:
        rows = await OutboxRow.select(OutboxRow.status).where(OutboxRow.id.is_in([first, second]))
        return [r["status"] for r in rows] == ["done", "done"]

    await apoll(both_done, timeout=WAKE_DEADLINE, what="both rows done")
    assert sorted(handled) == [1, 2]


async def test_a_publish_is_searchable_without_waiting_out_the_idle_sleep(settings, idle_worker, browser):
    await fresh_index(settings)
    listing = await make_listing("Freshly Posted Coder", required=["CIC"], status="draft")
    await idle_worker()  # every domain's handlers and periodic jobs, as `careers worker` runs them
    await listings_service.transition(listing, "published", actor_kind="admin")

    async def searchable() -> bool:
        body = (await browser.get("/api/v1/listings", params={"credential": "CIC"})).json()
        return [hit["id"] for hit in body["hits"]] == [listing]

    await apoll(searchable, timeout=WAKE_DEADLINE, what="the published listing in search")
