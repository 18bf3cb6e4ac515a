"""The background loop: claim outbox rows with a lease and dispatch them to domain handlers.

Delivery is at least once; every handler is idempotent. A failing row keeps its
error and is retried with back-off; it is never dropped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from careers.accounts import service as accounts
from careers.core import clock, db, mail, outbox, ratelimit, registry
from careers.core.config import Settings
from careers.core.tables import WorkerLock
from careers.domains import DOMAINS

log = logging.getLogger("careers.worker")

Handler = Callable[[dict[str, Any], int, Settings], Awaitable[None]] | outbox.Batch
Periodic = Callable[[Settings], Awaitable[None]]


class WorkerLockHeld(Exception):
    pass


def default_handlers() -> dict[str, Handler]:
    """Every outbox kind and the domain service that performs it (mail, then each domain's in careers/domains.py)."""
    return {mail.MAIL_KIND: mail.deliver, **registry.outbox_handlers(DOMAINS)}


HOUSEKEEPING_INTERVAL = 3600.0


async def housekeeping(settings: Settings) -> None:
    """Delete expired rate-limit counters, sessions and one-time links, and outbox rows done over 30 days ago (sent
    mail, index syncs and their announcements), or those tables only ever grow."""
    await ratelimit.purge_expired()
    await accounts.purge_expired()
    await outbox.purge_done()


def default_periodic() -> list[Periodic]:
    """Jobs that run on every pass (expiry, abandoned payments, alert digests, ...)."""
    return [registry.Throttled("core.housekeeping", HOUSEKEEPING_INTERVAL, housekeeping),
            *registry.periodic_jobs(DOMAINS)]


class Worker:
    def __init__(self, settings: Settings, handlers: dict[str, Handler] | None = None,
                 periodic: list[Periodic] | None = None, worker_id: str | None = None) -> None:
        self.settings = settings
        self.handlers = handlers if handlers is not None else default_handlers()
        self.periodic = periodic if periodic is not None else default_periodic()
        self.worker_id = worker_id or outbox.new_worker_id()
        self.lease_seconds = settings.outbox_lease_seconds
        self._stop = asyncio.Event()
        self.wakeup: outbox.Wakeup | None = None

    async def acquire_lock(self) -> None:
        """SQLite allows one worker: take the lock row or refuse to start."""
        if not db.is_sqlite():
            return
        now = clock.now()
        until = now + dt.timedelta(seconds=30)
        await WorkerLock.insert(WorkerLock(name="worker", holder=self.worker_id, held_until=until)).on_conflict(
            action="DO NOTHING"
        )
        rows = await WorkerLock.update({WorkerLock.holder: self.worker_id, WorkerLock.held_until: until}).where(
            (WorkerLock.name == "worker") & ((WorkerLock.holder == self.worker_id) | (WorkerLock.held_until < now))
        ).returning(WorkerLock.id)
        if not rows:
            raise WorkerLockHeld("Another worker is running against this SQLite database; only one may run.")

    async def release_lock(self) -> None:
        if db.is_sqlite():
            await WorkerLock.delete().where((WorkerLock.name == "worker") & (WorkerLock.holder == self.worker_id))

    async def run_periodic(self) -> None:
        """Call every periodic job (each throttles itself); one failing is logged and the others still run."""
        for job in self.periodic:
            try:
                await job(self.settings)
            except Exception:
                log.exception("periodic job %s failed", getattr(job, "__name__", job))

    async def run_once(self, *, limit: int = 50, periodic: bool = True) -> int:
        """Run due periodic jobs (unless told not to), then claim and handle one batch; returns how many rows
        were handled."""
        if periodic:
            await self.run_periodic()
        rows = await outbox.claim(self.worker_id, limit=limit, kinds=list(self.handlers), lease_seconds=self.lease_seconds)
        batches: dict[str, list[dict]] = {}
        for row in rows:
            handler = self.handlers[row["kind"]]
            if isinstance(handler, outbox.Batch):  # handled together after the single rows
                batches.setdefault(row["kind"], []).append(row)
                continue
            if not await outbox.renew_lease(row["id"], self.worker_id, self.lease_seconds):
                continue  # our lease ran out mid-batch and another worker took the row (or finished it)
            try:
                await handler(row["payload"], row["id"], self.settings)
            except Exception as exc:  # the row keeps its error and is retried
                log.warning("outbox row %s (%s) failed: %s", row["id"], row["kind"], exc)
                await outbox.fail(row["id"], self.worker_id, row["attempts"], "".join(traceback.format_exception(exc))[-4000:])
            else:
                await outbox.complete(row["id"], self.worker_id)
        for kind, group in batches.items():
            await self.run_batch(self.handlers[kind], group)
        return len(rows)

    async def run_batch(self, handler: outbox.Batch, rows: list[dict]) -> None:
        """One call for all of a pass's rows of a batch kind (those still ours); each then done, failed or postponed."""
        rows = [row for row in rows if await outbox.renew_lease(row["id"], self.worker_id, self.lease_seconds)]
        if not rows:
            return
        try:
            outcome = await handler.run(rows, self.settings, self.worker_id)
        except Exception as exc:  # every row keeps the error and is retried
            log.warning("outbox batch of %s %s rows failed: %s", len(rows), rows[0]["kind"], exc)
            error = "".join(traceback.format_exception(exc))[-4000:]
            outcome = outbox.BatchOutcome(failed={row["id"]: error for row in rows})
        for row in rows:
            if row["id"] in outcome.later:
                await outbox.postpone(row["id"], self.worker_id, outcome.later[row["id"]])
            elif row["id"] in outcome.failed:
                await outbox.fail(row["id"], self.worker_id, row["attempts"], outcome.failed[row["id"]])
            else:
                await outbox.complete(row["id"], self.worker_id)

    async def drain(self, *, max_rounds: int = 100) -> None:
        """Handle rows until none is due (tests and CLI commands use this)."""
        for _ in range(max_rounds):
            if not await self.run_once():
                return

    async def run_forever(self, *, idle_seconds: float = 0.5) -> None:
        """Pass after pass; when idle, wait up to `idle_seconds` for new rows (outbox.Wakeup). Each pass handles its
        rows first and only then the periodic jobs (at most once per `idle_seconds`), so a woken pass goes straight
        to the new row; rows the periodic jobs queue wake the next wait at once."""
        await self.acquire_lock()
        log.info("worker %s started", self.worker_id)
        self.wakeup = outbox.Wakeup()
        last_periodic = -idle_seconds
        try:
            await self.wakeup.start()
            while not self._stop.is_set():
                try:
                    await self.acquire_lock()
                    handled = await self.run_once(periodic=False)
                    if time.monotonic() - last_periodic >= idle_seconds:
                        last_periodic = time.monotonic()
                        await self.run_periodic()
                except WorkerLockHeld:
                    raise
                except Exception:
                    log.exception("worker pass failed; retrying")
                    handled = 0
                if not handled and not self._stop.is_set():
                    await self.wakeup.wait(idle_seconds)
        finally:
            await self.wakeup.close()
            await self.release_lock()

    def stop(self) -> None:
        self._stop.set()
        if self.wakeup is not None:
            self.wakeup.poke()
