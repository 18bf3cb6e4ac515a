"""Live listings in `careers seed-demo`: one listing confirmed today, one awaiting reconfirmation, one paused, one
expired two days ago (the worker asks why it ended) and one ghost-risk listing (published 50 days ago, never
confirmed, no applications) — all of the first demo employer, so one employer login shows them — through the real
service calls."""

from __future__ import annotations

import datetime as dt

from careers.core import clock, db
from listings import service as listings
from listings.liveness import service
from listings.tables import Listing

# requisition id -> days since the employer last confirmed it (0: reconfirmed now)
DEMO_CONFIRMED_DAYS = {"DEMO-001": 0, "DEMO-009": 16, "DEMO-017": 23}
DEMO_ENDED = "DEMO-025"  # expired two days ago, so the worker's next pass mails "how did it end?"
GHOST_DAYS = 50  # the ghost-risk listing's age: over the admins' 45 days


async def seed_demo_liveness(now: dt.datetime | None = None) -> None:
    """Idempotent: a listing already paused stays paused; the others get their confirmation date again."""
    now = now or clock.now()
    rows = await Listing.select(Listing.id, Listing.requisition_id, Listing.paused).where(
        Listing.requisition_id.is_in(list(DEMO_CONFIRMED_DAYS)) & (Listing.status == listings.PUBLISHED))
    for row in rows:
        days = DEMO_CONFIRMED_DAYS[row["requisition_id"]]
        if days == 0:
            await service.reconfirm(row["id"], actor_kind="admin", now=now)
        elif not row["paused"]:
            await Listing.update({Listing.confirmed_at: now - dt.timedelta(days=days),
                                  Listing.reconfirm_reminded_at: None}).where(Listing.id == row["id"])
    await _seed_ended(now)
    await _seed_ghost(now)
    await service.pause_due(now)  # DEMO-017 (23 days unconfirmed) and the ghost: off the site, "Paused" to the employer


async def _seed_ended(now: dt.datetime) -> None:
    row = await Listing.select(Listing.id).where(
        (Listing.requisition_id == DEMO_ENDED) & (Listing.status == listings.PUBLISHED)).first()
    if row is not None:  # once: an expired listing stays expired
        await Listing.update({Listing.expires_at: now - dt.timedelta(days=2)}).where(Listing.id == row["id"])
        await listings.transition(row["id"], listings.EXPIRED, actor_kind="system", reason="seed-demo", now=now)


async def _seed_ghost(now: dt.datetime) -> None:
    """The first employer's first published demo listing without applications (the same one on every run) looks
    50 days old and never confirmed; its paid time (a 90-day plan) still runs."""
    kept = [*DEMO_CONFIRMED_DAYS, DEMO_ENDED]
    rows = await db.fetch(
        "SELECT l.id FROM listings l WHERE l.status = {} AND l.requisition_id LIKE 'DEMO-%' "
        "AND l.requisition_id NOT IN ({}, {}, {}, {}) "
        "AND l.employer = (SELECT employer FROM listings WHERE requisition_id = {} ORDER BY id LIMIT 1) "
        "AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.listing = l.id) ORDER BY l.id LIMIT 1",
        listings.PUBLISHED.value, *kept, kept[0])
    if rows:
        old = now - dt.timedelta(days=GHOST_DAYS)
        await Listing.update({Listing.published_at: old, Listing.confirmed_at: old, Listing.reconfirm_reminded_at: None,
                              Listing.expires_at: old + dt.timedelta(days=90)}).where(Listing.id == rows[0]["id"])
