"""API fuzzing: schemathesis against the OpenAPI schema the app serves, for the JSON API (/api/...).

Every operation gets a bounded, derandomised run of valid (positive) and invalid (negative) cases.
Checks: never a 5xx, every answer documented (status code, content type) and matching its
response schema, and invalid input refused with a 4xx. The app runs in-process: Hypothesis drives
the cases in a worker thread and each request runs on the test session's event loop (the one the
database pool belongs to), through httpx's ASGI transport.
"""

from __future__ import annotations

import asyncio

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from careers.worker import Worker
from tests.reliability.conftest import make_employer, make_published
from tests.search_helpers import fresh_index

MAX_EXAMPLES = 30
CHECKS = {
    GenerationMode.POSITIVE: [not_a_server_error, status_code_conformance, content_type_conformance,
                              response_schema_conformance],
    GenerationMode.NEGATIVE: [not_a_server_error, status_code_conformance, content_type_conformance,
                              response_schema_conformance, negative_data_rejection],
}


def _run(operation, mode: GenerationMode, send) -> int:
    calls = 0

    @hypothesis_settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case) -> None:
        nonlocal calls
        response = send(case)
        calls += 1
        case.validate_response(response, checks=CHECKS[mode])

    check()
    return calls


async def test_the_json_api_never_fails_and_always_answers_as_its_schema_says(app, settings, browser):
    await fresh_index(settings)
    employer_id, _ = await make_employer("Fuzz Health")
    for n in range(3):
        await make_published(employer_id, f"Fuzzed remote coder {n}")
    await Worker(settings).drain()

    document = (await browser.get("/schema/openapi.json")).json()
    schema = schemathesis.openapi.from_dict(document).include(path_regex=r"^/api/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/listings", "/api/v1/listings/{listing_id}"}

    loop = asyncio.get_running_loop()

    def send(case) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        params = {k: v for k, v in (kwargs.get("params") or {}).items() if v is not None}
        assert not kwargs.get("cookies"), "the API takes no cookies; send them through the client if it ever does"
        request = client.request(kwargs["method"], kwargs["url"], params=params, headers=kwargs.get("headers"))
        return asyncio.run_coroutine_threadsafe(request, loop).result(timeout=60)

    total = 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                total += await asyncio.wait_for(asyncio.to_thread(_run, operation, mode, send), timeout=240)
    assert total >= len(operations) * 2 * 5, f"only {total} cases ran"
