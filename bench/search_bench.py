"""Search benchmark (not a test): generate N listings into a scratch database and index, then measure.

    .venv/bin/python bench/search_bench.py                      # 100,000 listings
    .venv/bin/python bench/search_bench.py --listings 20000 --json bench/results-20k.json

It prints (a) indexing throughput and the `careers reindex` time, (b) p50/p95/p99 latency and
requests/s at concurrency 1 and 16 for the JSON API and the HTML page, for four queries, side by
side with the same multi-search (main query + one per active facet group) sent straight to
Meilisearch (with the overhead ratio) and through `bench/passthrough.py` (the floor: a bare ASGI function that
passes Meilisearch's bytes through, no framework), (c) the degraded database path (the API with Meilisearch
unreachable), and (d) publish/close → search freshness with an embedded worker and a `careers worker`. Everything runs on loopback in a
temporary directory that is deleted afterwards: a private Meilisearch started like the managed one
(careers.local), a SQLite database (or --database-url), and one uvicorn worker per app.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERIES = {
    "keyword": {"q": "coder"},
    "keyword_filters_facets": {"q": "coder", "credential": "CPC", "state": "TX"},
    "zip_radius_by_distance": {"zip": "77002", "radius": "16", "sort": "distance"},  # 16 miles ≈ 25 km
    "three_facet_groups": {"credential": "CCS", "setting": "outpatient", "work_mode": "remote"},  # 4 searches in 1
}
MASTER_KEY = "bench-master-key-0123456789"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000, help="how many published listings (default 100000)")
    parser.add_argument("--json", metavar="FILE", help="also write machine-readable results here")
    parser.add_argument("--seconds", type=float, default=4.0,
                        help="seconds per target and concurrency, taken in interleaved slices (default 4)")
    parser.add_argument("--database-url", default="", help="a scratch PostgreSQL database (default: SQLite in a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--freshness-only", action="store_true", help="skip the query latency runs")
    return parser.parse_args(argv)


ARGS = parse_args()
TMP = Path(tempfile.mkdtemp(prefix="careers-bench-"))
os.environ["CAREERS_DATA_DIR"] = str(TMP / "data")
os.environ["DATABASE_URL"] = ARGS.database_url or f"sqlite:///{TMP / 'bench.sqlite3'}"
os.environ["CAREERS_ENV"] = "development"
os.environ.pop("MEILI_URL", None)

import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import aiohttp  # noqa: E402

from careers import local  # noqa: E402
from careers.core import db  # noqa: E402
from careers.core.config import load_settings  # noqa: E402

TITLES = ["Medical Coder", "Inpatient Coder", "Outpatient Coder", "Risk Adjustment Coder", "Coding Auditor",
          "CDI Specialist", "Medical Biller", "Coding Specialist", "HIM Analyst", "Pro Fee Coder", "E/M Coder",
          "Surgical Coder", "Coding Educator", "Revenue Integrity Analyst", "Denials Specialist"]
LEVELS = ["", "Senior ", "Lead ", "Remote ", "Entry-level ", "Contract "]
SENTENCES = [
    "Review physician documentation and assign accurate ICD-10-CM and CPT codes.",
    "Work with providers to resolve documentation gaps and query when needed.",
    "Meet productivity and 95% accuracy standards in a supportive team.",
    "Abstract inpatient records and assign MS-DRGs with ICD-10-PCS procedures.",
    "Audit risk adjustment charts for HCC capture and RADV readiness.",
    "Monitor denials, write appeals and educate staff on payer rules.",
    "Full benefits, paid time off, CEU allowance and AAPC membership paid.",
    "Flexible schedule with home office equipment provided.",
    "Experience with Epic, 3M encoder and Cerner is a plus.",
    "We value accuracy, curiosity and clear communication.",
]


def log(message: str) -> None:
    print(message, flush=True)


# ---- data -----------------------------------------------------------------------------------------


async def generate(n: int) -> None:
    import zipcodes

    from employers.tables import Employer
    from listings.tables import Listing, ListingCredential, ListingRemoteState, ListingSetting, ListingSpecialty
    from listings.vocabulary import CREDENTIALS, EMPLOYMENT_TYPES, SETTINGS, SPECIALTIES, annualise

    rng = random.Random(42)
    zips = [z for z in zipcodes.list_all() if z.get("lat") and z.get("zip_code_type") == "STANDARD"]
    # a quarter of the listings around Houston so the radius query has work to do
    houston = [z for z in zips if z["state"] == "TX" and abs(float(z["lat"]) - 29.76) < 0.6
               and abs(float(z["long"]) + 95.36) < 0.6]
    codes = [c[0] for c in CREDENTIALS]
    common = ["CPC", "CCS", "CPC-A", "CRC", "CIC", "COC", "CCS-P", "RHIT", "CPB", "CDIP"]
    employers = [Employer(id=i, name=f"Health System {i}", slug=f"health-system-{i}", verified=i % 3 != 0)
                 for i in range(1, 501)]
    for start in range(0, len(employers), 200):
        await Employer.insert(*employers[start:start + 200])
    now = dt.datetime.now(dt.timezone.utc)
    batch = 400
    for start in range(1, n + 1, batch):
        listings, creds, sets, specs, remotes = [], [], [], [], []
        for i in range(start, min(n + 1, start + batch)):
            mode = rng.choices(["remote", "hybrid", "onsite"], [5, 2, 3])[0]
            place = rng.choice(houston) if rng.random() < 0.25 else rng.choice(zips)
            unit = rng.choices(["year", "hour", "chart"], [5, 4, 1])[0]
            low = {"year": rng.randint(40, 80) * 1000, "hour": rng.randint(18, 40), "chart": rng.randint(2, 6)}[unit]
            high = low * rng.choice([1, 1.1, 1.25])
            title = rng.choice(LEVELS) + rng.choice(TITLES)
            # at most 25 days old: none is inside the 3-day expiry-warning window, whose one-off backlog
            # (thousands of warning mails on the first worker pass) would otherwise stall the worker
            published = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 25))
            text = " ".join(rng.sample(SENTENCES, 4))
            listings.append(Listing(
                id=i, employer=rng.randint(1, 500), status="published", title=title,
                slug=title.lower().replace(" ", "-").replace("/", ""), description_md=text,
                description_html=f"<p>{text}</p>", work_mode=mode, zip=place["zip_code"], city=place["city"],
                state=place["state"], lat=float(place["lat"]), lng=float(place["long"]),
                employment_type=rng.choice(list(EMPLOYMENT_TYPES)), entry_level_ok=rng.random() < 0.15,
                pay_min=low, pay_max=high, pay_unit=unit, pay_annual_min=annualise(low, unit),
                pay_annual_max=annualise(high, unit), published_at=published,
                expires_at=published + dt.timedelta(days=30), featured=rng.random() < 0.03,
            ))
            held = rng.sample(common, rng.choice([1, 1, 2])) + ([rng.choice(codes)] if rng.random() < 0.2 else [])
            for j, code in enumerate(dict.fromkeys(held)):
                creds.append(ListingCredential(listing=i, credential=code,
                                               kind=["required", "any_of", "preferred"][j % 3]))
            for value in rng.sample(list(SETTINGS), rng.choice([1, 1, 2])):
                sets.append(ListingSetting(listing=i, value=value))
            for value in rng.sample(list(SPECIALTIES), rng.choice([0, 1, 2])):
                specs.append(ListingSpecialty(listing=i, value=value))
            if mode == "remote" and rng.random() < 0.4:
                for value in rng.sample(["TX", "FL", "CA", "NY", "GA", "OH", "AZ"], rng.randint(1, 4)):
                    remotes.append(ListingRemoteState(listing=i, value=value))
        await Listing.insert(*listings)
        for table_rows in (creds, sets, specs, remotes):
            for k in range(0, len(table_rows), 2000):
                if table_rows[k:k + 2000]:
                    await type(table_rows[0]).insert(*table_rows[k:k + 2000])
        if start // batch % 25 == 0:
            log(f"  generated {min(n, start + batch - 1):,} / {n:,} listings")


# ---- load ----------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def cpu_ns(pid: int | None) -> int:
    """Nanoseconds the process's main thread (uvicorn's event loop) has run on a CPU (Linux; 0 elsewhere)."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) if pid else 0
    except OSError:
        return 0


async def measure_slice(session: aiohttp.ClientSession, method: str, url: str, body: bytes | None, concurrency: int,
                        seconds: float, headers: dict, latencies: list[float]) -> tuple[float, int]:
    """Run `concurrency` users for `seconds`; append latencies (ms); return (elapsed seconds, errors)."""
    errors = 0
    deadline = time.perf_counter() + seconds

    async def user() -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            async with session.request(method, url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    errors += 1
            latencies.append((time.perf_counter() - t0) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(concurrency)))
    return time.perf_counter() - started, errors


# Targets take turns in short slices, so a burst of load elsewhere hits them all alike: 8 rounds, and at c=1 (where
# the latency targets are) slices of 0.1 s: with 0.5 s slices a burst of the host's own (a shared 2-core VM) could
# land on one target's slices and not the others'. At c=16 a slice lasts at least one slow request (the database
# target's take seconds), so it keeps 8.
SLICE_SECONDS = 0.1


async def measure_interleaved(session: aiohttp.ClientSession, targets: dict, concurrency: int,
                              seconds: float) -> dict:
    """Measure every target at one concurrency for `seconds` in total, in interleaved slices."""
    rounds = max(8, round(seconds / SLICE_SECONDS)) if concurrency == 1 else 8
    state = {name: {"latencies": [], "elapsed": 0.0, "errors": 0, "cpu_ns": 0} for name in targets}
    for method, url, body, headers, _ in targets.values():  # warm up: open the connections
        for _ in range(min(concurrency, 4)):
            async with session.request(method, url, data=body, headers=headers) as response:
                await response.read()
    for _ in range(rounds):
        for name, (method, url, body, headers, pid) in targets.items():
            cpu = cpu_ns(pid)
            elapsed, errors = await measure_slice(session, method, url, body, concurrency, seconds / rounds, headers,
                                                  state[name]["latencies"])
            state[name]["cpu_ns"] += cpu_ns(pid) - cpu
            state[name]["elapsed"] += elapsed
            state[name]["errors"] += errors
    out = {}
    for name, st in state.items():
        lat = st["latencies"]
        out[name] = {"p50": round(percentile(lat, 50), 2), "p95": round(percentile(lat, 95), 2),
                     "p99": round(percentile(lat, 99), 2), "rps": round(len(lat) / st["elapsed"], 1),
                     "requests": len(lat), "errors": st["errors"]}
        if st["cpu_ns"]:  # the serving process's own CPU per answer: steadier than latency on a shared host
            out[name]["cpu_us_per_request"] = round(st["cpu_ns"] / max(1, len(lat)) / 1000)
    return out


def start_app(env: dict, port: int, log_path: Path, *,
              app: str = "careers.app:create_app_from_env") -> subprocess.Popen:
    argv = [sys.executable, "-m", "uvicorn", app, *(["--factory"] if app.startswith("careers.") else []), "--host",
            "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
            "--no-server-header", "--no-proxy-headers"]  # as `careers serve` runs it (careers/supervisor.py)
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if local.port_open(port):
            return proc
        if proc.poll() is not None:
            raise SystemExit(f"the app did not start; see {log_path}")
        time.sleep(0.1)
    raise SystemExit(f"the app did not start within 60s; see {log_path}")


async def run_load(settings, app_url: str, degraded_url: str, floor_url: str, seconds: float,
                   pids: dict[str, int]) -> dict:
    from search.api import api_multi_search
    from search.service import parse_query

    results: dict = {}
    headers = {"Accept-Encoding": "identity"}
    # idle connections dropped before uvicorn drops them (its keep-alive is 5 s): no request on a closing socket
    connector = aiohttp.TCPConnector(limit=64, keepalive_timeout=3)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        for name, params in QUERIES.items():
            results[name] = {}
            query = "?" + urlencode(params)
            # the raw target posts the very multi-search the API sends (main query + one per active facet group)
            body = json.dumps(api_multi_search(parse_query({k: [v] for k, v in params.items()}),
                                               settings.meili_index)).encode()
            targets = {
                "meilisearch": ("POST", f"{settings.meili_url}/multi-search", body),
                "api": ("GET", f"{app_url}/api/v1/listings{query}", None),
                "passthrough": ("GET", f"{floor_url}/api/v1/listings{query}", None),  # bench/passthrough.py
                "page": ("GET", f"{app_url}/jobs{query}", None),
                "database": ("GET", f"{degraded_url}/api/v1/listings{query}", None),
            }
            meili_headers = {"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"}
            prepared = {t: (m, u, d, meili_headers if t == "meilisearch" else {}, pids.get(t))
                        for t, (m, u, d) in targets.items()}
            for concurrency in (1, 16):
                measured = await measure_interleaved(session, prepared, concurrency, seconds)
                for target, r in measured.items():
                    results[name].setdefault(target, {})[str(concurrency)] = r
                    log(f"  {name:<24} {target:<12} c={concurrency:<3} p50 {r['p50']:7.2f} ms  p95 {r['p95']:7.2f} ms"
                        f"  p99 {r['p99']:7.2f} ms  {r['rps']:8.1f} req/s"
                        + (f"  cpu {r['cpu_us_per_request']} us/req" if "cpu_us_per_request" in r else "")
                        + (f"  {r['errors']} errors" if r["errors"] else ""))
    return results


async def freshness(settings, env: dict, *, samples: int = 40) -> dict:
    """Seconds from publish (and close) to the change being visible in search, with the worker running: first
    inside this process (as `worker_in_process` runs it), then as its own `careers worker` process (as
    `careers serve` runs it, woken by the SQLite MAX(id) poll or PostgreSQL's NOTIFY)."""
    from careers.worker import Worker

    await db.start()
    try:
        probe = Worker(settings, handlers={})  # one pass of every domain's periodic jobs: what a pass may cost
        t0 = time.perf_counter()
        await probe.run_once()
        periodic_seconds = time.perf_counter() - t0
        log(f"  one pass of the worker's periodic jobs takes {periodic_seconds:.2f} s at this size")
        worker = Worker(settings)
        task = asyncio.create_task(worker.run_forever())
        try:
            embedded = await publish_and_close(settings, "embedded", samples)
        finally:
            worker.stop()
            await asyncio.wait_for(task, timeout=10)
        proc = subprocess.Popen([sys.executable, "-m", "careers.cli", "worker", "--wait-for-lock"], cwd=ROOT, env=env,
                                stdout=open(TMP / "worker.log", "ab"), stderr=subprocess.STDOUT, start_new_session=True)
        try:
            separate = await publish_and_close(settings, "process", samples)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    finally:
        from search.client import close_http

        await close_http()
        await db.stop()
    return {**embedded, "periodic_pass_seconds": round(periodic_seconds, 3), "worker_process": separate}


async def publish_and_close(settings, label: str, samples: int) -> dict:
    """Publish and close `samples` listings one at a time (after one unmeasured warm-up) and time each until
    search shows the change, from the moment the transition is called."""
    from listings import service as listings_service
    from listings.tables import Listing
    from search.client import http_for

    async def visible(word: str) -> bool:
        body = {"q": word, "attributesToRetrieve": ["id"], "limit": 1}
        return bool((await http_for(settings).search(settings.meili_index, body))["hits"])

    async def until(word: str, present: bool, t0: float) -> float:
        while await visible(word) != present:
            if time.perf_counter() - t0 > 30:
                return 30.0
            await asyncio.sleep(0.01)
        return time.perf_counter() - t0

    async def last_task_seconds() -> float:
        """How long Meilisearch itself took for the latest document task (enqueued → finished)."""
        path = "/tasks?limit=1&types=documentAdditionOrUpdate,documentDeletion"
        for _ in range(200):  # the task's record may be finished a moment after its documents are searchable
            task = json.loads((await http_for(settings).call("GET", path))[1])["results"][0]
            if task.get("finishedAt"):
                break
            await asyncio.sleep(0.01)

        def at(stamp: str) -> dt.datetime:  # RFC 3339 with nanoseconds: keep microseconds
            head, _, frac = stamp.rstrip("Z").partition(".")
            return dt.datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}")

        return (at(task["finishedAt"]) - at(task["enqueuedAt"])).total_seconds()

    published: list[float] = []
    closed: list[float] = []
    engine: list[float] = []
    for i in range(samples + 1):
        word = f"freshzq{label}{i}x"
        listing = Listing(employer=1, title=f"Coder {word}", slug="coder", work_mode="remote",
                          employment_type="full_time", pay_min=50000, pay_max=60000, pay_unit="year",
                          pay_annual_min=50000, pay_annual_max=60000)
        await listing.save()
        t0 = time.perf_counter()
        await listings_service.transition(listing.id, "published", actor_kind="admin")
        shown = await until(word, True, t0)
        engine_seconds = await last_task_seconds()
        t0 = time.perf_counter()
        await listings_service.transition(listing.id, "closed", actor_kind="employer")
        gone = await until(word, False, t0)
        if i:  # the first is a warm-up (connections, the worker's first pass)
            published.append(shown)
            closed.append(gone)
            engine.append(engine_seconds)

    def summary(values: list[float]) -> dict:
        return {"p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3),
                "max": round(max(values), 3)}

    log(f"  [{label} worker] publish → visible (s): " + " ".join(f"{v:.2f}" for v in published))
    log(f"  [{label} worker] close → gone (s):      " + " ".join(f"{v:.2f}" for v in closed))
    log(f"  [{label} worker] of a publish, Meilisearch's task (enqueued → finished): "
        + " ".join(f"{v:.2f}" for v in engine))
    return {"publish": summary(published), "close": summary(closed), "meilisearch_task": summary(engine)}


def print_table(report: dict) -> None:
    log("")
    log(f"Listings: {report['listings']:,}   indexing: {report['index_docs_per_s']:,.0f} docs/s   "
        f"careers reindex: {report['reindex_seconds']:.1f} s")
    log("")
    header = (f"{'query':<24} {'c':>3} | {'meili p95':>9} {'api p95':>8} {'page p95':>9} {'db p95':>8} | "
              f"{'api-meili':>9} {'floor-meili':>11} {'page-api':>8} | {'meili rps':>9} {'api rps':>8} "
              f"{'page rps':>8} {'db rps':>7} {'api/meili':>9}")
    log(header)
    log("-" * len(header))
    for name, targets in report["queries"].items():
        for c in ("1", "16"):
            m, a, f, p, d = (targets[t][c] for t in ("meilisearch", "api", "passthrough", "page", "database"))
            ratio = a["rps"] / m["rps"] if m["rps"] else 0
            log(f"{name:<24} {c:>3} | {m['p95']:9.2f} {a['p95']:8.2f} {p['p95']:9.2f} {d['p95']:8.2f} | "
                f"{a['p95'] - m['p95']:+9.2f} {f['p95'] - m['p95']:+11.2f} {p['p95'] - a['p95']:+8.2f} | "
                f"{m['rps']:9.1f} {a['rps']:8.1f} {p['rps']:8.1f} {d['rps']:7.1f} {ratio:9.0%}")
    cpu = {name: {t: targets[t]["1"].get("cpu_us_per_request") for t in ("api", "passthrough", "page")}
           for name, targets in report["queries"].items()}
    if any(v for row in cpu.values() for v in row.values()):
        log("CPU per answer at c=1 (the serving process's event loop, us): "
            + "; ".join(f"{name} api {row['api']}, floor {row['passthrough']}, page {row['page']}"
                        for name, row in cpu.items()))
    if "freshness_seconds" in report:
        f = report["freshness_seconds"]
        for label, g in (("embedded worker", f), ("careers worker process", f.get("worker_process"))):
            if g:
                log(f"{label}: searchable after publish p50 {g['publish']['p50']:.2f} s, p95 {g['publish']['p95']:.2f}"
                    f" s (Meilisearch's task alone p50 {g['meilisearch_task']['p50']:.2f} s, p95 "
                    f"{g['meilisearch_task']['p95']:.2f} s); gone after close p50 {g['close']['p50']:.2f} s, p95 "
                    f"{g['close']['p95']:.2f} s")
    log("")
    log("floor-meili: bench/passthrough.py, a bare ASGI function passing Meilisearch's bytes through (no framework).")
    log("Targets: at c=1, api p95 - meili p95 <= 1.5 ms and page p95 - api p95 <= 10 ms; at c=16, api rps >= 40% of "
        "meili rps; searchable after publish p95 <= 0.5 s.")


def main() -> int:
    n = ARGS.listings
    meili = app = degraded = floor = None
    try:
        log(f"Scratch directory {TMP}; database {os.environ['DATABASE_URL'].split('@')[-1]}")
        result = subprocess.run([sys.executable, "-m", "piccolo.main", "migrations", "forwards", "all"], cwd=ROOT,
                                env=os.environ.copy(), capture_output=True, text=True)
        if result.returncode != 0:
            raise SystemExit(f"migrations failed:\n{result.stdout}\n{result.stderr}")
        meili = local.start_meilisearch(TMP / "meili", master_key=MASTER_KEY, log_path=TMP / "meili.log")
        settings = load_settings(meili_url=meili.url, meili_master_key=MASTER_KEY)

        async def prepare() -> tuple[float, float]:
            from search.documents import count_public
            from search.indexing import ensure_index, rebuild_index

            await db.start()
            try:
                t0 = time.perf_counter()
                await generate(n)
                log(f"Generated {n:,} listings in {time.perf_counter() - t0:.1f}s")
                await ensure_index(settings)
                t0 = time.perf_counter()
                report = await rebuild_index(settings)
                seconds = time.perf_counter() - t0
                log(f"careers reindex: {report.documents:,} documents in {seconds:.1f}s")
                assert report.documents == await count_public()
                return report.documents / seconds, seconds
            finally:
                await db.stop()

        docs_per_s, reindex_seconds = asyncio.run(prepare())

        # ACCESS_LOG=0 with uvicorn's --no-access-log: no line per request (the app's logging config decides)
        env = {**os.environ, "MEILI_URL": meili.url, "MEILI_MASTER_KEY": MASTER_KEY, "BASE_URL": "http://127.0.0.1",
               "ACCESS_LOG": os.environ.get("ACCESS_LOG", "0")}
        app_port, degraded_port, floor_port = local.free_port(), local.free_port(), local.free_port()
        app = start_app(env, app_port, TMP / "app.log")
        floor = start_app(env, floor_port, TMP / "passthrough.log", app="bench.passthrough:app")
        down = {**env, "MEILI_URL": f"http://127.0.0.1:{local.free_port()}"}  # nothing listens there
        degraded = start_app(down, degraded_port, TMP / "app-degraded.log")
        log("Measuring (each line: one target, one concurrency, "
            f"{ARGS.seconds:.0f} s; this machine has {os.cpu_count()} cores)")
        queries = {} if ARGS.freshness_only else asyncio.run(run_load(
            settings, f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{degraded_port}",
            f"http://127.0.0.1:{floor_port}", ARGS.seconds,
            {"api": app.pid, "page": app.pid, "passthrough": floor.pid, "database": degraded.pid}))
        log("Measuring publish/close → search visibility with the worker running (embedded defaults)")
        fresh = asyncio.run(freshness(settings, env))
        report = {"listings": n, "index_docs_per_s": round(docs_per_s, 1), "reindex_seconds": round(reindex_seconds, 2),
                  "queries": queries, "freshness_seconds": fresh,
                  "machine": {"cores": os.cpu_count(), "platform": sys.platform,
                              "load_average_1m": round(os.getloadavg()[0], 2)}}
        print_table(report)
        if ARGS.json:
            Path(ARGS.json).write_text(json.dumps(report, indent=2) + "\n")
            log(f"Wrote {ARGS.json}")
        return 0
    finally:
        for proc in (app, degraded, floor):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if meili is not None:
            meili.stop()
        if not ARGS.keep:
            shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
