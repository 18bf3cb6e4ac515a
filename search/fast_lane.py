"""GET /api/v1/listings answered before Litestar's request cycle, byte for byte as the Litestar handler answers it.

Why: the API is the board's most-called answer and issue 15 holds it to at most 1.5 ms p95 over raw Meilisearch.
Profiling the served app put Litestar's request cycle and middleware (signature model, dependency resolution, the
response object, four middleware layers) at about half of what the API adds on top of Meilisearch; the search
itself (parse, one multi-search, the answer: search/api.py) is the rest.

What it answers: a GET of exactly `/api/v1/listings` from a caller without a session cookie and without
`qualified`, whose parameters parse. Everything else goes on to Litestar, which answers as it always has: a bad
parameter (its 400 and message), a signed-in caller (the session middleware), `qualified=true`, another method or
path, and anything that raises here (Litestar runs the handler again and answers, logs or degrades as usual). The
OpenAPI description stays the Litestar handler's (`search.controllers.ListingSearchApiController`); a test
compares the two paths' answers for many queries.

What it keeps of Litestar's plumbing: the request id (it sits inside `careers.core.logs.request_id_middleware`),
the security headers (Litestar applies the app's `before_send` hooks to the `send` it hands its ASGI handler), and the request metrics (the labels Litestar's
`PrometheusMiddleware` records, through its own metric accessors).
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

from litestar import Litestar
from litestar.plugins.prometheus import PrometheusConfig, PrometheusMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from careers.core.web import SESSION_COOKIE
from search import api, service
from search.controllers import REPEATABLE_PARAMS

log = logging.getLogger("careers.search")

PATH = "/api/v1/listings"  # the controller's route template too (Prometheus's `path` label)
_SESSION = SESSION_COOKIE.encode() + b"="
_HEADERS = [(b"content-type", b"application/json")]


def query_params(query_string: bytes) -> dict[str, list[str]] | None:
    """The parameters as Litestar reads them (`litestar._parsers.parse_query_string`: latin-1, blanks kept); None
    when the answer is not plainly the fast lane's (an empty filter value, `qualified`)."""
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, separator="&"):
        params.setdefault(key, []).append(value)
    if "qualified" in params or any("" in params.get(name, ()) for name in REPEATABLE_PARAMS):
        return None
    return params


def _signed_in(scope: Scope) -> bool:
    return any(name == b"cookie" and _SESSION in value for name, value in scope["headers"])


def with_fast_lane(app: ASGIApp, litestar: Litestar, prometheus: PrometheusConfig) -> ASGIApp:
    """Wrap Litestar's ASGI handler (`app`, `litestar.asgi_handler`) so the plain API search skips its request
    cycle; `prometheus` is the config of the app's Prometheus middleware."""
    meter = PrometheusMiddleware(app, prometheus)  # only for its metric accessors: the same metrics Litestar records

    async def answer(params: dict[str, list[str]]) -> bytes | None:
        try:
            await service.refresh_lexicon()
            query = service.parse_query(params)
            return await api.search(query, litestar.state.settings)
        except service.SearchParamError:  # Litestar's handler answers the 400 with its message
            return None
        except Exception:  # never answer what the handler would answer otherwise: it runs, logs and answers
            log.debug("search: the fast lane hands a request on to the handler", exc_info=True)
            return None

    async def fast_lane(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET" or _signed_in(scope):
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        params = query_params(scope["query_string"])
        labels = {"method": "GET", "path": PATH, "status_code": 200, "app_name": prometheus.app_name}
        in_progress = meter.requests_in_progress(labels).labels(*labels.values())
        in_progress.inc()
        try:
            body = await answer(params) if params is not None else None
        finally:
            in_progress.dec()
        if body is None:
            await app(scope, receive, send)
            return
        start = {"type": "http.response.start", "status": 200,
                 "headers": [*_HEADERS, (b"content-length", str(len(body)).encode())]}
        await send(start)  # Litestar's before_send hooks (the security headers) wrap `send` outside this
        await send({"type": "http.response.body", "body": body})
        meter.request_count(labels).labels(*labels.values()).inc()
        meter.request_time(labels).labels(*labels.values()).observe(time.perf_counter() - started)

    return fast_lane
