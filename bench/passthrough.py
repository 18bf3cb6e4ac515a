"""The floor of a Python hop in front of Meilisearch (not the board; `bench/search_bench.py` measures it).

A bare ASGI function under uvicorn: GET /api/v1/listings parses the query as the API does (`parse_query`, the
built-in credential lexicon), posts the API's multi-search body with the app's own keep-alive client and
passes Meilisearch's bytes through unchanged: no framework, no middleware, no decoding, no answer to build. What it
adds over raw Meilisearch is what any Python web process between the client and Meilisearch costs on this machine;
what the board adds beyond it is the framework and the API's own work.

    MEILI_URL=... MEILI_MASTER_KEY=... uvicorn bench.passthrough:app --port 8001
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import msgspec

from careers.core.config import load_settings
from search.api import api_multi_search
from search.client import SearchUnavailable, http_for
from search.service import SearchParamError, parse_query

SETTINGS = load_settings()


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
        params.setdefault(key, []).append(value)
    try:
        body = api_multi_search(parse_query(params), SETTINGS.meili_index)
        status, raw = await http_for(SETTINGS).call("POST", "/multi-search", msgspec.json.encode(body))
    except (SearchParamError, SearchUnavailable) as exc:
        status, raw = 502, str(exc).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
    await send({"type": "http.response.body", "body": raw})
