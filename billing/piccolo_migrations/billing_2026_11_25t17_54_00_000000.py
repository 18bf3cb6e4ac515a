"""Seed the plans and prices (hand-written data migration). Admins edit prices later at /admin/plans."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-25T17:54:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "seed the plans and prices"

STANDARD_30 = 19900
STANDARD_60 = 29900

# code, kind, name, price_cents, duration_days, credits, discount_percent, sort_order
PLANS = [
    ("standard_30", "posting", "Standard listing, 30 days", STANDARD_30, 30, 0, 0, 10),
    ("standard_60", "posting", "Standard listing, 60 days", STANDARD_60, 60, 0, 0, 20),
    ("featured", "featured", "Featured upgrade", 9900, 0, 0, 0, 30),
    # Renewal: 75% of the plan price, extending from max(expires_at, now).
    ("renewal_30", "renewal", "Renewal, 30 more days", STANDARD_30 * 75 // 100, 30, 0, 25, 40),
    ("renewal_60", "renewal", "Renewal, 60 more days", STANDARD_60 * 75 // 100, 60, 0, 25, 50),
    # Packs of 30-day postings: 15 / 25 / 35% off; credits expire after 12 months.
    ("pack_3", "pack", "Pack of 3 postings (30 days each)", 3 * STANDARD_30 * 85 // 100, 30, 3, 15, 60),
    ("pack_5", "pack", "Pack of 5 postings (30 days each)", 5 * STANDARD_30 * 75 // 100, 30, 5, 25, 70),
    ("pack_10", "pack", "Pack of 10 postings (30 days each)", 10 * STANDARD_30 * 65 // 100, 30, 10, 35, 80),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="billing", description=DESCRIPTION)

    async def seed():
        from billing.tables import Plan

        for code, kind, name, price, days, credits, discount, sort in PLANS:
            if await Plan.exists().where(Plan.code == code):
                continue
            await Plan.insert(
                Plan(code=code, kind=kind, name=name, price_cents=price, currency="usd", duration_days=days,
                     credits=credits, discount_percent=discount, active=True, sort_order=sort)
            )

    manager.add_raw(seed)
    return manager
