"""IndexNow: every change of a listing's public view is POSTed to the IndexNow endpoint (a loopback receiver here)
within seconds, once when it answers, again only after a failure, until it answers."""

from __future__ import annotations

import datetime as dt

import pytest

from careers.core import outbox
from careers.core.config import ConfigurationError, load_settings
from careers.worker import Worker
from listings import service as listings
from listings.reach.jobs import handlers
from tests.factories import make_listing
from tests.receiver import all_done, outbox_rows, receiver, receiver_server, reach_worker  # noqa: F401 - fixtures
from tests.waiting import apoll

KEY = "c0ffee00-reach-key-1234"
WITHIN = 10.0  # seconds: the promise, measured on the wall clock from the change's commit


@pytest.fixture
def settings(base_settings, receiver_server):  # noqa: F811 - the suite's settings with IndexNow switched on
    return _switched_on(base_settings, receiver_server.url)


_SETTINGS: dict = {}


def _switched_on(base, url: str):
    """One Settings object per session (the app fixture builds an app per Settings object)."""
    if "on" not in _SETTINGS:
        _SETTINGS["on"] = base.replace(indexnow_key=KEY, indexnow_endpoint=url + "/indexnow")
    return _SETTINGS["on"]


def submissions(receiver) -> list[dict]:  # noqa: F811
    return [r.json() for r in receiver.received("/indexnow")]


async def test_publishing_closing_and_hiding_each_submit_the_listing_url_once(settings, receiver, reach_worker):  # noqa: F811
    await reach_worker(settings)
    listing = await make_listing("Acme Health", "Remote CPC coder")  # published through the lifecycle
    url = f"{settings.base_url}/jobs/{listing.id}/{listing.slug}"
    await apoll(lambda: submissions(receiver), timeout=WITHIN, what="the publish's IndexNow submission")
    assert submissions(receiver) == [{"host": "testserver", "key": KEY, "keyLocation": f"http://testserver/{KEY}.txt",
                                      "urlList": [url]}]
    assert receiver.received("/indexnow")[0].headers["Content-Type"].startswith("application/json")

    await listings.close_listing(listing.id)
    await apoll(lambda: len(submissions(receiver)) == 2, timeout=WITHIN, what="the close's submission")
    other = await make_listing("Acme Health", "Inpatient coder")
    await apoll(lambda: len(submissions(receiver)) == 3, timeout=WITHIN, what="the second publish's submission")
    await listings.set_hidden(other.id, True, actor_kind="system", reason="reports")
    await apoll(lambda: len(submissions(receiver)) == 4, timeout=WITHIN, what="the hide's submission")
    other_url = f"{settings.base_url}/jobs/{other.id}/{other.slug}"
    assert [s["urlList"] for s in submissions(receiver)] == [[url], [url], [other_url], [other_url]]
    await apoll(lambda: all_done(outbox.INDEXNOW), what="every IndexNow row done")
    assert len(submissions(receiver)) == 4  # answered: nothing is sent twice


async def test_the_url_is_the_one_the_api_gives(settings, receiver, reach_worker, browser):  # noqa: F811
    await reach_worker(settings)
    listing = await make_listing("Acme Health", "Remote CPC coder")
    await apoll(lambda: submissions(receiver), timeout=WITHIN, what="the submission")
    api = await browser.get(f"/api/v1/listings/{listing.id}")
    assert submissions(receiver)[0]["urlList"] == [api.json()["url"]]


async def test_a_failing_receiver_is_retried_until_it_answers(settings, receiver, reach_worker, frozen_clock):  # noqa: F811
    receiver.fail("/indexnow", 2, status=503)
    await reach_worker(settings)
    listing = await make_listing("Acme Health", "Remote CPC coder")
    for attempt in (1, 2):
        await apoll(lambda: len(submissions(receiver)) == attempt, timeout=WITHIN, what=f"attempt {attempt}")
        rows = await apoll(lambda: _failed_rows(), what="the failure recorded")
        assert "503" in rows[0]["last_error"] and rows[0]["status"] == "pending"
        assert len(submissions(receiver)) == attempt  # nothing more until the back-off has passed
        frozen_clock.advance(dt.timedelta(minutes=5))
    await apoll(lambda: all_done(outbox.INDEXNOW), timeout=WITHIN, what="the row done once the receiver answers")
    url = f"{settings.base_url}/jobs/{listing.id}/{listing.slug}"
    assert [s["urlList"] for s in submissions(receiver)] == [[url]] * 3


async def _failed_rows() -> list[dict]:
    return [r for r in await outbox_rows(outbox.INDEXNOW) if r["last_error"] and r["locked_until"] is None]


async def test_one_post_carries_every_row_one_pass_claims(settings, receiver, database):  # noqa: F811
    first = await make_listing("Acme Health", "Remote CPC coder")
    second = await make_listing("Acme Health", "Inpatient coder")
    await listings.close_listing(first.id)
    await Worker(settings, handlers=handlers(), periodic=[]).run_once(periodic=False)
    base = settings.base_url
    assert [s["urlList"] for s in submissions(receiver)] == [
        [f"{base}/jobs/{first.id}/{first.slug}", f"{base}/jobs/{second.id}/{second.slug}"]]
    assert await all_done(outbox.INDEXNOW)


async def test_without_a_key_nothing_is_sent_and_the_rows_are_done(base_settings, receiver, database):  # noqa: F811
    await make_listing("Acme Health", "Remote CPC coder")
    off = base_settings.replace(indexnow_endpoint=receiver.url + "/indexnow")
    await Worker(off, handlers=handlers(), periodic=[]).drain()
    assert submissions(receiver) == [] and await all_done(outbox.INDEXNOW)


async def test_a_draft_that_was_never_public_is_not_announced(settings, receiver, database):  # noqa: F811
    draft = await make_listing("Acme Health", "Remote CPC coder", status="draft")
    await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": draft.id})
    await Worker(settings, handlers=handlers(), periodic=[]).drain()
    assert submissions(receiver) == [] and await all_done(outbox.INDEXNOW)


async def test_the_key_file_is_served_at_its_address(browser, settings):  # noqa: F811
    answer = await browser.get(f"/{KEY}.txt")
    assert answer.status_code == 200 and answer.text == KEY
    assert answer.headers["content-type"].startswith("text/plain")
    assert (await browser.get("/another-key-1234.txt")).status_code == 404


async def test_without_a_key_there_is_no_key_file(base_settings):
    from careers.app import create_app
    import httpx

    app = create_app(base_settings.replace(indexnow_key=""))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        assert (await client.get(f"/{KEY}.txt")).status_code == 404


@pytest.mark.parametrize("key", ["short", "x" * 129, "has space-1234", "under_score_1234"])
def test_a_key_indexnow_would_refuse_is_a_configuration_error(key):
    with pytest.raises(ConfigurationError, match="INDEXNOW_KEY"):
        load_settings({"INDEXNOW_KEY": key, "CAREERS_ENV": "test"})


def test_the_endpoint_defaults_to_the_shared_one_and_can_be_changed():
    assert load_settings({"INDEXNOW_KEY": KEY}).indexnow_endpoint == "https://api.indexnow.org/indexnow"
    assert load_settings({"INDEXNOW_ENDPOINT": "https://www.bing.com/indexnow"}).indexnow_endpoint == \
        "https://www.bing.com/indexnow"
