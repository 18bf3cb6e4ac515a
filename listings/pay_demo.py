"""Demo listings for the pay pages: enough CPC listings per state for range bars, and a year of expired ones for
the trend by month. Part of `careers seed-demo` (idempotent through their `DEMO-PAY-…` requisition ids).

Some show benefits and an application deadline and some do not, so the demo board also shows the
pay-transparency badge and the findings an employer would see.
"""

from __future__ import annotations

import datetime as dt
import random

from careers.core import db, geo
from listings import service
from listings.vocabulary import ListingState

PAY_STATES = {"TX": 24.0, "CA": 31.0, "CO": 28.0, "FL": 23.0, "NY": 30.0}  # a typical hourly CPC rate there
CURRENT_PER_STATE = 6
HISTORY_MONTHS = 11  # plus the current month, which the listings above fill
HISTORY_PER_MONTH = 8
DEMO_PAY_LISTINGS = len(PAY_STATES) * CURRENT_PER_STATE + HISTORY_MONTHS * HISTORY_PER_MONTH
ROLES = [("Professional Fee Coder", "profee"), ("Outpatient Coder", "outpatient"), ("E/M Coder", "profee"),
         ("Coding Auditor", "audit"), ("Risk Adjustment Coder", "risk_adjustment"), ("ED Coder", "ed")]
BENEFITS = ["Medical, dental and vision; 401(k) with 4% match", "Health insurance, paid CEUs, AAPC dues", ""]


def _fields(rng: random.Random, state: str, zip_code: str, hourly: float, index: int, *, deadline: dt.date | None
            ) -> dict:
    title, setting = ROLES[index % len(ROLES)]
    yearly = rng.random() < 0.4
    low = round(hourly * rng.uniform(0.9, 1.05), 2)
    high = round(low * rng.uniform(1.05, 1.25), 2)
    pay = (round(low * 2080, -3), round(high * 2080, -3)) if yearly else (low, high)
    shape = index % 3
    return {
        "title": f"{title} (CPC)",
        "description": f"Code {setting.replace('_', ' ')} encounters for our {state} team. 95% accuracy, "
                       "Epic and 3M encoder.",
        "credentials_required": ["CPC"] if shape == 0 else [],
        "credentials_any_of": ["CPC", "COC"] if shape == 1 else [],
        "credentials_preferred": ["CPC"] if shape == 2 else [],
        "settings": [setting], "code_sets": ["icd10cm", "cpt"], "work_mode": rng.choice(["onsite", "hybrid"]),
        "zip": zip_code, "employment_type": "full_time", "min_years": rng.choice([1, 2, 3]),
        "pay_min": f"{pay[0]:.2f}", "pay_max": f"{pay[1]:.2f}", "pay_unit": "year" if yearly else "hour",
        "benefits": rng.choice(BENEFITS), "application_deadline": deadline.isoformat() if deadline else "",
        "employer_size": rng.choice([None, 12, 40, 250]),
    }


def _month_start(now: dt.datetime, months_ago: int) -> dt.datetime:
    year, month = divmod(now.year * 12 + now.month - 1 - months_ago, 12)
    return dt.datetime(year, month + 1, 1, tzinfo=dt.UTC)


def pay_listing_specs(now: dt.datetime) -> list[tuple[int, dt.datetime, dict]]:
    """(employer index, published at, fields) for every pay demo listing, the same on every run for one `now`."""
    rng = random.Random(19)
    zips = geo.standard_zips(list(PAY_STATES))
    specs = []
    for n in range(len(PAY_STATES) * CURRENT_PER_STATE):
        state = list(PAY_STATES)[n % len(PAY_STATES)]
        deadline = (now + dt.timedelta(days=25)).date() if n % 2 else None
        fields = _fields(rng, state, rng.choice(zips[state]), PAY_STATES[state], n, deadline=deadline)
        published = now - dt.timedelta(days=rng.randint(0, 20), hours=n)
        specs.append((n, published, fields | {"requisition_id": f"DEMO-PAY-C{n:02d}"}))
    for months_ago in range(1, HISTORY_MONTHS + 1):
        for k in range(HISTORY_PER_MONTH):
            state = list(PAY_STATES)[k % len(PAY_STATES)]
            growth = 1 - 0.004 * months_ago  # pay drifts up a little month by month
            fields = _fields(rng, state, rng.choice(zips[state]), PAY_STATES[state] * growth, k, deadline=None)
            published = _month_start(now, months_ago) + dt.timedelta(days=1 + 3 * k, hours=9 + k)
            specs.append((k, published, fields | {"requisition_id": f"DEMO-PAY-H{months_ago:02d}-{k}"}))
    return specs


async def seed_pay_listings(employer_ids: list[int], credentials: dict[str, str], now: dt.datetime,
                            existing: set[tuple[int, str]]) -> int:
    """Create the pay demo listings not there yet; those whose 30 days have passed end expired. Returns the count."""
    created = 0
    async with db.transaction():
        for index, published_at, fields in pay_listing_specs(now):
            employer_id = employer_ids[index % len(employer_ids)]
            if (employer_id, fields["requisition_id"]) in existing:
                continue
            data = await service.validate_listing(fields, credentials=credentials)
            listing = await service.create_listing(employer_id, data, actor_kind="admin")
            listing = await service.publish_without_payment(listing.id, reason="seed-demo", now=published_at)
            if listing.expires_at <= now:
                await service.transition(listing.id, ListingState.EXPIRED, actor_kind="system",
                                         reason="expires_at passed", now=listing.expires_at)
            created += 1
    return created
