"""Live listings in `careers seed-demo`: one listing confirmed today, one awaiting reconfirmation, one paused
(each of the first demo employer, so one employer login shows all three), through the real service calls."""

from __future__ import annotations

import datetime as dt

from careers.core import clock
from listings import service as listings
from listings.liveness import service
from listings.tables import Listing

# requisition id -> days since the employer last confirmed it (0: reconfirmed now)
DEMO_CONFIRMED_DAYS = {"DEMO-001": 0, "DEMO-009": 16, "DEMO-017": 23}


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
    await service.pause_due(now)  # DEMO-017, 23 days unconfirmed: off the site, "Paused" to its employer
