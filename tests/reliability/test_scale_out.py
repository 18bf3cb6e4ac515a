"""Drill: the board on two machines' worth of processes sharing one database, one Meilisearch and one bucket.

Two `careers serve --no-worker` instances (A and B, each on its own loopback port and its own data dir, so they
share no disk), two `careers worker` processes, the session's PostgreSQL, a private Meilisearch (MEILI_URL), one
moto S3 bucket (STORAGE_URL) and an aiosmtpd SMTP server. The test plays the load balancer: it spreads requests
over A and B, and once A is dead it sends everything to B.

PostgreSQL only (several workers need SKIP LOCKED; SQLite allows one): it runs in the PostgreSQL pass of
`make test`, is skipped quietly in the SQLite pass, and skipped loudly (failing under CI=true) when there is no
PostgreSQL at all.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path

import httpx
import pytest

from billing.tables import Credit
from careers import local
from careers.accounts import service as accounts
from careers.coders.tables import Application
from careers.core.tables import OutboxRow
from careers.core.web import CSRF_COOKIE, SESSION_COOKIE
from tests.conftest import _TMP, ON_POSTGRES, skip_or_fail
from tests.reliability.conftest import (
    child_env,
    drill_log,
    make_coders,
    make_draft,
    make_employer,
    make_published,
    wait_until,
)

LISTINGS = 50
APPLIES = 200
CONCURRENCY = 16
LEASE_SECONDS = 3
KEY = "scale-drill-master-key-0123456789"
SECRET = "scale-drill-secret-key-shared-by-every-instance"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 64 + b"\n%%EOF\n"  # binary bytes: any re-encoding would show


@pytest.fixture(autouse=True)
def postgres_only():
    if ON_POSTGRES:
        return
    if os.environ.get("TEST_POSTGRES_URL"):
        pytest.skip("the scale-out drill runs in the PostgreSQL pass")
    skip_or_fail("the scale-out drill needs PostgreSQL (set TEST_POSTGRES_URL, or TEST_DATABASE_URL for one run)")


# ---- an SMTP server that can hold senders before they hand over a message ----------------------------


class HoldingSmtp:
    """aiosmtpd handler: records every message; from the `hold_from`-th MAIL FROM on, keeps each sender waiting
    (before DATA, so a sender killed there has handed over nothing) until `gate` opens."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list = []
        self.mail_commands = 0
        self.hold_from: int | None = None
        self.held = 0
        self.gate = threading.Event()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with self.lock:
            self.mail_commands += 1
            hold = self.hold_from is not None and self.mail_commands >= self.hold_from and not self.gate.is_set()
            self.held += hold
        if hold:
            await wait_until(self.gate.is_set, timeout=300, interval=0.02, what="the drill to open the SMTP gate")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def row_ids(self) -> collections.Counter:
        with self.lock:
            return collections.Counter(int(re.search(r"outbox-(\d+)@", m["Message-ID"]).group(1))
                                       for m in self.messages)


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    handler = HoldingSmtp()
    handler.port = local.free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    yield handler
    handler.gate.set()
    controller.stop()


@pytest.fixture
def drill_meilisearch():
    proc = local.start_meilisearch(_TMP / f"meili-scale-{time.monotonic_ns()}", master_key=KEY,
                                   log_path=_TMP / "meili-scale.log")
    yield proc
    proc.stop()


# ---- processes ---------------------------------------------------------------------------------------


class Processes:
    def __init__(self) -> None:
        self.started: list[tuple[subprocess.Popen, object]] = []

    def start(self, name: str, argv: list[str], env: dict, cwd: Path) -> subprocess.Popen:
        log_path = drill_log(name)
        log_file = open(log_path, "wb")
        process = subprocess.Popen([sys.executable, "-m", "careers.cli", *argv], cwd=cwd, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        process.log_path = log_path
        self.started.append((process, log_file))
        return process

    def stop_all(self) -> None:
        for process, _ in self.started:
            if process.poll() is None:
                process.terminate()
        for process, log_file in self.started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            log_file.close()


def tail(process: subprocess.Popen) -> str:
    return "\n".join(process.log_path.read_text(errors="replace").splitlines()[-30:])


async def ready(url: str, process: subprocess.Popen) -> None:
    async def answers() -> bool:
        assert process.poll() is None, tail(process)
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(url + "/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(answers, timeout=90, interval=0.2, what=f"{url} to be ready")


def sigkill_instance(data_dir: Path, supervisor: subprocess.Popen) -> None:
    """SIGKILL a `careers serve`: its web process group first (else the supervisor's death would SIGTERM it)."""
    state = json.loads((data_dir / "serve.json").read_text())
    os.killpg(state["children"]["web"]["pid"], signal.SIGKILL)
    os.killpg(supervisor.pid, signal.SIGKILL)
    supervisor.wait(timeout=10)


def files_under(path: Path) -> list[Path]:
    return [p for p in path.rglob("*") if p.is_file()] if path.exists() else []


# ---- the drill -----------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_two_web_instances_and_two_workers_share_everything_and_lose_or_double_nothing(
        settings, smtp, drill_meilisearch, moto_s3, stripe_emulator):
    """Invariants, through both instances at once:

    - sessions are shared: registered and logged in on A, the coder is signed in on B;
    - uploads are shared: a resume uploaded on A downloads on B byte-identical, and neither instance writes a
      file to its own disk (the bucket holds it);
    - search is shared: each of 50 listings published alternately on A and B is found through both, once;
    - rate limits are shared: failed logins alternating A and B hit the limit as if sent to one instance;
    - work is done once: 200 applications spread over A and B, with A and one worker SIGKILLed mid-burst (the
      load balancer then sends A's share, in flight or not, to B), leave exactly one application per coder and
      one employer mail per application; B and the surviving worker finish every outbox row, and the SMTP
      server receives each mail exactly once (nothing lost, nothing doubled: the killed worker died before
      handing its mail over, and its leased rows were claimed again after the lease).
    """
    bucket_url = f"s3://{moto_s3.bucket}/scale-{time.monotonic_ns()}"
    base = child_env(
        MEILI_URL=drill_meilisearch.url, MEILI_MASTER_KEY=KEY, SMTP_URL=f"smtp://127.0.0.1:{smtp.port}",
        SECRET_KEY=SECRET, BASE_URL="http://careers.drill", STORAGE_URL=bucket_url, S3_ENDPOINT_URL=moto_s3.url,
        S3_REGION="us-east-1", AWS_ACCESS_KEY_ID="test-access-key", AWS_SECRET_ACCESS_KEY="test-secret-key",
        STRIPE_SECRET_KEY="sk_test_drill", STRIPE_PUBLISHABLE_KEY="pk_test_drill",
        STRIPE_WEBHOOK_SECRET="whsec_drill", STRIPE_API_BASE=stripe_emulator.url,
        CAREERS_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS))
    base.pop("CAREERS_RATE_LIMIT_MULTIPLIER", None)
    dirs = {name: _TMP / f"scale-{name}-{time.monotonic_ns()}" for name in ("a", "b", "w")}
    for path in dirs.values():
        path.mkdir(parents=True)
    procs = Processes()
    try:
        ports = {"a": local.free_port(), "b": local.free_port()}
        serve = {name: procs.start(f"serve-{name}", ["serve", "--no-worker", "--port", str(ports[name])],
                                   {**base, "CAREERS_DATA_DIR": str(dirs[name])}, dirs[name]) for name in ports}
        workers = [procs.start(f"worker-{n}", ["worker", "--worker-id", f"scale-worker-{n}"],
                               {**base, "CAREERS_DATA_DIR": str(dirs["w"])}, dirs["w"]) for n in (1, 2)]
        url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        started = time.monotonic()
        for name in ports:
            await ready(url[name], serve[name])
        print(f"\ntwo instances ready in {time.monotonic() - started:.1f}s")

        async with httpx.AsyncClient(timeout=30) as person:
            await sessions_and_uploads_are_shared(person, url)
            await rate_limits_count_across_both(person, url)
        started = time.monotonic()
        listings = await publish_alternately_and_find_each_once_through_both(url, settings)
        print(f"{LISTINGS} listings published and found through both in {time.monotonic() - started:.1f}s")
        started = time.monotonic()
        await burst_of_applies_with_a_and_a_worker_killed(url, serve["a"], dirs["a"], workers, smtp, settings)
        print(f"{APPLIES} applies with A and a worker killed, outbox drained, in {time.monotonic() - started:.1f}s")
        assert workers[1].poll() is None, tail(workers[1])
        assert serve["b"].poll() is None, tail(serve["b"])
        for name in ("a", "b", "w"):
            assert files_under(dirs[name] / "uploads") == [], f"{name} wrote uploads to its own disk"
        assert listings
    finally:
        procs.stop_all()


async def csrf(client: httpx.AsyncClient, base: str) -> str:
    answer = await client.get(base + "/login")
    return answer.cookies.get(CSRF_COOKIE) or client.cookies[CSRF_COOKIE]


async def sessions_and_uploads_are_shared(person: httpx.AsyncClient, url: dict[str, str]) -> None:
    token = await csrf(person, url["a"])
    account = {"display_name": "Scale Coder", "email": "scale@example.org", "password": "correct horse battery",
               "password_confirm": "correct horse battery", "_csrf_token": token}
    assert (await person.post(url["a"] + "/register/coder", data=account)).status_code == 303
    person.cookies.delete(SESSION_COOKIE)
    login = await person.post(url["a"] + "/login", data={"email": "scale@example.org",
                                                         "password": "correct horse battery", "_csrf_token": token})
    assert login.status_code == 303, login.text[:300]
    on_b = await person.get(url["b"] + "/account/profile")
    assert on_b.status_code == 200 and "Scale Coder" in on_b.text  # the session made on A is known to B

    uploaded = await person.post(url["a"] + "/account/profile/resume", data={"_csrf_token": token},
                                 files={"resume": ("scale resume.pdf", PDF, "application/pdf")})
    assert uploaded.status_code == 303, uploaded.text[:300]
    download = await person.get(url["b"] + "/account/resume")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["x-content-type-options"] == "nosniff"


async def rate_limits_count_across_both(person: httpx.AsyncClient, url: dict[str, str]) -> None:
    """10 logins per address per 5 minutes: alternating instances must not double that to 20."""
    token = person.cookies[CSRF_COOKIE]
    person.cookies.delete(SESSION_COOKIE)
    codes = []
    for attempt in range(12):
        answer = await person.post(url["ab"[attempt % 2]] + "/login",
                                   data={"email": "scale@example.org", "password": "wrong password",
                                         "_csrf_token": token})
        codes.append(answer.status_code)
    assert 429 in codes, codes
    first_refused = codes.index(429)
    assert first_refused <= 10, codes  # one login above + 10 attempts: the limit was reached across both
    assert set(codes[first_refused:]) == {429}, codes  # and then both instances refuse


async def publish_alternately_and_find_each_once_through_both(url: dict[str, str], settings) -> list[int]:
    employer_id, employer_user = await make_employer("Scaleout Health")
    drafts = [await make_draft(employer_id, f"Scaleout coder {n}") for n in range(LISTINGS)]
    await Credit.insert(Credit(employer=employer_id, total=LISTINGS, remaining=LISTINGS, duration_days=30,
                               expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=90)))
    session = await accounts.start_session(employer_user, settings, second_factor_ok=True)
    async with httpx.AsyncClient(timeout=30) as employer:
        token = await csrf(employer, url["a"])
        employer.cookies.set(SESSION_COOKIE, session)
        for n, listing_id in enumerate(drafts):
            answer = await employer.post(f"{url['ab'[n % 2]]}/employer/listings/{listing_id}/publish",
                                         data={"plan": "credit", "_csrf_token": token})
            assert answer.status_code == 303, answer.text[:300]

    async def found_once_through(base: str) -> bool:
        async with httpx.AsyncClient(timeout=10) as visitor:
            answer = await visitor.get(base + "/api/v1/listings", params={"q": "scaleout", "per_page": 100})
        ids = [hit["id"] for hit in answer.json()["hits"]] if answer.status_code == 200 else []
        return sorted(ids) == sorted(drafts)  # every one, and none twice

    for name in ("a", "b"):
        await wait_until(lambda base=url[name]: found_once_through(base), timeout=90, interval=0.25,
                         what=f"all {LISTINGS} listings searchable through {name}")
    return drafts


async def burst_of_applies_with_a_and_a_worker_killed(url, serve_a, dir_a, workers, smtp, settings) -> None:
    employer_id, _ = await make_employer("Burst Health")
    target = await make_published(employer_id, "Remote coder for the burst")
    coders = await make_coders(APPLIES, prefix="burst")
    sessions = [await accounts.start_session(uid, settings, second_factor_ok=True) for uid in coders]
    async with httpx.AsyncClient(timeout=10) as visitor:
        token = await csrf(visitor, url["b"])  # one CSRF secret for every instance: B's token works on A
    smtp.hold_from = smtp.mail_commands + 20  # from the 20th mail of the burst on, both workers wait at MAIL FROM
    a_alive = True
    answered = 0
    outcomes: dict[int, str] = {}
    refused: list[str] = []
    limit = asyncio.Semaphore(CONCURRENCY)
    second_half = asyncio.Event()

    async def apply(client: httpx.AsyncClient, n: int) -> None:
        nonlocal answered
        if n >= APPLIES // 2:
            await second_half.wait()
        async with limit:
            headers = {"Cookie": f"{SESSION_COOKIE}={sessions[n]}; {CSRF_COOKIE}={token}"}
            data = {"cover_note": "Ready when you are.", "_csrf_token": token}
            path = f"/jobs/{target}/apply"
            answer = None
            if n % 2 == 0 and a_alive:
                with contextlib.suppress(httpx.TransportError):  # A died under this request: the LB retries on B
                    answer = await client.post(url["a"] + path, data=data, headers=headers)
            if answer is None:
                answer = await client.post(url["b"] + path, data=data, headers=headers)
            if answer.status_code != 303:
                refused.append(f"{answer.status_code} {answer.text[:200]}")
            else:
                outcomes[coders[n]] = answer.headers["location"]
            answered += 1

    async with httpx.AsyncClient(timeout=60) as client:
        burst = asyncio.gather(*(apply(client, n) for n in range(APPLIES)))
        await wait_until(lambda: answered >= APPLIES // 2, timeout=120, what="the first half of the burst")
        second_half.set()  # the second half starts; A and a worker die while it is in flight
        await wait_until(lambda: smtp.held >= 2, timeout=60, what="both workers to wait on the SMTP server")
        os.killpg(workers[0].pid, signal.SIGKILL)  # killed before handing over the mail it was about to send
        workers[0].wait(timeout=10)
        a_alive = False
        sigkill_instance(dir_a, serve_a)
        smtp.gate.set()
        await asyncio.wait_for(burst, timeout=180)
    assert refused == [], refused[:3]
    assert answered == APPLIES and sorted(outcomes) == sorted(coders)

    async def every_row_done() -> bool:
        return await OutboxRow.count().where(OutboxRow.status != "done") == 0

    await wait_until(every_row_done, timeout=120, interval=0.25, what="B and the surviving worker to finish the outbox")

    rows = await Application.select(Application.id, Application.coder).where(Application.listing == target)
    assert sorted(r["coder"] for r in rows) == sorted(coders)  # every coder once, none twice
    assert {f"/account/applications#application-{r['id']}" for r in rows} >= set(outcomes.values())
    # every mail row: plain mail and one-time-link mails (`mail.<purpose>`, e.g. the registration's confirmation)
    mails = await OutboxRow.select(OutboxRow.id, OutboxRow.payload).where(OutboxRow.kind.like("mail%")).output(
        load_json=True)
    burst_mails = [m for m in mails if m["payload"].get("subject", "").startswith("New application")]
    assert len(burst_mails) == APPLIES
    received = smtp.row_ids()
    assert {m["id"] for m in mails} == set(received), "a mail row never reached the SMTP server"
    assert max(received.values()) == 1, [r for r, n in received.items() if n > 1]
    reclaimed = await OutboxRow.count().where((OutboxRow.kind == "mail") & (OutboxRow.attempts >= 2))
    assert reclaimed >= 1, "the killed worker held no rows: the drill did not strike mid-batch"
