"""`careers import-listings FILE.jsonl --employer NAME [--dry-run]` and `careers seed-demo`.

Both go through `listings.service.validate_listing`, the same validation as the posting form, so a
listing means the same thing whichever way it arrives.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
import sys
from pathlib import Path
from typing import IO, Any

from careers.accounts import service as accounts
from careers.accounts.tables import User
from careers.coders import service as coders
from careers.core import clock, db, geo
from employers.service import unique_slug
from employers.tables import Employer, EmployerMember
from listings import pay_demo, pay_transparency, service
from listings.liveness.demo import seed_demo_liveness
from listings.schemas import LISTING_FIELDS, ListingInput

IMPORT_FIELDS = frozenset(LISTING_FIELDS) | {"expires_at"}


def register(subparsers) -> None:
    imp = subparsers.add_parser(
        "import-listings",
        help="import listings from a JSON Lines file as published (admin import, no payment)",
        description="One listing per line in the JSON API's field names. Bad lines are reported as "
                    "`line N: field: message` on stderr; the good ones are imported. Exit status 1 if any line failed.",
    )
    imp.add_argument("file", metavar="FILE.jsonl", help="one JSON object per line")
    imp.add_argument("--employer", required=True, help="the employer's exact name (created if there is none)")
    imp.add_argument("--dry-run", action="store_true", help="validate every line, write nothing")
    imp.set_defaults(func=cmd_import_listings)

    seed = subparsers.add_parser("seed-demo", help="fill the board with realistic demo employers, listings and coders "
                                                   "(idempotent)")
    seed.set_defaults(func=cmd_seed_demo)


async def _with_database(coro):
    await db.start()
    try:
        return await coro
    finally:
        await db.stop()


def cmd_import_listings(args, settings) -> int:
    return asyncio.run(_with_database(import_listings(Path(args.file), args.employer, dry_run=args.dry_run)))


def cmd_seed_demo(args, settings) -> int:
    return asyncio.run(_with_database(seed_demo()))


# ---- import-listings --------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on a terminal's stderr."""

    WIDTH = 30

    def __init__(self, total: int, stream: IO[str]) -> None:
        self.total = max(total, 1)
        self.stream = stream

    def show(self, done: int) -> None:
        filled = int(self.WIDTH * done / self.total)
        self.stream.write(f"\r[{'#' * filled}{' ' * (self.WIDTH - filled)}] {done}/{self.total} lines")
        self.stream.flush()

    def clear(self) -> None:
        self.stream.write("\r\033[K")

    def finish(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _lines(text: str) -> list[str]:
    # Split on "\n" only: JSON strings may hold U+2028 and friends, which str.splitlines() would count as lines.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def parse_expires_at(value: Any, now: dt.datetime) -> dt.datetime:
    """An ISO 8601 date or date-time in the future (a date means the end of that day, UTC)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Give an ISO 8601 date or date-time, for example 2027-01-31 or 2027-01-31T17:00:00Z.")
    text = value.strip()
    try:
        if len(text) == 10:
            parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(23, 59, 59), tzinfo=dt.timezone.utc)
        else:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise ValueError("Give an ISO 8601 date or date-time, for example 2027-01-31 or 2027-01-31T17:00:00Z.") from None
    if parsed <= now:
        raise ValueError("The expiry is in the past.")
    return parsed


async def _employer_named(name: str, *, create: bool):
    employer = await Employer.objects().where(Employer.name == name).first()
    if employer is None and create:
        employer = Employer(name=name, slug=await unique_slug(name), website="")
        await employer.save()
    return employer


async def import_listings(path: Path, employer_name: str, *, dry_run: bool = False, out: IO[str] | None = None,
                          err: IO[str] | None = None, now: dt.datetime | None = None) -> int:
    """Import (or with `dry_run` only check) every line of `path`; returns the exit status (0, 1 or 2)."""
    out = out or sys.stdout
    err = err or sys.stderr
    now = now or clock.now()
    employer_name = (employer_name or "").strip()
    if not employer_name:
        print("careers import-listings: --employer needs the employer's name", file=err)
        return 2
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"careers import-listings: cannot read {path}: {exc}", file=err)
        return 2
    lines = _lines(text)
    employer = await _employer_named(employer_name, create=False)
    credentials = await service.credential_lookup()
    progress = Progress(len(lines), err) if err.isatty() else None
    counts = {"created": 0, "updated": 0, "valid": 0, "failed": 0}

    def report(number: int, problems: dict[str, str]) -> None:
        if progress:
            progress.clear()
        for field, message in problems.items():
            print(f"line {number}: {field}: {message}", file=err)
        counts["failed"] += 1

    for number, line in enumerate(lines, start=1):
        if progress:
            progress.show(number)
        if not line.strip():
            continue  # blank lines are allowed (and still counted)
        data, expires_at, problems = await _read_line(line, now, credentials)
        if problems or data is None:
            report(number, problems)
            continue
        for warning in pay_transparency.import_warnings(data):  # the law is the employer's to meet: warn, import
            if progress:
                progress.clear()
            print(f"line {number}: warning: {warning}", file=err)
        try:
            if dry_run:
                if employer is not None and not await _would_update(employer.id, data):
                    duplicate = await service.find_duplicate(employer.id, data)
                    if duplicate is not None:
                        raise service.ListingInvalid({"title": f"duplicates listing #{duplicate.id} “{duplicate.title}”"})
                counts["valid"] += 1
                continue
            if employer is None:
                async with db.transaction():
                    employer = await _employer_named(employer_name, create=True)
            _, action = await service.import_listing(employer.id, data, expires_at=expires_at, now=now)
            counts[action] += 1
        except service.ListingInvalid as exc:
            report(number, exc.errors)
        except service.ListingError as exc:
            report(number, {exc.field or "listing": exc.message})
    if progress:
        progress.finish()
    if dry_run:
        print(f"Dry run for {employer_name}: {counts['valid']} line(s) valid, {counts['failed']} failed; "
              "nothing was written.", file=out)
    else:
        print(f"Imported for {employer_name}: {counts['created']} new, {counts['updated']} updated, "
              f"{counts['failed']} line(s) failed.", file=out)
    return 1 if counts["failed"] else 0


async def _read_line(line: str, now: dt.datetime, credentials: dict[str, str]
                     ) -> tuple[ListingInput | None, dt.datetime | None, dict[str, str]]:
    """One import line read and validated: (the listing, its `expires_at`, problems by field; none when valid)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, None, {"json": f"not valid JSON ({exc.msg} at column {exc.colno})"}
    if not isinstance(record, dict):
        return None, None, {"json": "each line must be one JSON object"}
    problems = {key: "unknown field" for key in record if key not in IMPORT_FIELDS}
    expires_at = None
    if record.get("expires_at") not in (None, ""):
        try:
            expires_at = parse_expires_at(record["expires_at"], now)
        except ValueError as exc:
            problems["expires_at"] = str(exc)
    try:
        data = await service.validate_listing({k: v for k, v in record.items() if k in IMPORT_FIELDS},
                                              credentials=credentials)
    except service.ListingInvalid as exc:
        return None, expires_at, {**exc.errors, **problems}
    return data, expires_at, problems


async def _would_update(employer_id: int, data) -> bool:
    from listings.tables import Listing

    if not data.requisition_id:
        return False
    return await Listing.exists().where(
        (Listing.employer == employer_id) & (Listing.requisition_id == data.requisition_id)
        & Listing.status.is_in(list(service.EDITABLE_STATES))
    )


# ---- seed-demo ------------------------------------------------------------------------------------

DEMO_PASSWORD = "demo-password-2026"
DEMO_LISTINGS = 120
DEMO_CODERS = 20
# name, website, headquarters ZIP, verified
DEMO_EMPLOYERS = [
    ("Mercy Ridge Health", "https://mercyridge.example.com", "43215", True),
    ("Summit Revenue Cycle Partners", "https://summitrcp.example.com", "80202", True),
    ("Lakeside Orthopedic Group", "https://lakesideortho.example.com", "60601", False),
    ("Harborview Coding Services", "https://harborviewcoding.example.com", "98101", True),
    ("Prairie Risk Adjustment Co.", "https://prairierisk.example.com", "68102", False),
    ("Bluegrass Children's Hospital", "https://bluegrasschildrens.example.com", "40202", True),
    ("Desert Sun Ambulatory Surgery", "https://desertsunasc.example.com", "85004", False),
    ("Northstar Health Plan", "https://northstarhealthplan.example.com", "55401", True),
]
DEMO_STATES = ["AZ", "CA", "CO", "FL", "GA", "IL", "KY", "MA", "MI", "MN", "NC", "NE", "NY", "OH", "PA", "TN", "TX",
               "WA", "WI", "VA"]
# setting -> (titles, credentials to choose from, specialties that fit, code sets)
DEMO_ROLES: dict[str, tuple[list[str], list[str], list[str], list[str]]] = {
    "inpatient": (["Inpatient Coder", "Inpatient Coding Specialist", "DRG Coder"], ["CCS", "CIC", "RHIT"],
                  ["internal_medicine", "general_surgery", "cardiology"], ["icd10cm", "icd10pcs", "drg"]),
    "outpatient": (["Outpatient Coder", "Outpatient Surgery Coder"], ["CPC", "COC", "CCS"],
                   ["general_surgery", "gastroenterology", "orthopedics"], ["icd10cm", "cpt", "hcpcs"]),
    "profee": (["Professional Fee Coder", "Physician Coder", "E/M Coder"], ["CPC", "CCS-P", "CEMC"],
               ["evaluation_management", "family_practice", "internal_medicine", "dermatology", "neurology"],
               ["icd10cm", "cpt", "hcpcs"]),
    "asc": (["ASC Coder", "Surgery Center Coder"], ["CASCC", "CPC", "COC"],
            ["orthopedics", "ophthalmology", "gastroenterology", "anesthesia"], ["icd10cm", "cpt", "hcpcs"]),
    "ed": (["Emergency Department Coder", "ED Facility Coder"], ["CEDC", "CPC", "COC"], ["emergency"],
           ["icd10cm", "cpt"]),
    "risk_adjustment": (["Risk Adjustment Coder", "HCC Coder", "Risk Adjustment Coding Auditor"], ["CRC", "CPC", "CCS"],
                        ["internal_medicine", "family_practice"], ["icd10cm", "hcc"]),
    "cdi": (["Clinical Documentation Specialist", "CDI Specialist"], ["CCDS", "CDIP", "CCDS-O"],
            ["internal_medicine", "cardiology"], ["icd10cm", "icd10pcs", "drg"]),
    "audit": (["Coding Auditor", "Coding Compliance Auditor"], ["CPMA", "CPC", "CCS"],
              ["evaluation_management", "general_surgery"], ["icd10cm", "cpt", "hcpcs"]),
    "denials": (["Denials and Appeals Specialist", "Coding Denials Analyst"], ["CPC", "CPB", "CCS"], [],
                ["icd10cm", "cpt", "hcpcs"]),
    "billing": (["Medical Biller and Coder", "Billing Specialist"], ["CPB", "CBCS", "CPC", "CMRS"],
                ["family_practice", "pediatrics", "behavioral_health"], ["cpt", "hcpcs"]),
    "him": (["HIM Coding Specialist", "Release of Information Specialist"], ["RHIT", "RHIA", "CCA"], [],
            ["icd10cm"]),
    "payer": (["Payer Claims Coding Reviewer", "Health Plan Coding Analyst"], ["CPC", "CCS", "CRC"],
              ["radiology", "pathology", "urology"], ["icd10cm", "cpt", "hcpcs"]),
}
BENEFITS = ["Medical, dental and vision; 401(k) with match", "Paid CEUs and AAPC membership",
            "PTO from day one, equipment provided", "Health insurance, HSA, tuition help", ""]


# Screener questions for every third demo listing, chosen by setting (no random draw: the specs stay as they were).
DEMO_QUESTIONS = {
    "inpatient": [{"template": "inpatient_pcs_years", "must_meet": True, "min": 2},
                  {"template": "encoders", "must_meet": True, "accepted": ["3M", "Solventum", "Optum"]},
                  {"template": "accuracy_95", "must_meet": True, "accepted": ["yes"]}],
    "profee": [{"template": "em_profee_years", "must_meet": True, "min": 1},
               {"template": "charts_per_hour"},
               {"text": "Do you hold a current CPC or CCS-P?", "kind": "yes_no", "must_meet": True,
                "accepted": ["yes"]}],
}
DEMO_DEFAULT_QUESTIONS = [{"template": "accuracy_95", "must_meet": True, "accepted": ["yes"]},
                          {"template": "shift", "must_meet": False},
                          {"template": "encoders", "accepted": ["Epic", "Cerner"]}]


def demo_screening_questions(index: int, setting: str) -> list[dict]:
    return DEMO_QUESTIONS.get(setting, DEMO_DEFAULT_QUESTIONS) if index % 3 == 0 else []


def demo_listing_specs() -> list[tuple[int, dict]]:
    """(employer index, listing fields) for every demo listing, the same on every run (random.Random(42))."""
    rng = random.Random(42)
    zips = geo.standard_zips(DEMO_STATES)
    specs = []
    settings_cycle = list(DEMO_ROLES)
    for i in range(DEMO_LISTINGS):
        setting = settings_cycle[i % len(settings_cycle)]
        titles, creds, specialties, code_sets = DEMO_ROLES[setting]
        work_mode = rng.choices(["remote", "hybrid", "onsite"], weights=[45, 20, 35])[0]
        state = rng.choice(DEMO_STATES)
        zip_code = rng.choice(zips[state])
        unit = rng.choices(["hour", "year", "chart"], weights=[60, 35, 5])[0]
        if unit == "hour":
            low = rng.randrange(1800, 3600, 25) / 100
            high = low + rng.randrange(0, 1200, 25) / 100
        elif unit == "year":
            low = rng.randrange(42000, 90000, 1000)
            high = low + rng.randrange(0, 25000, 1000)
        else:
            low = rng.choice([0.75, 1.0, 1.25, 2.0, 3.5])
            high = low + rng.choice([0, 0.25, 0.5])
        chosen = rng.sample(creds, k=min(len(creds), rng.randint(1, 3)))
        shape = rng.random()
        required, any_of, preferred = [], [], []
        if shape < 0.35:
            required = chosen[:1]
            preferred = chosen[1:]
        elif shape < 0.8:
            any_of = chosen
        else:
            preferred = chosen
        entry_level = rng.random() < 0.2
        if entry_level and any_of and "CPC" in any_of:
            any_of.append("CPC-A")
        senior = rng.random() < 0.25 and not entry_level
        title = ("Senior " if senior else "") + rng.choice(titles)
        if work_mode == "remote":
            title = "Remote " + title
        remote_states = sorted(rng.sample(DEMO_STATES, k=rng.randint(1, 6))) if (
            work_mode == "remote" and rng.random() < 0.4) else []
        extra_settings = [s for s in rng.sample(list(DEMO_ROLES), k=1) if s != setting]
        specs.append((i % len(DEMO_EMPLOYERS), {
            "title": title,
            "description": (
                f"Join our coding team as a {title.lower()}.\n\n"
                f"**What you will do**\n\n- Assign accurate codes for {setting.replace('_', ' ')} encounters\n"
                "- Query providers when documentation is unclear\n- Meet productivity and 95% accuracy targets\n\n"
                "**What you bring**\n\n- Current credential(s) listed above\n- Encoder and EHR experience (Epic or Cerner)\n"
            ),
            "credentials_required": required,
            "credentials_any_of": any_of,
            "credentials_preferred": preferred,
            "settings": [setting, *extra_settings[: rng.randint(0, 1)]],
            "specialties": rng.sample(specialties, k=min(len(specialties), rng.randint(0, 2))),
            "code_sets": code_sets,
            "work_mode": work_mode,
            "zip": "" if (work_mode == "remote" and rng.random() < 0.5) else zip_code,
            "remote_states": remote_states,
            "employment_type": rng.choices(["full_time", "part_time", "contract", "temporary", "per_diem"],
                                           weights=[65, 12, 15, 4, 4])[0],
            "min_years": 0 if entry_level else rng.choice([1, 2, 2, 3, 3, 5]),
            "entry_level_ok": entry_level,
            "pay_min": f"{low:.2f}",
            "pay_max": f"{high:.2f}",
            "pay_unit": unit,
            "benefits": rng.choice(BENEFITS),
            "requisition_id": f"DEMO-{i + 1:03d}",
            "screening_questions": demo_screening_questions(i, setting),
            "_age_days": rng.randint(0, 20),
        }))
    return specs


async def seed_demo(out: IO[str] | None = None, *, now: dt.datetime | None = None) -> int:
    """Create the demo board if it is not there yet; running it again adds nothing twice."""
    from listings import demo_traffic
    from listings.tables import Listing

    out = out or sys.stdout
    now = now or clock.now()
    created = {"employers": 0, "listings": 0, "coders": 0}
    password_hash = ""

    async def demo_user(email: str, role: str, display_name: str) -> tuple[User, bool]:
        nonlocal password_hash
        user = await User.objects().where(User.email == email).first()
        if user is not None:
            return user, False
        password_hash = password_hash or accounts.hash_password(DEMO_PASSWORD)  # hashed once: argon2 is slow
        user = User(email=email, password_hash=password_hash, role=role, display_name=display_name,
                    email_confirmed_at=now)
        await user.save()
        return user, True

    employers = []
    for name, website, hq_zip, verified in DEMO_EMPLOYERS:
        employer = await Employer.objects().where(Employer.name == name).first()
        if employer is None:
            place = geo.lookup_zip(hq_zip)
            async with db.transaction():
                employer = Employer(
                    name=name, slug=await unique_slug(name), website=website,
                    about_md=f"{name} employs certified medical coders across the United States.",
                    hq_zip=hq_zip, hq_city=place.city if place else "", hq_state=place.state if place else "", verified=verified,
                    domain_verified=True,
                )
                await employer.save()
                user, _ = await demo_user("hr@" + website.split("//", 1)[1], "employer", f"{name} hiring team")
                await EmployerMember.insert(EmployerMember(employer=employer.id, user=user.id, role="owner"))
            created["employers"] += 1
        employers.append(employer)

    credentials = await service.credential_lookup()
    existing = {(r["employer"], r["requisition_id"]) for r in await Listing.select(
        Listing.employer, Listing.requisition_id).where(Listing.requisition_id.like("DEMO-%"))}
    published: list[tuple[int, dt.datetime]] = []
    async with db.transaction():  # one transaction: the lifecycle's own transactions nest inside it
        for employer_index, fields in demo_listing_specs():
            employer = employers[employer_index]
            age = dt.timedelta(days=fields.pop("_age_days"), hours=employer_index)
            if (employer.id, fields["requisition_id"]) in existing:
                continue
            data = await service.validate_listing(fields, credentials=credentials)
            listing = await service.create_listing(employer.id, data, actor_kind="admin")
            await service.publish_without_payment(listing.id, reason="seed-demo", now=now - age)
            created["listings"] += 1
            published.append((listing.id, now - age))
    await demo_traffic.add(published, now)  # views and applications for the dashboard's chart
    # The pay pages' demo: CPC listings by state and a year of expired ones for the trend.
    created["listings"] += await pay_demo.seed_pay_listings([e.id for e in employers], credentials, now, existing)

    coder_ids = []
    async with db.transaction():
        for n in range(1, DEMO_CODERS + 1):
            user, new = await demo_user(f"coder{n:02d}@demo.example.com", "coder", f"Demo Coder {n:02d}")
            created["coders"] += int(new)
            coder_ids.append(user.id)

    await coders.seed_demo_profiles(coder_ids)  # idempotent: profiles, resumes and applications for the demo coders
    await seed_demo_liveness(now)  # confirmed today, awaiting reconfirmation, paused
    await coders.seed_trust_demo(coder_ids, now)  # issue 18: response records and credential checks to look at

    print(f"Demo data: {len(DEMO_EMPLOYERS)} employers, {DEMO_LISTINGS + pay_demo.DEMO_PAY_LISTINGS} listings, "
          f"{DEMO_CODERS} coders "
          f"({created['employers']} employers, {created['listings']} listings and {created['coders']} coders "
          "added this run).", file=out)
    print(f"Employer logins: hr@<website host> (e.g. hr@mercyridge.example.com); coder logins: "
          f"coder01@demo.example.com … coder{DEMO_CODERS:02d}@demo.example.com; password for all: {DEMO_PASSWORD}",
          file=out)
    return 0
