"""search/fast_lane.py answers the plain API search before Litestar's request cycle: exactly as the Litestar handler
would (status, headers, bytes), for the requests it takes, and hands everything else on to Litestar."""

from __future__ import annotations

import httpx
import pytest

from careers.metrics import prometheus_config
from search import api as search_api
from search.fast_lane import with_fast_lane
from search.service import parse_query
from tests.search_helpers import fresh_index, make_listing
from tests.test_observability import TOKEN, sample

# What the fast lane answers itself, then what it hands on (each a 400 of the handler's, with its message)
ANSWERED = ["", "?q=coder", "?credential=CPC&credential=crc", "?credential=CPC,CCS&state=tx", "?q=CCS&setting=inpatient",
            "?work_mode=remote&work_mode=hybrid", "?zip=77002&radius=25", "?zip=77002&sort=distance",
            "?remote_state=fl", "?min_pay=60%2C000&sort=pay", "?entry_level=yes&posted_within=7",
            "?q=caf%C3%A9+coder&per_page=1&page=2", "?q=coder&q=billing", "?unknown=1&q=houston", "?q=99213"]
HANDED_ON = ["?credential=", "?zip=1", "?per_page=0", "?credential=XYZ", "?qualified=true", "?sort=sideways",
             "?posted_within=2", "?radius=5"]


@pytest.fixture(autouse=True)
async def search_index(settings, database):
    await fresh_index(settings)


async def get(app, query: str, *, cookie: str = "") -> httpx.Response:
    headers = {"Cookie": cookie} if cookie else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        return await client.get("/api/v1/listings" + query, headers=headers)


def comparable(response: httpx.Response) -> tuple:
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "date")}
    return response.status_code, headers, response.content


async def test_the_fast_lane_answers_byte_for_byte_what_the_litestar_handler_answers(app, worker):
    await make_listing("Houston CPC", required=["CPC"], any_of=["CCS"], zip_code="77002", city="Houston", state="TX",
                       settings=["inpatient"], pay=(55000, 70000, "year"), featured=True)
    await make_listing("Remote CRC café coder", required=["CRC"], work_mode="remote", remote_states=["TX", "FL"],
                       entry_level_ok=True, pay=(30, 35.5, "hour"))
    await make_listing("Conroe hybrid billing", any_of=["CPC", "CCS"], work_mode="hybrid", zip_code="77304",
                       state="TX", pay=(3, 4, "chart"))
    await worker.drain()
    for query in ANSWERED + HANDED_ON:
        fast = await get(app, query)
        # a session cookie (even one that signs nobody in) always goes through Litestar's whole request cycle
        handler = await get(app, query, cookie="cc_session=signs-nobody-in")
        assert comparable(fast) == comparable(handler), query
        assert fast.headers["x-request-id"] and fast.headers["x-request-id"] != handler.headers["x-request-id"]
        assert fast.status_code == (200 if query in ANSWERED else 400), (query, fast.text)
    assert (await get(app, "?q=billing")).json()["total"] == 1  # the answers compared above do find listings
    assert (await get(app, "?credential=CPC&credential=crc")).json()["total"] == 3


class Handler:
    """Stands for Litestar's ASGI handler behind the fast lane: answers 299 and notes that it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        query = scope.get("query_string", b"").decode()
        self.asked.append(scope["path"] + ("?" + query if query else ""))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.mark.parametrize(("method", "path", "query", "cookie"), [
    ("GET", "/api/v1/listings", "?credential=", ""),
    ("GET", "/api/v1/listings", "?zip=1", ""),
    ("GET", "/api/v1/listings", "?qualified=false", ""),
    ("GET", "/api/v1/listings", "?q=coder", "theme=dark; cc_session=abc"),
    ("HEAD", "/api/v1/listings", "?q=coder", ""),
    ("POST", "/api/v1/listings", "?q=coder", ""),
    ("GET", "/api/v1/listings/", "?q=coder", ""),
    ("GET", "/api/v1/listings/12", "", ""),
    ("GET", "/jobs", "?q=coder", ""),
])
async def test_everything_but_a_plain_api_search_goes_on_to_the_handler(app, method, path, query, cookie):
    handler = Handler()
    lane = with_fast_lane(handler, app, prometheus_config())
    headers = {"Cookie": cookie} if cookie else {}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lane), base_url="http://testserver") as client:
        response = await client.request(method, path + query, headers=headers)
    assert response.status_code == 299 and handler.asked == [path + query], handler.asked


async def test_a_plain_api_search_never_reaches_the_handler(app, settings, worker):
    await make_listing("Remote CPC", required=["CPC"], work_mode="remote")
    await worker.drain()
    handler = Handler()
    lane = with_fast_lane(handler, app, prometheus_config())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=lane), base_url="http://testserver") as client:
        response = await client.get("/api/v1/listings?credential=cpc", headers={"Cookie": "theme=dark"})
    assert handler.asked == [] and response.status_code == 200
    expected = await search_api.search(parse_query({"credential": ["cpc"]}), settings)
    assert response.content == expected and response.json()["total"] == 1


async def test_a_fast_answer_counts_in_the_request_metrics_under_the_handler_s_labels(base_settings, database):
    from careers.app import create_app

    app = create_app(base_settings.replace(metrics_token=TOKEN))
    labels = {"path": "/api/v1/listings", "method": "GET", "status_code": "200"}

    async def count() -> float:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            text = (await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text
        return sample(text, "careers_http_requests_total", **labels) or 0.0

    before = await count()
    assert (await get(app, "?q=coder")).status_code == 200  # the fast lane
    assert (await get(app, "?q=coder", cookie="cc_session=x")).status_code == 200  # Litestar's handler
    assert await count() == before + 2
