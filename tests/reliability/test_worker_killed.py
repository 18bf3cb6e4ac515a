"""Drills: the background worker dies (SIGKILL) or freezes (SIGSTOP) in the middle of a batch.

The worker is a real `careers worker` process on the session's database; mail goes to a real SMTP
server (aiosmtpd on loopback) that holds one chosen mail unanswered, so the drill strikes at a known
point in the middle of a batch; search rows go to a private Meilisearch. The lease is shortened to a few
seconds through CAREERS_OUTBOX_LEASE_SECONDS so the drill does not wait a minute.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from careers import local
from careers.core import clock, mail
from careers.core.config import PROJECT_ROOT
from careers.core.tables import OutboxRow
from careers.worker import Worker
from search.client import run_admin
from search.indexing import ensure_index
from tests.conftest import _TMP
from tests.reliability.conftest import child_env, drill_log, make_employer, make_published, wait_until

LEASE_SECONDS = 3
LISTINGS = 8
MAILS_PER_LISTING = 3
KEY = "drill-master-key-0123456789"


@pytest.fixture
def own_meilisearch():
    proc = local.start_meilisearch(_TMP / f"meili-worker-drill-{time.monotonic_ns()}", master_key=KEY,
                                   log_path=_TMP / "meili-worker-drill.log")
    yield proc
    proc.stop()


def start_worker(env: dict, worker_id: str, log_name: str) -> tuple[subprocess.Popen, object]:
    log_path = drill_log(log_name)
    log_file = open(log_path, "wb")
    process = subprocess.Popen([sys.executable, "-m", "careers.cli", "worker", "--worker-id", worker_id],
                               cwd=PROJECT_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                               start_new_session=True)
    process.log_path = log_path
    return process, log_file


def stop_worker(process: subprocess.Popen, log_file) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGCONT)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    log_file.close()


def log_tail(process: subprocess.Popen) -> str:
    return "\n".join(process.log_path.read_text(errors="replace").splitlines()[-25:])


async def queue_work(settings) -> tuple[list[int], list[int]]:
    """Listings published (each with its search row) interleaved with mails: one batch of mixed work."""
    employer_id, _ = await make_employer("Worker Drill Health")
    listings, mails = [], []
    for n in range(LISTINGS):
        listings.append(await make_published(employer_id, f"Drill coder {n}"))
        for m in range(MAILS_PER_LISTING):
            mails.append(await mail.queue_mail(f"person{n}-{m}@example.org", f"Drill mail {n}.{m}", "Hello."))
    return listings, mails


async def indexed_ids(settings) -> list[int]:
    def fetch(client):
        page = client.index(settings.meili_index).get_documents({"limit": 1000, "fields": ["id"]})
        return [int(d.id) for d in page.results]

    return await run_admin(settings, fetch)


def message_id(row_id: int) -> str:
    return f"<outbox-{row_id}@testserver>"


async def done_ids() -> set[int]:
    return {r["id"] for r in await OutboxRow.select(OutboxRow.id).where(OutboxRow.status == "done")}


@pytest.mark.slow
async def test_a_worker_killed_mid_batch_leaves_its_rows_to_be_claimed_again_and_no_sent_mail_is_sent_twice(
        settings, smtp_server, own_meilisearch):
    """Invariant: after SIGKILL mid-batch, every row is done by the next worker (each mail reaches the SMTP server
    with its one Message-ID, each listing is indexed once); a mail whose row was marked sent before the kill is
    never sent again; at most the one mail in flight at the kill arrives twice (at-least-once), same Message-ID."""
    own = settings.replace(meili_url=own_meilisearch.url, meili_master_key=KEY, meili_index="listings",
                           smtp_url=smtp_server.url, outbox_lease_seconds=LEASE_SECONDS)
    await ensure_index(own)
    listings, mails = await queue_work(own)
    smtp_server.hold_at = 6  # the worker is mid-batch, waiting for the server to accept its 6th mail, when killed
    env = child_env(SMTP_URL=smtp_server.url, MEILI_URL=own.meili_url, MEILI_MASTER_KEY=KEY, SECRET_KEY=own.secret_key,
                    BASE_URL=own.base_url, CAREERS_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS))

    first, first_log = start_worker(env, "drill-worker", "worker-killed")
    try:
        await wait_until(lambda: smtp_server.holding.is_set() or first.poll() is not None, timeout=60,
                         what="the worker to send some mail")
        assert first.poll() is None, log_tail(first)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop_worker(first, first_log)
        smtp_server.gate.set()  # the held mail's connection is dead; later mails are answered at once
    sent_before = await done_ids()
    leased = await OutboxRow.select(OutboxRow.id).where(
        (OutboxRow.status == "pending") & OutboxRow.locked_by.is_not_null())
    assert leased, "the kill did not land in the middle of a batch"
    assert set(mails) - sent_before, "every mail was already sent before the kill"

    # `careers serve` restarts a dead worker under the same holder id; it still waits for the leases to run out.
    second, second_log = start_worker(env, "drill-worker", "worker-restarted")
    try:
        async def all_done() -> bool:
            return await OutboxRow.count().where(OutboxRow.status != "done") == 0

        await wait_until(all_done, timeout=60, interval=0.2, what="the restarted worker to finish every row")
    finally:
        stop_worker(second, second_log)

    received = collections.Counter(smtp_server.message_ids())
    for row_id in mails:
        assert received[message_id(row_id)] >= 1, f"mail of outbox row {row_id} never reached the SMTP server"
    twice = [mid for mid, n in received.items() if n > 1]
    assert all(received[message_id(r)] == 1 for r in sent_before if r in mails), received
    assert len(twice) <= 1 and max(received.values()) <= 2, received
    assert sum(received.values()) <= len(mails) + 1
    assert sorted(await indexed_ids(own)) == sorted(listings)
    reclaimed = await OutboxRow.select(OutboxRow.id).where(OutboxRow.attempts >= 2)
    assert {r["id"] for r in leased} <= {r["id"] for r in reclaimed}


@pytest.mark.slow
async def test_a_frozen_worker_that_wakes_after_its_lease_ran_out_never_resends_mail_another_worker_sent(
        settings, smtp_server, own_meilisearch):
    """Invariant: a worker paused (SIGSTOP) past its lease while another worker finishes its rows does not send
    those rows' mail again when it wakes (SIGCONT): at most the one mail it had in flight arrives twice."""
    own = settings.replace(meili_url=own_meilisearch.url, meili_master_key=KEY, meili_index="listings",
                           smtp_url=smtp_server.url, outbox_lease_seconds=LEASE_SECONDS, print_mail=False)
    await ensure_index(own)
    listings, mails = await queue_work(own)
    smtp_server.delay = 0.05
    smtp_server.hold_at = 5  # the worker freezes while it waits for the server to accept its 5th mail
    env = child_env(SMTP_URL=smtp_server.url, MEILI_URL=own.meili_url, MEILI_MASTER_KEY=KEY, SECRET_KEY=own.secret_key,
                    BASE_URL=own.base_url, CAREERS_OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS))

    frozen, frozen_log = start_worker(env, "drill-frozen", "worker-frozen")
    try:
        # Frozen while it waits on the network, as a paused VM or a long GC would catch it. (Frozen inside a
        # SQLite write it would block every writer, the app included: SQLite has one writer at a time.)
        await wait_until(lambda: smtp_server.holding.is_set() or frozen.poll() is not None, timeout=60,
                         what="the worker to send some mail")
        assert frozen.poll() is None, log_tail(frozen)
        os.killpg(frozen.pid, signal.SIGSTOP)
        smtp_server.gate.set()  # the server accepts that mail; the frozen worker will hear so only when it wakes
        # Another worker (in this process, so SQLite's one-worker lock, held by the frozen one, does not apply),
        # its clock moved past the frozen worker's lease instead of waiting for the lease to run out.
        with clock.frozen_at(clock.now() + dt.timedelta(seconds=LEASE_SECONDS + 1)):
            await Worker(own).drain()
        assert await OutboxRow.count().where(OutboxRow.status != "done") == 0
        os.killpg(frozen.pid, signal.SIGCONT)
        assert frozen.poll() is None, log_tail(frozen)
        # SIGTERM lets the woken worker run on through the rest of its batch, then exit cleanly: once it has
        # exited, everything it was going to send has reached the server.
        frozen.terminate()
        assert frozen.wait(timeout=60) == 0, log_tail(frozen)
    finally:
        stop_worker(frozen, frozen_log)

    received = collections.Counter(smtp_server.message_ids())
    assert all(received[message_id(r)] >= 1 for r in mails)
    twice = sorted(mid for mid, n in received.items() if n > 1)
    assert len(twice) <= 1, f"mail sent again after another worker marked it sent: {twice}"
    assert sorted(await indexed_ids(own)) == sorted(listings)
