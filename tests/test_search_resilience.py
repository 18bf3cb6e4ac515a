"""Search never goes blank: Meilisearch stopping mid-test, and `careers reindex` under a search loop."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time

import anyio
import httpx
import pytest

from careers import local
from careers.core import clock
from careers.core.config import PROJECT_ROOT
from careers.core.tables import OutboxRow
from careers.worker import Worker
from listings import service as listings_service
from search.service import parse_query, search_listings
from tests.conftest import _TMP, Browser
from tests.search_helpers import fresh_index, ids, make_listing
from tests.waiting import apoll


@pytest.fixture
def private_meilisearch():
    """A Meilisearch of this test's own (the session one must keep running for everyone else)."""
    key = "private-master-key-0123456789"
    proc = local.start_meilisearch(_TMP / f"meili-private-{time.monotonic_ns()}", master_key=key,
                                   log_path=_TMP / "meili-private.log")
    yield proc, key
    proc.stop()


async def test_meilisearch_down_answers_from_the_database_and_catches_up_when_back(private_meilisearch, settings,
                                                                                   database):
    from careers.app import create_app

    proc, key = private_meilisearch
    own = settings.replace(meili_url=proc.url, meili_master_key=key, meili_index="listings_private")
    await fresh_index(own)
    worker = Worker(own)
    before = await make_listing("Inpatient Coder", required=["CCS"], settings=["inpatient"], state="TX")
    await worker.drain()

    async with Browser(transport=httpx.ASGITransport(app=create_app(own)), base_url="http://testserver") as browser:
        body = (await browser.get("/api/v1/listings", params={"credential": "CCS"})).json()
        assert ids(body) == [before] and body["degraded"] is False

        proc.stop()
        response = await browser.get("/api/v1/listings", params={"credential": "CCS", "setting": "inpatient"})
        assert response.status_code == 200
        body = response.json()
        assert body["degraded"] is True and ids(body) == [before]
        # facets counted by the database, disjunctive as Meilisearch's are
        assert body["facets"]["credential"] == {"CCS": 1} and body["facets"]["setting"] == {"inpatient": 1}
        page = await browser.get("/jobs", params={"q": "inpatient"})
        assert page.status_code == 200 and 'id="degraded-notice"' in page.text and "Inpatient Coder" in page.text
        # every filter still applies on the database path
        assert ids((await browser.get("/api/v1/listings", params={"credential": "CPC"})).json()) == []

        meanwhile = await make_listing("Outpatient Coder", required=["CCS"], settings=["outpatient"])
        await worker.drain()  # Meilisearch is down: the sync row fails and stays, with its error
        row = await OutboxRow.objects().where(OutboxRow.kind == "search.sync").order_by(OutboxRow.id, ascending=False).first()
        assert row.status == "pending" and row.last_error and row.attempts == 1
        body = (await browser.get("/api/v1/listings", params={"credential": "CCS"})).json()
        assert body["degraded"] is True and set(ids(body)) == {before, meanwhile}

        proc.start()
        proc.wait_until_listening(timeout=60, health_path="/health")
        # The row comes due after its back-off: the worker runs with its clock moved past it.
        with clock.frozen_at(clock.now() + dt.timedelta(minutes=5)):
            await worker.drain()
        body = (await browser.get("/api/v1/listings", params={"credential": "CCS"})).json()
        assert body["degraded"] is False and set(ids(body)) == {before, meanwhile}


async def test_search_with_meilisearch_unset_degrades(settings, database, worker):
    await fresh_index(settings)
    listing = await make_listing("Remote Coder", required=["CPC"], work_mode="remote")
    result = await search_listings(parse_query({"q": ["cpc"]}), settings.replace(meili_url=""))
    assert result.degraded and [h["id"] for h in result.hits] == [listing]


async def test_reindex_under_a_concurrent_search_loop_never_fails_or_comes_back_empty(settings, database, worker):
    """The rebuild is held open after its first batch (a hook this test controls) while searches run and a
    listing is published; no search fails or comes back empty, and the listing published mid-rebuild is in the
    swapped-in index before any worker runs (the rebuild replays the outbox)."""
    from careers.app import create_app
    from search.indexing import rebuild_index

    own = settings.replace(meili_index="listings")  # what `careers reindex` rebuilds with the default settings
    await fresh_index(own)
    # 24 listings in batches of 3: eight batches, so the new index fills while the old one answers.
    made = [await make_listing(f"Coder {i}", required=["CPC" if i % 2 else "CCS"]) for i in range(24)]
    await Worker(own).drain()

    failures: list[str] = []
    searches = 0
    stop = asyncio.Event()
    held = asyncio.Event()  # the rebuild has sent its first batch and waits
    release = asyncio.Event()  # the test has published and searched: the rebuild may go on
    batches: list[int] = []

    async def hold_after_first_batch(done: int, total: int) -> None:
        batches.append(done)
        if len(batches) == 1:
            held.set()
            await release.wait()

    async with Browser(transport=httpx.ASGITransport(app=create_app(own)), base_url="http://testserver") as browser:

        async def search_loop() -> None:
            nonlocal searches
            while not stop.is_set():
                for params in ({"q": "coder"}, {"credential": "CPC"}, {"q": "CCS", "sort": "newest"}):
                    response = await browser.get("/api/v1/listings", params=params)
                    searches += 1
                    body = response.json() if response.status_code == 200 else {}
                    if response.status_code != 200 or body.get("degraded") or not body.get("hits"):
                        failures.append(f"{params}: {response.status_code} {response.text[:200]}")
                await asyncio.sleep(0)  # yield to the rebuild between rounds

        loop_task = asyncio.create_task(search_loop())
        rebuild = asyncio.create_task(rebuild_index(own, batch_size=3, after_batch=hold_after_first_batch))
        try:
            await asyncio.wait_for(held.wait(), timeout=60)
            assert await rebuilding(own)  # the new index exists beside the live one
            published_during = await make_listing("Coder published during the rebuild", required=["CRC"])
            # made[0] went into the first batch: only the rebuild's outbox replay can take it out of the new index
            await listings_service.transition(made[0], "closed", actor_kind="employer")
            # searches keep answering from the live index while the rebuild is held
            searched_before = searches
            await apoll(lambda: searches >= searched_before + 6, what="searches while the rebuild is held")
            release.set()
            report = await asyncio.wait_for(rebuild, timeout=120)
        finally:
            release.set()
            stop.set()
            await loop_task

        # the scan reads by id, so the listing published while held is read in a later batch
        assert report.documents == len(made) + 1 and len(batches) == 9 and report.replayed >= 2
        assert failures == []
        # nothing published during the rebuild is lost, even before the worker runs
        body = (await browser.get("/api/v1/listings", params={"credential": "CRC"})).json()
        assert ids(body) == [published_during]
        every = (await browser.get("/api/v1/listings", params={"per_page": "100"})).json()
        assert every["total"] == len(made) and made[0] not in ids(every) and published_during in ids(every)

    assert not await rebuilding(own)  # the old index was deleted


async def test_careers_reindex_command_rebuilds_the_live_index(settings, database, worker):
    own = settings.replace(meili_index="listings")
    await fresh_index(own)
    made = [await make_listing(f"Coder {i}", required=["CPC"]) for i in range(4)]
    env = {**os.environ, "MEILI_URL": own.meili_url, "MEILI_MASTER_KEY": own.meili_master_key}
    done = await anyio.to_thread.run_sync(lambda: subprocess.run(
        [sys.executable, "-m", "careers.cli", "reindex", "--batch-size", "3"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120))
    assert done.returncode == 0, done.stderr
    assert "Reindexed" in done.stdout
    # the worker never ran: every listing is searchable because the rebuild read the database
    result = await search_listings(parse_query({"credential": ["CPC"], "per_page": ["100"]}), own)
    assert sorted(h["id"] for h in result.hits) == sorted(made) and not result.degraded
    assert not await rebuilding(own)


async def rebuilding(settings) -> bool:
    """True while a `<index>_<timestamp>` rebuild index exists."""
    from search.client import run_admin

    names = await run_admin(settings, lambda c: [i.uid for i in c.get_indexes({"limit": 1000})["results"]])
    return any(n.startswith(settings.meili_index + "_2") for n in names)


async def test_a_non_json_answer_in_front_of_meilisearch_degrades_instead_of_failing(settings, database, worker):
    """A reverse proxy answering 502 with an HTML page (Meilisearch behind it restarting) is "unreachable"."""
    from aiohttp import web

    seen_encodings: list[str] = []

    async def bad_gateway(request):
        seen_encodings.append(request.headers.get("Accept-Encoding", ""))
        return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>", content_type="text/html")

    proxy = web.Application()
    proxy.router.add_route("*", "/{tail:.*}", bad_gateway)
    runner = web.AppRunner(proxy)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        await fresh_index(settings)
        listing = await make_listing("Proxied Coder", required=["CPC"])
        result = await search_listings(parse_query({"credential": ["CPC"]}),
                                       settings.replace(meili_url=f"http://127.0.0.1:{port}"))
        assert result.degraded and [h["id"] for h in result.hits] == [listing]
        # and the search path never asks for gzip (measured: ~44 ms stalls per request on a reused connection)
        assert seen_encodings and set(seen_encodings) == {"identity"}
    finally:
        await runner.cleanup()


async def test_a_failed_meilisearch_task_raises_so_the_outbox_keeps_the_row(settings, database):
    """`wait_for_task` returns failed tasks without raising; our wait must not take them for success."""
    from search.client import SearchEngineError, run_admin, wait_task

    await fresh_index(settings)
    with pytest.raises(SearchEngineError) as caught:
        await run_admin(settings, lambda c: wait_task(
            c, c.index(settings.meili_index).add_documents([{"id": "not a valid id!"}], primary_key="id").task_uid))
    assert caught.value.code == "invalid_document_id"
