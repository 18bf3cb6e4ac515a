"""Which client for the search hot path? (not a test)

    .venv/bin/python bench/search_clients.py [--docs 5000] [--requests 400]

Starts a private Meilisearch (like the managed one), indexes synthetic listings with our settings and
sends the same search sequentially and at concurrency 16 through: a shared keep-alive aiohttp session
(what search.client uses), aiohttp asking for gzip (its default), httpx's AsyncClient, and the official
`meilisearch` client in a thread. Prints p50/p95 and requests/s for each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import anyio  # noqa: E402
import httpx  # noqa: E402
import meilisearch  # noqa: E402

from careers import local  # noqa: E402
from search.service import meili_request, parse_query  # noqa: E402
from search.settings import index_settings  # noqa: E402

KEY = "clients-bench-key-0123456789"
WORDS = ("medical coder inpatient outpatient risk adjustment auditor documentation review physician accurate codes "
         "denials appeals remote hybrid team productivity charts abstract procedures").split()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round((len(ordered) - 1) * p / 100)))]


async def run(name: str, send, requests: int, concurrency: int) -> None:
    for _ in range(5):
        await send()
    latencies: list[float] = []
    left = requests

    async def user() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            t0 = time.perf_counter()
            await send()
            latencies.append((time.perf_counter() - t0) * 1000)

    t0 = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    rps = len(latencies) / (time.perf_counter() - t0)
    print(f"  {name:<34} c={concurrency:<3} p50 {percentile(latencies, 50):7.2f} ms  "
          f"p95 {percentile(latencies, 95):7.2f} ms  {rps:8.1f} req/s", flush=True)


async def main(args) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="careers-clients-"))
    proc = local.start_meilisearch(tmp / "meili", master_key=KEY)
    try:
        client = meilisearch.Client(proc.url, KEY)
        client.wait_for_task(client.create_index("listings", {"primaryKey": "id"}).task_uid)
        client.wait_for_task(client.index("listings").update_settings(index_settings()).task_uid, timeout_in_ms=60000)
        rng = random.Random(7)
        docs = [{"id": i, "title": " ".join(rng.sample(WORDS, 3)), "credentials": [rng.choice(["CPC", "CCS", "CRC"])],
                 "state": rng.choice(["TX", "FL", "CA"]), "work_mode": "onsite", "settings": [], "specialties": [],
                 "employment_type": "full_time", "description_excerpt": " ".join(rng.choices(WORDS, k=40)),
                 "published_at": 1.7e9 + i, "boosted_at": 1.7e9 + i} for i in range(1, args.docs + 1)]
        client.wait_for_task(client.index("listings").add_documents(docs).task_uid, timeout_in_ms=600000)
        body = meili_request(parse_query({"q": ["coder"], "credential": ["CPC"], "state": ["TX"]}))
        url = f"{proc.url}/indexes/listings/search"
        auth = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
        payload = json.dumps(body).encode()
        print(f"{args.docs} documents; keyword + credential + state + facets; {args.requests} requests each")

        async with aiohttp.ClientSession(headers={**auth, "Accept-Encoding": "identity"}) as plain, \
                aiohttp.ClientSession(headers=auth) as gzip, \
                httpx.AsyncClient(headers={**auth, "Accept-Encoding": "identity"}) as hx:

            async def via_aiohttp():
                async with plain.post(url, data=payload) as r:
                    await r.read()

            async def via_aiohttp_gzip():
                async with gzip.post(url, data=payload) as r:
                    await r.read()

            async def via_httpx():
                (await hx.post(url, content=payload)).read()

            official = meilisearch.Client(proc.url, KEY, timeout=5)

            async def via_official():
                await anyio.to_thread.run_sync(lambda: official.index("listings").search(body["q"], {
                    k: v for k, v in body.items() if k != "q"}))

            for concurrency in (1, 16):
                for name, send in (("aiohttp keep-alive, identity", via_aiohttp),
                                   ("aiohttp keep-alive, gzip (default)", via_aiohttp_gzip),
                                   ("httpx AsyncClient, identity", via_httpx),
                                   ("official client in a thread", via_official)):
                    await run(name, send, args.requests, concurrency)
    finally:
        proc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=400)
    asyncio.run(main(parser.parse_args()))
