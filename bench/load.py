"""Load benchmark (not a test): a mixed workload against a real `careers serve` on loopback.

    .venv/bin/python bench/load.py                                    # SQLite, 100,000 listings, 1 and 2 workers
    .venv/bin/python bench/load.py --listings 20000 --seconds 20
    .venv/bin/python bench/load.py --database-url postgresql://USER:PASS@127.0.0.1:5432/SCRATCH_DB

The mix is what visitors do: 80% searches (the /jobs page and the JSON API, with credential,
state, ZIP-radius and keyword queries), 10% listing pages, 5% applications (signed-in coders
posting the apply form, CSRF token included) and 5% employer pages (dashboard and applicant
lists of signed-in employers). It prints requests/s, p50/p95/p99 latency and errors, per kind
and overall, for each number of web workers (`careers serve --workers N`).

Everything runs in a temporary directory that is deleted afterwards: a generated database
(SQLite, or the PostgreSQL database given with --database-url, WHOSE SCHEMA IS WIPED: use a
scratch database), a private Meilisearch filled by `careers reindex`, and `careers serve`
(with its managed Stripe emulator and background worker). The client is aiohttp with
keep-alive connections and `Accept-Encoding: identity`, as a browser fleet behind a proxy.
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


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listings", type=int, default=100_000, help="published listings (default 100000)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each measured run (default 30)")
    parser.add_argument("--concurrency", type=int, default=32, help="simultaneous clients (default 32)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="web worker counts (default: 1 2)")
    parser.add_argument("--database-url", default="",
                        help="a SCRATCH PostgreSQL database (its public schema is dropped); default: SQLite")
    parser.add_argument("--coders", type=int, default=2000, help="signed-in coders who apply (default 2000)")
    parser.add_argument("--server", choices=["uvicorn", "granian"], default="",
                        help="the web server `careers serve` runs (default: its own default)")
    parser.add_argument("--json", metavar="FILE", help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    return parser.parse_args(argv)


ARGS = parse_args()
TMP = Path(tempfile.mkdtemp(prefix="careers-load-"))
DATA_DIR = TMP / "data"
os.environ["CAREERS_DATA_DIR"] = str(DATA_DIR)
os.environ["DATABASE_URL"] = ARGS.database_url or f"sqlite:///{TMP / 'load.sqlite3'}"
os.environ["CAREERS_ENV"] = "development"
for _name in ("MEILI_URL", "MEILI_MASTER_KEY", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET",
              "STRIPE_API_BASE", "SMTP_URL", "BASE_URL"):
    os.environ.pop(_name, None)

import asyncio  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import aiohttp  # noqa: E402

from careers import local  # noqa: E402
from careers.core import db  # noqa: E402

MASTER_KEY = "load-master-key-0123456789"
SECRET_KEY = "load-secret-key-0123456789abcdef"
EMPLOYERS = 500
EMPLOYER_USERS = 200  # the first employers get a signed-in member each
MIX = [("search", 80), ("listing", 10), ("apply", 5), ("employer", 5)]
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
]
SEARCHES = [
    {"q": "coder"}, {"credential": "CPC"}, {"credential": "CCS", "state": "TX"}, {"q": "remote risk adjustment"},
    {"zip": "77002", "radius": "25"}, {"q": "inpatient", "sort": "newest"},
    {"credential": "CRC", "work_mode": "remote"},
    {"q": "auditor", "min_pay": "60000"}, {"setting": "inpatient", "page": "2"}, {"q": "cdi specialist"},
]


def log(message: str) -> None:
    print(message, flush=True)


# ---- data ---------------------------------------------------------------------------------------------


async def generate(n: int, coders: int) -> dict:
    """Employers, `n` published listings with their join rows, coders and employer members with sessions."""
    import zipcodes

    from careers.accounts import service as accounts
    from careers.accounts.tables import Session, User
    from careers.coders.tables import CoderProfile
    from careers.core.config import load_settings
    from employers.tables import Employer, EmployerMember
    from listings.tables import Listing, ListingCredential, ListingRemoteState, ListingSetting
    from listings.vocabulary import EMPLOYMENT_TYPES, SETTINGS, annualise

    rng = random.Random(7)
    appliable: list[int] = []  # listings the generated coders (Houston, TX) may apply to
    zips = [z for z in zipcodes.list_all() if z.get("lat") and z.get("zip_code_type") == "STANDARD"]
    houston = [z for z in zips if z["state"] == "TX" and abs(float(z["lat"]) - 29.76) < 0.6
               and abs(float(z["long"]) + 95.36) < 0.6]
    common = ["CPC", "CCS", "CPC-A", "CRC", "CIC", "COC", "CCS-P", "RHIT", "CPB", "CDIP"]
    await Employer.insert(*[Employer(id=i, name=f"Health System {i}", slug=f"health-system-{i}", verified=True)
                            for i in range(1, EMPLOYERS + 1)])
    now = dt.datetime.now(dt.timezone.utc)
    started = time.monotonic()
    for start in range(1, n + 1, 500):
        listings, creds, sets, remotes = [], [], [], []
        for i in range(start, min(n + 1, start + 500)):
            mode = rng.choices(["remote", "hybrid", "onsite"], [5, 2, 3])[0]
            place = rng.choice(houston) if rng.random() < 0.25 else rng.choice(zips)
            unit = rng.choices(["year", "hour"], [5, 4])[0]
            low = rng.randint(40, 80) * 1000 if unit == "year" else rng.randint(18, 40)
            title = rng.choice(LEVELS) + rng.choice(TITLES)
            published = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 25))
            text = " ".join(rng.sample(SENTENCES, 3))
            listings.append(Listing(
                id=i, employer=rng.randint(1, EMPLOYERS), status="published", title=title,
                slug=re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-"), description_md=text,
                description_html=f"<p>{text}</p>", work_mode=mode, zip=place["zip_code"], city=place["city"],
                state=place["state"], lat=float(place["lat"]), lng=float(place["long"]),
                employment_type=rng.choice(list(EMPLOYMENT_TYPES)), entry_level_ok=rng.random() < 0.15,
                pay_min=low, pay_max=low, pay_unit=unit, pay_annual_min=annualise(low, unit),
                pay_annual_max=annualise(low, unit), published_at=published,
                expires_at=published + dt.timedelta(days=30)))
            for j, code in enumerate(rng.sample(common, rng.choice([1, 1, 2]))):
                creds.append(ListingCredential(listing=i, credential=code, kind=["required", "any_of"][j % 2]))
            for value in rng.sample(list(SETTINGS), 1):
                sets.append(ListingSetting(listing=i, value=value))
            states = []
            if mode == "remote" and rng.random() < 0.4:
                states = rng.sample(["TX", "FL", "CA", "NY", "GA", "OH"], rng.randint(1, 3))
                remotes += [ListingRemoteState(listing=i, value=value) for value in states]
            if not states or "TX" in states:
                appliable.append(i)
        await Listing.insert(*listings)
        for rows in (creds, sets, remotes):
            if rows:
                await type(rows[0]).insert(*rows)
        if start // 500 % 40 == 0:
            log(f"  {min(n, start + 499):,} / {n:,} listings ({time.monotonic() - started:.0f} s)")
    if ARGS.database_url:  # explicit ids: move the sequences past them
        for table in ("employers", "listings"):
            await db.fetch(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")

    settings = load_settings(secret_key=SECRET_KEY)
    password = accounts.hash_password("load test password")
    sessions: dict[str, list[str]] = {"coder": [], "employer": []}
    for role, count in (("coder", coders), ("employer", EMPLOYER_USERS)):
        for start in range(0, count, 200):
            users = [User(email=f"{role}{k}@load.example", password_hash=password, role=role,
                          display_name=f"{role.title()} {k}", email_confirmed_at=now)
                     for k in range(start, min(count, start + 200))]
            ids = [r["id"] for r in await User.insert(*users).returning(User.id)]
            if role == "coder":
                await CoderProfile.insert(*[CoderProfile(user=uid, handle=f"load-coder-{uid}", name=f"Coder {uid}",
                                                         zip="77002", city="Houston", state="TX") for uid in ids])
            else:
                await EmployerMember.insert(*[EmployerMember(employer=start + k + 1, user=uid, role="owner")
                                              for k, uid in enumerate(ids)])
            for uid in ids:
                sessions[role].append(await accounts.start_session(uid, settings))
    log(f"  {coders:,} coders and {EMPLOYER_USERS} employer members signed in; {await Session.count()} sessions")
    employer_listings = {}
    for k in range(1, EMPLOYER_USERS + 1):
        row = await Listing.select(Listing.id).where(Listing.employer == k).first()
        employer_listings[k - 1] = row["id"] if row else None
    slugs = {r["id"]: r["slug"] for r in await Listing.select(Listing.id, Listing.slug)}
    return {"sessions": sessions, "slugs": slugs, "employer_listings": employer_listings, "appliable": appliable}


async def prepare_database(n: int, coders: int) -> dict:
    if ARGS.database_url:
        import asyncpg

        conn = await asyncpg.connect(ARGS.database_url)
        try:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()
    migrate = subprocess.run([sys.executable, "-m", "careers.cli", "migrate"], cwd=ROOT, env=os.environ.copy(),
                             capture_output=True, text=True)
    if migrate.returncode != 0:
        raise SystemExit(f"migrations failed:\n{migrate.stdout}\n{migrate.stderr}")
    await db.start()
    try:
        return await generate(n, coders)
    finally:
        await db.stop()


# ---- the served app ----------------------------------------------------------------------------------


def serve_env(meili) -> dict[str, str]:
    env = dict(os.environ)
    env.update(MEILI_URL=meili.url, MEILI_MASTER_KEY=MASTER_KEY, SECRET_KEY=SECRET_KEY,
               CAREERS_RATE_LIMIT_MULTIPLIER="1000000", PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


def start_serve(env: dict, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    server = ["--server", ARGS.server] if ARGS.server else []
    proc = subprocess.Popen([sys.executable, "-m", "careers.cli", "serve", "--port", str(port), "--workers",
                             str(workers), *server], cwd=TMP, env=env, stdout=open(log_path, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    import httpx

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"careers serve exited; see {log_path}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json().get("search") == "ok":
                return proc
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"careers serve was not ready within 180 s; see {log_path}")


def stop_serve(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# ---- the workload --------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def csrf_cookie(base: str) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.get(base + "/login") as response:
            await response.read()
            return response.cookies["cc_csrf"].value


def next_request(rng: random.Random, world: dict, csrf: str) -> tuple[str, str, str, dict | None, str | None]:
    """(kind, method, path, form, session token) for one request of the mix."""
    kind = rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
    if kind == "search":
        params = rng.choice(SEARCHES)
        path = ("/api/v1/listings?" if rng.random() < 0.5 else "/jobs?") + urlencode(params)
        return kind, "GET", path, None, None
    if kind == "listing":
        listing_id = rng.randint(1, len(world["slugs"]))
        return kind, "GET", f"/jobs/{listing_id}/{world['slugs'][listing_id]}", None, None
    if kind == "apply":
        listing_id = rng.choice(world["appliable"])
        token = rng.choice(world["sessions"]["coder"])
        return kind, "POST", f"/jobs/{listing_id}/apply", {"cover_note": "Load test.", "_csrf_token": csrf}, token
    k = rng.randrange(len(world["sessions"]["employer"]))
    own = world["employer_listings"].get(k)
    path = f"/employer/listings/{own}/applicants" if own and rng.random() < 0.5 else "/employer"
    return kind, "GET", path, None, world["sessions"]["employer"][k]


async def run_mix(base: str, world: dict, seconds: float, concurrency: int, seed: int) -> dict:
    csrf = await csrf_cookie(base)
    latencies: dict[str, list[float]] = {k: [] for k, _ in MIX}
    errors: dict[str, int] = {k: 0 for k, _ in MIX}
    examples: list[str] = []
    connector = aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=60)
    headers = {"Accept-Encoding": "identity"}
    async with aiohttp.ClientSession(base_url=base, connector=connector, headers=headers,
                                     cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        async def user(n: int, until: float, record: bool) -> None:
            rng = random.Random(seed * 1000 + n)
            while time.perf_counter() < until:
                kind, method, path, form, token = next_request(rng, world, csrf)
                cookie = f"cc_csrf={csrf}" + (f"; cc_session={token}" if token else "")
                t0 = time.perf_counter()
                try:
                    async with session.request(method, path, data=form, headers={"Cookie": cookie},
                                               allow_redirects=False) as response:
                        await response.read()
                        ok = response.status in (200, 303)
                        status = response.status
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    ok, status = False, type(exc).__name__
                if record:
                    latencies[kind].append((time.perf_counter() - t0) * 1000)
                    if not ok:
                        errors[kind] += 1
                        if len(examples) < 5:
                            examples.append(f"{method} {path}: {status}")

        warm = time.perf_counter() + min(5.0, seconds / 5)
        await asyncio.gather(*(user(n, warm, False) for n in range(concurrency)))
        started = time.perf_counter()
        await asyncio.gather(*(user(n, started + seconds, True) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    report = {}
    everything = [v for values in latencies.values() for v in values]
    for kind, values in [*latencies.items(), ("all", everything)]:
        failed = sum(errors.values()) if kind == "all" else errors[kind]
        report[kind] = {"requests": len(values), "rps": round(len(values) / elapsed, 1),
                        "p50": round(percentile(values, 50), 1), "p95": round(percentile(values, 95), 1),
                        "p99": round(percentile(values, 99), 1), "errors": failed}
    report["error_examples"] = examples
    return report


def print_table(engine: str, results: dict) -> None:
    log("")
    log(f"{engine}, {ARGS.listings:,} listings, {ARGS.concurrency} clients, {ARGS.seconds:.0f} s per run")
    log(f"{'workers':>7}  {'kind':<9} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7}")
    for workers, report in results.items():
        for kind in [k for k, _ in MIX] + ["all"]:
            r = report[kind]
            log(f"{workers:>7}  {kind:<9} {r['requests']:>9} {r['rps']:>8} {r['p50']:>8} {r['p95']:>8} {r['p99']:>8} "
                f"{r['errors']:>7}")
        for example in report["error_examples"]:
            log(f"         error: {example}")


def main() -> int:
    engine = "PostgreSQL" if ARGS.database_url else "SQLite"
    log(f"load benchmark in {TMP} ({engine}, {ARGS.server or 'default'} server); machine: {os.cpu_count()} cores, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    meili = None
    try:
        meili = local.start_meilisearch(TMP / "meili", master_key=MASTER_KEY, log_path=TMP / "meili.log")
        started = time.monotonic()
        world = asyncio.run(prepare_database(ARGS.listings, ARGS.coders))
        log(f"generated in {time.monotonic() - started:.0f} s")
        env = serve_env(meili)
        started = time.monotonic()
        reindex = subprocess.run([sys.executable, "-m", "careers.cli", "reindex"], cwd=ROOT, env=env,
                                 capture_output=True, text=True)
        if reindex.returncode != 0:
            raise SystemExit(f"reindex failed:\n{reindex.stdout}\n{reindex.stderr}")
        log(f"indexed in {time.monotonic() - started:.0f} s: {reindex.stdout.strip().splitlines()[-1]}")
        results = {}
        for workers in ARGS.workers:
            port = local.free_port()
            proc = start_serve(env, port, workers, TMP / f"serve-{workers}.log")
            try:
                log(f"measuring {workers} web worker(s) for {ARGS.seconds:.0f} s ...")
                results[workers] = asyncio.run(run_mix(f"http://127.0.0.1:{port}", world, ARGS.seconds,
                                                       ARGS.concurrency, seed=workers))
            finally:
                stop_serve(proc)
        print_table(engine, results)
        log(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if ARGS.json:
            Path(ARGS.json).write_text(json.dumps({"engine": engine, "server": ARGS.server or "default",
                                                   "load_average_after": os.getloadavg(), "listings": ARGS.listings,
                                                   "concurrency": ARGS.concurrency, "seconds": ARGS.seconds,
                                                   "results": results}, indent=2))
        return 0
    finally:
        if meili is not None:
            meili.stop()
        if ARGS.keep:
            log(f"kept {TMP}")
        else:
            shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
