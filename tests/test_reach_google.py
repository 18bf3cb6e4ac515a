"""Google's Indexing API: URL_UPDATED on publish and edit, URL_DELETED on close, expiry, removal and hiding, sent
in one batch per worker pass with a token from google-auth (the service account's token_uri is the loopback
receiver), within a daily quota whose overflow waits for the next day, deletions first."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from careers.core import clock, outbox
from careers.core.config import ConfigurationError, load_settings, production_problems
from careers.worker import Worker
from listings import service as listings
from listings.reach import google
from listings.reach.jobs import handlers
from tests.factories import make_listing
from tests.receiver import TOKEN, all_done, outbox_rows, receiver, receiver_server, reach_worker  # noqa: F401
from tests.waiting import apoll

WITHIN = 10.0


@pytest.fixture(scope="session")
def service_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def google_settings(base_settings, receiver, service_key, tmp_path):  # noqa: F811
    """Settings with the Indexing API on: a fresh service-account file (so a fresh token) per test."""
    pem = service_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "careers-test", "private_key_id": "key-1", "private_key": pem,
        "client_email": "indexer@careers-test.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": receiver.url + "/token",
    }))
    return base_settings.replace(google_indexing_credentials=str(path), google_indexing_endpoint=receiver.url)


def batches(receiver) -> list[list[tuple[str, str]]]:  # noqa: F811
    """Each batch request's (url, type) notifications, in order."""
    found = []
    for request in receiver.received(google.BATCH_PATH):
        assert request.headers["Content-Type"].startswith("multipart/mixed; boundary=")
        parts = re.findall(rb"POST /v3/urlNotifications:publish HTTP/1\.1\r\n.*?\r\n\r\n(\{.*?\})\r\n", request.body,
                           re.S)
        found.append([(json.loads(p)["url"], json.loads(p)["type"]) for p in parts])
    return found


def url_of(settings, listing) -> str:
    return f"{settings.base_url}/jobs/{listing.id}/{listing.slug}"


async def test_publish_close_and_hide_send_the_right_notifications(google_settings, receiver, reach_worker,  # noqa: F811
                                                                   service_key):
    await reach_worker(google_settings)
    listing = await make_listing("Acme Health", "Remote CPC coder")
    url = url_of(google_settings, listing)
    await apoll(lambda: batches(receiver), timeout=WITHIN, what="the publish's notification")
    assert batches(receiver) == [[(url, "URL_UPDATED")]]
    await listings.close_listing(listing.id)
    await apoll(lambda: len(batches(receiver)) == 2, timeout=WITHIN, what="the close's notification")
    other = await make_listing("Acme Health", "Inpatient coder")
    await apoll(lambda: len(batches(receiver)) == 3, timeout=WITHIN, what="the second publish")
    await listings.set_hidden(other.id, True, actor_kind="system", reason="reports")
    await apoll(lambda: len(batches(receiver)) == 4, timeout=WITHIN, what="the hide's notification")
    other_url = url_of(google_settings, other)
    assert batches(receiver) == [[(url, "URL_UPDATED")], [(url, "URL_DELETED")], [(other_url, "URL_UPDATED")],
                                 [(other_url, "URL_DELETED")]]
    await apoll(lambda: all_done(outbox.GOOGLE_INDEXING), what="every Indexing API row done")
    assert len(batches(receiver)) == 4

    # the token: one exchange of a JWT signed by the service account, then reused as the batch's bearer
    tokens = receiver.received("/token")
    assert len(tokens) == 1
    form = parse_qs(tokens[0].body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    header, claims, signature = form["assertion"][0].split(".")
    service_key.public_key().verify(_b64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(),
                                    hashes.SHA256())
    claims = json.loads(_b64(claims))
    assert claims["iss"] == "indexer@careers-test.iam.gserviceaccount.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/indexing"
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in receiver.received(google.BATCH_PATH))


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_an_edit_of_a_published_listing_and_an_expiry_are_announced(google_settings, receiver, database,  # noqa: F811
                                                                         frozen_clock):
    listing = await make_listing("Acme Health", "Remote CPC coder")
    worker = Worker(google_settings, handlers=handlers(), periodic=[])
    await worker.drain()
    values = listings.listing_values(listing, await listings.listing_details(listing.id))
    edited = await listings.update_listing(listing.id, await listings.validate_listing(values | {"description": "New text"}))
    assert edited.status == "published"  # a verified employer's edit stays live
    await worker.drain()
    frozen_clock.advance(dt.timedelta(days=61))
    assert await listings.expire_due() == [listing.id]
    await worker.drain()
    url, now = url_of(google_settings, listing), url_of(google_settings, edited)  # the edit gave it its own slug
    assert batches(receiver) == [[(url, "URL_UPDATED")], [(now, "URL_UPDATED")], [(now, "URL_DELETED")]]


async def test_the_daily_quota_sends_deletions_first_and_carries_the_rest_to_the_next_day(
        google_settings, receiver, database, frozen_clock):  # noqa: F811
    settings = google_settings.replace(google_indexing_daily_quota=2)
    frozen_clock.set_now(dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc))  # 04:00 in California
    first = await make_listing("Acme Health", "Remote CPC coder")
    second = await make_listing("Acme Health", "Inpatient coder")
    closing = await make_listing("Acme Health", "Coding auditor")
    await listings.close_listing(closing.id)
    worker = Worker(settings, handlers=handlers(), periodic=[])
    await worker.run_once(periodic=False)
    assert batches(receiver) == [[(url_of(settings, closing), "URL_DELETED"), (url_of(settings, first), "URL_UPDATED")]]
    waiting = [r for r in await outbox_rows(outbox.GOOGLE_INDEXING) if r["status"] == "pending"]
    assert [json.loads(r["payload"])["listing_id"] for r in waiting] == [second.id]
    next_day = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.timezone.utc)  # midnight in California
    assert waiting[0]["run_after"] == next_day and waiting[0]["attempts"] == 0 and not waiting[0]["last_error"]

    await worker.drain()
    assert len(batches(receiver)) == 1  # today's quota is spent: nothing more today
    frozen_clock.set_now(next_day + dt.timedelta(seconds=1))
    await worker.drain()
    assert batches(receiver)[1:] == [[(url_of(settings, second), "URL_UPDATED")]]
    assert await all_done(outbox.GOOGLE_INDEXING)


async def test_a_failing_api_is_retried_until_it_answers(google_settings, receiver, database, frozen_clock):  # noqa: F811
    receiver.fail(google.BATCH_PATH, 1, status=500)
    listing = await make_listing("Acme Health", "Remote CPC coder")
    worker = Worker(google_settings, handlers=handlers(), periodic=[])
    await worker.run_once(periodic=False)
    [row] = await outbox_rows(outbox.GOOGLE_INDEXING)
    assert row["status"] == "pending" and "500" in row["last_error"]
    await worker.run_once(periodic=False)
    assert len(receiver.received(google.BATCH_PATH)) == 1  # not before the back-off has passed
    frozen_clock.advance(dt.timedelta(minutes=5))
    await worker.drain()
    assert batches(receiver) == [[(url_of(google_settings, listing), "URL_UPDATED")]] * 2
    assert await all_done(outbox.GOOGLE_INDEXING)
    assert await google.reserve_quota(200, google_settings) == 199  # the failed call was given back


async def test_a_refused_part_fails_only_its_own_rows():
    statuses = google.part_statuses(_multipart(["HTTP/1.1 200 OK", "HTTP/1.1 403 Forbidden"]))
    assert {n: s for n, (s, _) in statuses.items()} == {0: 200, 1: 403}


def _multipart(status_lines: list[str]):
    import httpx

    body = "".join(f"--b\r\nContent-Type: application/http\r\nContent-ID: <response-item{n}>\r\n\r\n{line}\r\n\r\n{{}}\r\n"
                   for n, line in enumerate(status_lines)) + "--b--\r\n"
    return httpx.Response(200, headers={"content-type": "multipart/mixed; boundary=b"}, text=body)


async def test_without_credentials_nothing_is_sent(base_settings, receiver, database):  # noqa: F811
    await make_listing("Acme Health", "Remote CPC coder")
    await Worker(base_settings.replace(google_indexing_endpoint=receiver.url), handlers=handlers(), periodic=[]).drain()
    assert receiver.requests == [] and await all_done(outbox.GOOGLE_INDEXING)


def test_the_endpoint_override_is_refused_in_production():
    assert "GOOGLE_INDEXING_ENDPOINT must be unset in production (it is for tests)" in production_problems(
        {"GOOGLE_INDEXING_ENDPOINT": "http://127.0.0.1:9"})
    with pytest.raises(ConfigurationError, match="GOOGLE_INDEXING_ENDPOINT"):
        load_settings({"CAREERS_ENV": "production", "GOOGLE_INDEXING_ENDPOINT": "http://127.0.0.1:9"})
    settings = load_settings({"GOOGLE_INDEXING_DAILY_QUOTA": "500", "GOOGLE_INDEXING_CREDENTIALS": "/etc/sa.json"})
    assert (settings.google_indexing_daily_quota, settings.google_indexing_credentials) == (500, "/etc/sa.json")
    assert load_settings({}).google_indexing_daily_quota == 200


def test_the_quota_day_ends_at_midnight_in_california():
    assert google.quota_day_end(dt.datetime(2026, 7, 1, 6, 59, tzinfo=dt.timezone.utc)) == \
        dt.datetime(2026, 7, 1, 7, 0, tzinfo=dt.timezone.utc)  # summer time
    assert google.quota_day_end(clock.now()) > clock.now()


def test_careers_check_reports_an_unusable_credentials_file(tmp_path, google_settings):
    from listings.reach.status import reach_status

    problems: list[str] = []
    line = reach_status(google_settings, problems)
    assert "Google Indexing API as indexer@careers-test.iam.gserviceaccount.com (200 a day)" in line
    assert "IndexNow off" in line and problems == []
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    line = reach_status(google_settings.replace(google_indexing_credentials=str(broken)), problems)
    assert "credentials unusable" in line and problems[0].startswith("GOOGLE_INDEXING_CREDENTIALS")
