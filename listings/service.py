"""The listing lifecycle: every legal transition, its side effects and its event row.

States and transitions are exactly ARCHITECTURE.md's table. Every transition
runs in one transaction that also writes a `listing_events` row and, where the
public view of the listing changes, a search-outbox row.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

from careers.core import clock, db, mail, outbox
from employers.tables import Employer, EmployerMember
from listings import vocabulary as vocab
from listings.markdown import render_markdown
from listings.schemas import LISTING_FIELDS, ListingInput
from listings.tables import (
    Credential,
    Listing,
    ListingCodeSet,
    ListingCredential,
    ListingEvent,
    ListingRemoteState,
    ListingSetting,
    ListingSpecialty,
)
from listings.vocabulary import CredentialKind
from listings.vocabulary import ListingState as S

DRAFT, AWAITING, IN_REVIEW, PUBLISHED = S.DRAFT.value, S.AWAITING_PAYMENT.value, S.IN_REVIEW.value, S.PUBLISHED.value
REJECTED, EXPIRED, CLOSED, REMOVED = S.REJECTED.value, S.EXPIRED.value, S.CLOSED.value, S.REMOVED.value

# (from, to) -> actor kinds allowed to make it. Every other pair is illegal.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (DRAFT, AWAITING): frozenset({"employer"}),
    (AWAITING, DRAFT): frozenset({"system"}),
    (AWAITING, IN_REVIEW): frozenset({"webhook"}),
    (AWAITING, PUBLISHED): frozenset({"webhook"}),
    (DRAFT, IN_REVIEW): frozenset({"employer"}),
    (DRAFT, PUBLISHED): frozenset({"employer", "admin"}),
    (IN_REVIEW, PUBLISHED): frozenset({"admin"}),
    (IN_REVIEW, REJECTED): frozenset({"admin"}),
    (IN_REVIEW, DRAFT): frozenset({"admin"}),
    (PUBLISHED, IN_REVIEW): frozenset({"employer"}),
    (PUBLISHED, EXPIRED): frozenset({"system"}),
    (PUBLISHED, CLOSED): frozenset({"employer"}),
    (PUBLISHED, REMOVED): frozenset({"admin", "system"}),
    (EXPIRED, PUBLISHED): frozenset({"webhook", "employer"}),
    (REMOVED, PUBLISHED): frozenset({"admin"}),
}
LIVE_STATES = frozenset({PUBLISHED})
STATE_LABELS = {
    DRAFT: "Draft",
    AWAITING: "Awaiting payment",
    IN_REVIEW: "In review",
    PUBLISHED: "Published",
    REJECTED: "Rejected",
    EXPIRED: "Expired",
    CLOSED: "Closed",
    REMOVED: "Removed",
}


class ListingError(Exception):
    """A listing rule was broken; pages show `message` plainly."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.message = message
        self.field = field
        super().__init__(message)


class IllegalTransition(ListingError):
    pass


class ListingNotFound(ListingError):
    pass



def check_transition(from_status: str, to_status: str, actor_kind: str) -> None:
    """Raise IllegalTransition unless ARCHITECTURE.md's table allows `actor_kind` to move from -> to."""
    allowed = TRANSITIONS.get((from_status, to_status))
    if allowed is None:
        raise IllegalTransition(
            f"A listing that is {STATE_LABELS.get(from_status, from_status).lower()} cannot become "
            f"{STATE_LABELS.get(to_status, to_status).lower()}."
        )
    if actor_kind not in allowed:
        raise IllegalTransition(
            f"Only {' or '.join(sorted(allowed))} may move a listing from "
            f"{STATE_LABELS[from_status].lower()} to {STATE_LABELS[to_status].lower()}."
        )


async def _locked(listing_id: int) -> Listing:
    query = Listing.objects().where(Listing.id == listing_id)
    if not db.is_sqlite():
        query = query.lock_rows()  # SQLite's IMMEDIATE transaction already serialises writers
    listing = await query.first()
    if listing is None:
        raise ListingNotFound("That listing does not exist.")
    return listing


def snapshot(listing: Listing) -> dict:
    """The fields an admin approves, kept to show a diff when an edit comes back for review."""
    return {
        "title": listing.title,
        "description_md": listing.description_md,
        "pay_min": str(listing.pay_min),
        "pay_max": str(listing.pay_max),
        "pay_unit": listing.pay_unit,
    }


async def record_event(listing_id: int, from_status: str, to_status: str, actor_kind: str,
                       actor_id: int | None = None, reason: str = "") -> None:
    await ListingEvent.insert(
        ListingEvent(listing=listing_id, actor=actor_id, actor_kind=actor_kind, from_status=from_status,
                     to_status=to_status, reason=reason[:4000])
    )


async def transition(listing_id: int, to_status: str, *, actor_kind: str, actor_id: int | None = None,
                     reason: str = "", now: dt.datetime | None = None) -> Listing:
    """Move a listing to `to_status` if the lifecycle allows it; one transaction with its event and search row.

    Publishing sets `published_at` and `expires_at` (from `duration_days`) the first time; a renewal
    (expired -> published) extends from max(expires_at, now); a reinstatement (removed -> published)
    requires `expires_at` still ahead; a re-approval after an edit keeps the expiry.
    """
    now = now or clock.now()
    async with db.transaction():
        listing = await _locked(listing_id)
        from_status = listing.status
        check_transition(from_status, to_status, actor_kind)
        changes: dict = {Listing.status: to_status, Listing.updated_at: now}
        if to_status == PUBLISHED:
            if from_status == REMOVED and (listing.expires_at is None or listing.expires_at <= now):
                raise IllegalTransition("This listing's expiry has passed, so it cannot be reinstated.")
            if from_status == EXPIRED:
                base = max(listing.expires_at or now, now)
                changes[Listing.expires_at] = base + dt.timedelta(days=listing.duration_days)
            elif listing.expires_at is None:
                changes[Listing.published_at] = now
                changes[Listing.expires_at] = now + dt.timedelta(days=listing.duration_days)
            if listing.published_at is None:
                changes[Listing.published_at] = now
            changes[Listing.approved_snapshot] = json.dumps(snapshot(listing))
            changes[Listing.expiry_warned_at] = None
        await Listing.update(changes).where(Listing.id == listing_id)
        await record_event(listing_id, from_status, to_status, actor_kind, actor_id, reason)
        if PUBLISHED in (from_status, to_status):
            await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": listing_id})
        return await Listing.objects().get(Listing.id == listing_id)


async def renew(listing_id: int, days: int, *, actor_kind: str, actor_id: int | None = None,
                now: dt.datetime | None = None) -> Listing:
    """A paid renewal: extend from max(expires_at, now) by `days`; an expired listing is published again."""
    now = now or clock.now()
    async with db.transaction():
        listing = await _locked(listing_id)
        if listing.status == EXPIRED:
            await Listing.update({Listing.duration_days: days}).where(Listing.id == listing_id)
            return await transition(listing_id, PUBLISHED, actor_kind=actor_kind, actor_id=actor_id,
                                    reason="renewal", now=now)
        if listing.status != PUBLISHED:
            raise IllegalTransition("Only a published or expired listing can be renewed.")
        base = max(listing.expires_at or now, now)
        await Listing.update({Listing.expires_at: base + dt.timedelta(days=days), Listing.expiry_warned_at: None,
                              Listing.updated_at: now}).where(Listing.id == listing_id)
        await record_event(listing_id, PUBLISHED, PUBLISHED, actor_kind, actor_id, f"renewed for {days} days")
        await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": listing_id})
        return await Listing.objects().get(Listing.id == listing_id)


async def set_hidden(listing_id: int, hidden: bool, *, actor_kind: str, actor_id: int | None = None,
                     reason: str = "") -> Listing:
    """Hide (reports, disputes) or unhide (admin) a listing: it keeps its state but leaves every page and search."""
    async with db.transaction():
        listing = await _locked(listing_id)
        if listing.hidden == hidden:
            return listing
        await Listing.update({Listing.hidden: hidden, Listing.updated_at: clock.now()}).where(Listing.id == listing_id)
        await record_event(listing_id, listing.status, listing.status, actor_kind, actor_id,
                           ("hidden: " if hidden else "unhidden: ") + reason)
        await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": listing_id})
        return await Listing.objects().get(Listing.id == listing_id)


async def set_featured(listing_id: int, featured: bool = True, *, actor_kind: str = "webhook") -> None:
    """The paid featured upgrade: lifted in search, a badge on cards."""
    async with db.transaction():
        await _locked(listing_id)
        await Listing.update({Listing.featured: featured, Listing.updated_at: clock.now()}).where(Listing.id == listing_id)
        await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": listing_id})


PERIODIC_BATCH = 100  # listings expired or warned per worker pass; the rest follow on the next passes


async def expire_due(now: dt.datetime | None = None) -> list[int]:
    """Expire every published listing whose `expires_at` has passed; returns their ids."""
    now = now or clock.now()
    # A bounded batch per pass: a backlog must not stall the worker's outbox (search sync, mail) for minutes.
    due = await Listing.select(Listing.id).where((Listing.status == PUBLISHED) & (Listing.expires_at <= now)).order_by(
        Listing.expires_at).limit(PERIODIC_BATCH)
    expired = []
    for row in due:
        try:
            await transition(row["id"], EXPIRED, actor_kind="system", reason="expires_at passed", now=now)
            expired.append(row["id"])
        except IllegalTransition:
            pass  # another worker got there first
    return expired


def is_public(listing: Listing) -> bool:
    return listing.status == PUBLISHED and not listing.hidden


# =====================================================================================
# Listing content: validation, creation, editing, cloning (one vocabulary for the form,
# the importer and seed-demo).
# =====================================================================================

LIVE_FOR_DUPLICATES = frozenset({DRAFT, AWAITING, IN_REVIEW, PUBLISHED})
EDITABLE_STATES = frozenset({DRAFT, AWAITING, IN_REVIEW, PUBLISHED})
GONE_STATES = frozenset({EXPIRED, CLOSED, REMOVED})  # the public page answers 410
REVIEWED_FIELDS = ("title", "description", "pay")  # an unverified employer's edit of these goes back to review
TITLE_MAX, DESCRIPTION_MAX, BENEFITS_MAX, URL_MAX, REQUISITION_MAX = 200, 20000, 500, 500, 100
PAY_LIMITS = {"hour": Decimal("1000"), "year": Decimal("10000000"), "chart": Decimal("1000")}
_ZIP_RE = re.compile(r"^(\d{5})(?:-\d{4})?$")
_TRUE = frozenset({"1", "true", "on", "yes", "y"})
_FALSE = frozenset({"", "0", "false", "off", "no", "n"})


class ListingInvalid(ListingError):
    """One or more fields are wrong; `errors` maps each field to a message for the person."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = dict(errors)
        field, message = next(iter(self.errors.items()))
        super().__init__(message, field)


def normalise_title(title: str) -> str:
    """Lower-case ASCII words separated by single spaces: "Sr. Coder – CPC" and "sr coder cpc" are the same."""
    value = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", value).strip()[:TITLE_MAX]


def slugify(value: str) -> str:
    value = unicodedata.normalize("NFKD", value or "").encode("ascii", "ignore").decode()
    return re.sub(r"[^a-zA-Z0-9]+", "-", value).strip("-").lower()


def listing_slug(title: str, city: str, state: str, work_mode: str) -> str:
    """Title plus place ("remote" or city and state): never a bare word like "apply" that a route uses."""
    place = "remote" if work_mode == "remote" else f"{city} {state}"
    return (slugify(title)[:160].strip("-") + "-" + slugify(place)).strip("-")[:220] or "job"


def resolve_zip(code: str) -> dict | None:
    """City, state and coordinates of a US ZIP code from the offline `zipcodes` dataset, or None."""
    import zipcodes

    match = _ZIP_RE.match((code or "").strip())
    if not match:
        return None
    try:
        found = zipcodes.matching(match.group(1))
    except (ValueError, TypeError):
        return None
    if not found:
        return None
    row = found[0]
    return {"zip": match.group(1), "city": row["city"], "state": row["state"], "lat": float(row["lat"]),
            "lng": float(row["long"])}


async def credential_lookup() -> dict[str, str]:
    """Upper-cased code or alias -> the credential's code, from the taxonomy table."""
    rows = await Credential.select(Credential.code, Credential.aliases).output(load_json=True)
    lookup: dict[str, str] = {}
    for row in rows:
        aliases = row["aliases"] if isinstance(row["aliases"], list) else json.loads(row["aliases"] or "[]")
        for alias in aliases:
            lookup[str(alias).strip().upper()] = row["code"]
    for row in rows:  # a real code always wins over an alias
        lookup[row["code"].upper()] = row["code"]
    return lookup


async def credential_names() -> dict[str, str]:
    rows = await Credential.select(Credential.code, Credential.full_name)
    return {r["code"]: r["full_name"] for r in rows}


async def credential_choices() -> list[dict]:
    """Credentials for forms: code and full name, grouped by issuing body order."""
    return await Credential.select(Credential.code, Credential.full_name, Credential.issuing_body).where(
        Credential.active == True  # noqa: E712
    ).order_by(Credential.id)


class _Reader:
    """Reads one raw field at a time from a form (strings, lists of strings) or a JSON line (typed values)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.errors: dict[str, str] = {}

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def text(self, field: str, max_length: int, *, required: str | None = None) -> str:
        value = self.raw.get(field)
        if isinstance(value, list):
            value = value[0] if value else ""
        if value is None:
            value = ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.error(field, "Enter text here.")
            return ""
        value = str(value).strip()
        if not value and required:
            self.error(field, required)
        elif len(value) > max_length:
            self.error(field, f"Use at most {max_length:,} characters (this has {len(value):,}).")
            return value
        return value

    def items(self, field: str) -> list[str]:
        value = self.raw.get(field)
        if value is None or value == "":
            return []
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.error(field, "Give a list of values.")
            return []
        seen: list[str] = []
        for v in (v.strip() for v in value):
            if v and v not in seen:
                seen.append(v)
        return seen

    def choice(self, field: str, allowed: dict[str, str], *, required: str) -> str:
        value = self.text(field, 40).lower()
        if not value:
            self.error(field, required)
        elif value not in allowed:
            self.error(field, f"“{value}” is not one of: {', '.join(allowed)}.")
        return value

    def choices(self, field: str, allowed: dict[str, str], noun: str) -> list[str]:
        values = [v.lower() for v in self.items(field)]
        unknown = [v for v in values if v not in allowed]
        if unknown:
            self.error(field, f"Unknown {noun}: {', '.join(unknown)}. Choose from: {', '.join(allowed)}.")
        return [v for v in allowed if v in values]  # vocabulary order

    def boolean(self, field: str) -> bool:
        value = self.raw.get(field)
        if isinstance(value, list):
            value = value[-1] if value else ""
        if value is None or isinstance(value, bool):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        self.error(field, "Answer yes or no (true or false).")
        return False

    def integer(self, field: str, *, default: int, low: int, high: int) -> int:
        value = self.raw.get(field)
        if isinstance(value, list):
            value = value[0] if value else ""
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(str(value).strip()) if isinstance(value, str) else int(value)
        except (TypeError, ValueError):
            self.error(field, "Enter a whole number, for example 2.")
            return default
        if not low <= number <= high:
            self.error(field, f"Enter a number from {low} to {high}.")
        return number

    def money(self, field: str, *, required: str) -> Decimal | None:
        value = self.raw.get(field)
        if isinstance(value, list):
            value = value[0] if value else ""
        if value is None or (isinstance(value, str) and not value.strip()):
            self.error(field, required)
            return None
        if isinstance(value, bool):
            self.error(field, "Enter an amount in dollars, for example 23.50.")
            return None
        text = str(value).strip().replace("$", "").replace(",", "").strip()
        try:
            amount = Decimal(text)
        except InvalidOperation:
            self.error(field, "Enter an amount in dollars, for example 23.50.")
            return None
        if not amount.is_finite() or amount <= 0:
            self.error(field, "Enter an amount above zero.")
            return None
        if amount != amount.quantize(Decimal("0.01")):
            self.error(field, "Use dollars and cents, at most two decimal places (for example 23.50).")
            return None
        return amount.quantize(Decimal("0.01"))


def _us_today() -> dt.date:
    # The latest US time zone is about UTC-10; a date that is still today there is not in the past.
    return (clock.now() - dt.timedelta(hours=10)).date()


async def validate_listing(raw: dict[str, Any], *, credentials: dict[str, str] | None = None,
                           today: dt.date | None = None) -> ListingInput:
    """Check every field of a listing (from the form, an import line or seed-demo) and derive its facts.

    Raises ListingInvalid with every field's message at once. Credentials are matched case-insensitively
    (aliases too) against the taxonomy table and stored as their codes; the ZIP is resolved offline.
    """
    credentials = credentials if credentials is not None else await credential_lookup()
    today = today or _us_today()
    r = _Reader(raw)

    title = r.text("title", TITLE_MAX, required="Enter the job title.")
    if title and len(title) < 3:
        r.error("title", "Use a job title of at least 3 characters.")
    description = r.text("description", DESCRIPTION_MAX, required="Describe the job: duties, schedule, systems used.")

    creds: dict[str, list[str]] = {}
    for kind in CredentialKind:
        field = f"credentials_{kind.value}"
        codes, unknown = [], []
        for value in r.items(field):
            code = credentials.get(value.upper())
            if code is None:
                unknown.append(value)
            elif code not in codes:
                codes.append(code)
        if unknown:
            r.error(field, f"Unknown credential: {', '.join(unknown)}. Use codes such as CPC, CCS or CCS-P.")
        creds[kind.value] = codes
    both = [c for c in creds["required"] if c in creds["any_of"] or c in creds["preferred"]]
    if both:
        r.error("credentials_required",
                f"{', '.join(both)} cannot be required and also listed as any-of or preferred; choose one.")
    both = [c for c in creds["any_of"] if c in creds["preferred"]]
    if both:
        r.error("credentials_any_of", f"{', '.join(both)} cannot be both any-of and preferred; choose one.")

    settings = r.choices("settings", vocab.SETTINGS, "setting")
    specialties = r.choices("specialties", vocab.SPECIALTIES, "specialty")
    code_sets = r.choices("code_sets", vocab.CODE_SETS, "code set")
    work_mode = r.choice("work_mode", vocab.WORK_MODES, required="Choose remote, hybrid or on-site.")

    zip_code = r.text("zip", 10)
    place = None
    if zip_code:
        place = resolve_zip(zip_code)
        if place is None:
            r.error("zip", f"We do not know the US ZIP code “{zip_code}”. Enter a 5-digit ZIP such as 02110.")
    elif work_mode and work_mode != "remote":
        r.error("zip", "Enter the ZIP code of the workplace (only a remote job may leave it out).")

    remote_states = sorted({s.upper() for s in r.items("remote_states")})
    unknown_states = [s for s in remote_states if s not in vocab.US_STATES]
    if unknown_states:
        r.error("remote_states", f"Unknown state code: {', '.join(unknown_states)}. Use two-letter codes such as CA.")
    elif remote_states and work_mode and work_mode != "remote":
        r.error("remote_states", "Only a remote job limits the states its coders may live in; clear these states.")

    employment_type = r.choice("employment_type", vocab.EMPLOYMENT_TYPES,
                               required="Choose full time, part time, contract, temporary or per diem.")
    min_years = r.integer("min_years", default=0, low=0, high=40)
    entry_level_ok = r.boolean("entry_level_ok")

    pay_unit = r.choice("pay_unit", vocab.PAY_UNITS, required="Choose per hour, per year or per chart.")
    pay_min = r.money("pay_min", required="Enter the lowest pay (pay-transparency laws require a range).")
    pay_max = r.money("pay_max", required="Enter the highest pay (the same as the lowest for a fixed rate).")
    limit = PAY_LIMITS.get(pay_unit)
    for field, amount in (("pay_min", pay_min), ("pay_max", pay_max)):
        if amount is None or limit is None:
            continue
        if amount > limit:
            hint = " Did you mean per year?" if pay_unit == "hour" else ""
            r.error(field, f"That is more than ${limit:,.0f} {vocab.PAY_UNITS[pay_unit]}.{hint}")
        elif pay_unit == "year" and amount < 1000:
            r.error(field, "That is under $1,000 a year. Did you mean per hour?")
    if pay_min is not None and pay_max is not None and pay_min > pay_max:
        r.error("pay_max", "The highest pay must be at least the lowest pay.")

    benefits = r.text("benefits", BENEFITS_MAX)
    deadline = None
    deadline_text = r.text("application_deadline", 40)
    if deadline_text:
        try:
            deadline = dt.date.fromisoformat(deadline_text[:10]) if len(deadline_text) >= 10 else None
            if deadline is None:
                raise ValueError
        except ValueError:
            r.error("application_deadline", "Enter a date as YYYY-MM-DD, for example 2027-03-31.")
        else:
            if deadline < today:
                r.error("application_deadline", "The application deadline is in the past.")
    apply_url = r.text("apply_url", URL_MAX)
    if apply_url:
        parsed = urlparse(apply_url)
        if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname or any(c.isspace() for c in apply_url):
            r.error("apply_url", "Enter a web address starting with https:// (or http://).")
    requisition_id = r.text("requisition_id", REQUISITION_MAX)

    if r.errors:
        ordered = {f: r.errors[f] for f in LISTING_FIELDS if f in r.errors}
        ordered.update(r.errors)
        raise ListingInvalid(ordered)
    assert pay_min is not None and pay_max is not None
    return ListingInput(
        title=title,
        description=description,
        credentials_required=creds["required"],
        credentials_any_of=creds["any_of"],
        credentials_preferred=creds["preferred"],
        settings=settings,
        specialties=specialties,
        code_sets=code_sets,
        work_mode=work_mode,
        zip=place["zip"] if place else "",
        remote_states=remote_states if work_mode == "remote" else [],
        employment_type=employment_type,
        min_years=min_years,
        entry_level_ok=entry_level_ok,
        pay_min=pay_min,
        pay_max=pay_max,
        pay_unit=pay_unit,
        benefits=benefits,
        application_deadline=deadline,
        apply_url=apply_url,
        requisition_id=requisition_id,
        normalised_title=normalise_title(title),
        description_html=render_markdown(description),
        city=place["city"] if place else "",
        state=place["state"] if place else "",
        lat=place["lat"] if place else None,
        lng=place["lng"] if place else None,
        pay_annual_min=vocab.annualise(pay_min, pay_unit),
        pay_annual_max=vocab.annualise(pay_max, pay_unit),
    )


def _columns(data: ListingInput) -> dict:
    """The listing row's columns for validated input."""
    return {
        Listing.title: data.title,
        Listing.slug: listing_slug(data.title, data.city, data.state, data.work_mode),
        Listing.normalised_title: data.normalised_title,
        Listing.description_md: data.description,
        Listing.description_html: data.description_html,
        Listing.work_mode: data.work_mode,
        Listing.zip: data.zip,
        Listing.city: data.city,
        Listing.state: data.state,
        Listing.lat: data.lat,
        Listing.lng: data.lng,
        Listing.employment_type: data.employment_type,
        Listing.min_years: data.min_years,
        Listing.entry_level_ok: data.entry_level_ok,
        Listing.pay_min: data.pay_min,
        Listing.pay_max: data.pay_max,
        Listing.pay_unit: data.pay_unit,
        Listing.pay_annual_min: data.pay_annual_min,
        Listing.pay_annual_max: data.pay_annual_max,
        Listing.benefits: data.benefits,
        Listing.application_deadline: data.application_deadline,
        Listing.apply_url: data.apply_url,
        Listing.requisition_id: data.requisition_id,
    }


async def _write_details(listing_id: int, data: ListingInput) -> None:
    """Replace the listing's join-table rows (credentials, settings, specialties, code sets, remote states)."""
    for table in (ListingCredential, ListingSetting, ListingSpecialty, ListingCodeSet, ListingRemoteState):
        await table.delete().where(table.listing == listing_id)
    creds = [ListingCredential(listing=listing_id, credential=code, kind=kind.value)
             for kind in CredentialKind for code in getattr(data, f"credentials_{kind.value}")]
    for table, values in ((ListingSetting, data.settings), (ListingSpecialty, data.specialties),
                          (ListingCodeSet, data.code_sets), (ListingRemoteState, data.remote_states)):
        if values:
            await table.insert(*[table(listing=listing_id, value=v) for v in values])
    if creds:
        await ListingCredential.insert(*creds)


def _location_key(work_mode: str, zip_code: str, remote_states: list[str]) -> tuple:
    # A remote job's place is the set of states it hires from; any other job's place is its ZIP.
    if work_mode == "remote":
        return ("remote", tuple(sorted(remote_states)))
    return ("zip", zip_code)


async def find_duplicate(employer_id: int, data: ListingInput, *, exclude_id: int | None = None) -> Listing | None:
    """A live listing of the same employer with the same normalised title and place, unless requisition ids differ."""
    query = Listing.objects().where(
        (Listing.employer == employer_id)
        & (Listing.normalised_title == data.normalised_title)
        & Listing.status.is_in(list(LIVE_FOR_DUPLICATES))
    )
    if exclude_id is not None:
        query = query.where(Listing.id != exclude_id)
    wanted = _location_key(data.work_mode, data.zip, data.remote_states)
    for other in await query.order_by(Listing.id):
        if data.requisition_id and other.requisition_id and data.requisition_id != other.requisition_id:
            continue
        states = []
        if other.work_mode == "remote":
            states = [r["value"] for r in await ListingRemoteState.select(ListingRemoteState.value).where(
                ListingRemoteState.listing == other.id)]
        if _location_key(other.work_mode, other.zip, states) == wanted:
            return other
    return None


async def _lock_employer(employer_id: int) -> None:
    """Serialise one employer's listing writes on PostgreSQL, so the duplicate guard's check-then-insert holds
    against a double-submitted form. Taken before any listing row, the order a suspension locks them in."""
    if not db.is_sqlite():  # SQLite's IMMEDIATE transaction already serialises writers
        await db.fetch("SELECT id FROM employers WHERE id = {} FOR UPDATE", employer_id)


async def _ensure_not_duplicate(employer_id: int, data: ListingInput, exclude_id: int | None = None) -> None:
    other = await find_duplicate(employer_id, data, exclude_id=exclude_id)
    if other is not None:
        raise ListingInvalid({"title": (
            f"This duplicates your listing #{other.id} “{other.title}” ({STATE_LABELS[other.status].lower()}) "
            "at the same place. Edit that listing instead, or give each a different requisition ID."
        )})


async def create_listing(employer_id: int, data: ListingInput, *, created_by: int | None = None,
                         actor_kind: str = "employer", duration_days: int = 30,
                         expires_at: dt.datetime | None = None) -> Listing:
    """Save a new draft (after the duplicate guard), its join rows and a "created" event, in one transaction."""
    async with db.transaction():
        await _lock_employer(employer_id)
        await _ensure_not_duplicate(employer_id, data)
        now = clock.now()
        values = {col._meta.name: value for col, value in _columns(data).items()}
        listing = Listing(employer=employer_id, created_by=created_by, status=DRAFT, duration_days=duration_days,
                          expires_at=expires_at, created_at=now, updated_at=now, **values)
        await listing.save()
        await _write_details(listing.id, data)
        await record_event(listing.id, "", DRAFT, actor_kind, created_by, "created")
    return await Listing.objects().get(Listing.id == listing.id)


def _reviewed_changes(listing: Listing, data: ListingInput) -> list[str]:
    changed = []
    if listing.title != data.title:
        changed.append("title")
    if listing.description_md != data.description:
        changed.append("description")
    if (Decimal(str(listing.pay_min)) != data.pay_min or Decimal(str(listing.pay_max)) != data.pay_max
            or listing.pay_unit != data.pay_unit):
        changed.append("pay")
    return changed


async def update_listing(listing_id: int, data: ListingInput, *, actor_kind: str = "employer",
                         actor_id: int | None = None) -> Listing:
    """Save an edit in one transaction.

    An edit of a published listing is re-indexed (search-outbox row); when an unverified employer changes
    its title, description or pay, the listing goes back to review (published -> in_review) instead.
    """
    async with db.transaction():
        owner = await Listing.select(Listing.employer).where(Listing.id == listing_id).first()
        if owner is not None:
            await _lock_employer(owner["employer"])
        listing = await _locked(listing_id)
        if listing.status not in EDITABLE_STATES:
            raise ListingError(f"A listing that is {STATE_LABELS[listing.status].lower()} cannot be edited; "
                               "clone it into a new draft instead.")
        await _ensure_not_duplicate(listing.employer, data, exclude_id=listing_id)
        changed = _reviewed_changes(listing, data)
        await Listing.update({**_columns(data), Listing.updated_at: clock.now()}).where(Listing.id == listing_id)
        await _write_details(listing_id, data)
        await record_event(listing_id, listing.status, listing.status, actor_kind, actor_id, "edited")
        if listing.status == PUBLISHED:
            verified = (await Employer.select(Employer.verified).where(Employer.id == listing.employer).first() or
                        {}).get("verified", False)
            if actor_kind == "employer" and changed and not verified:
                await transition(listing_id, IN_REVIEW, actor_kind="employer", actor_id=actor_id,
                                 reason="edited " + ", ".join(changed) + "; back to review")
            else:
                await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": listing_id})
    return await Listing.objects().get(Listing.id == listing_id)


async def listing_details(listing_id: int) -> dict[str, list[str]]:
    """The listing's multi-valued fields, by vocabulary name."""
    details: dict[str, list[str]] = {f"credentials_{k.value}": [] for k in CredentialKind}
    for row in await ListingCredential.select(ListingCredential.credential, ListingCredential.kind).where(
            ListingCredential.listing == listing_id).order_by(ListingCredential.id):
        details.setdefault(f"credentials_{row['kind']}", []).append(row["credential"])
    for name, table, order in (("settings", ListingSetting, vocab.SETTINGS),
                               ("specialties", ListingSpecialty, vocab.SPECIALTIES),
                               ("code_sets", ListingCodeSet, vocab.CODE_SETS),
                               ("remote_states", ListingRemoteState, vocab.US_STATES)):
        values = {r["value"] for r in await table.select(table.value).where(table.listing == listing_id)}
        details[name] = [v for v in order if v in values]
    return details


def listing_values(listing: Listing, details: dict[str, list[str]]) -> dict[str, Any]:
    """The listing in the vocabulary's field names (the form's prefill, the importer's and the API's shape)."""
    return {
        "title": listing.title,
        "description": listing.description_md,
        **details,
        "work_mode": listing.work_mode,
        "zip": listing.zip,
        "employment_type": listing.employment_type,
        "min_years": listing.min_years,
        "entry_level_ok": listing.entry_level_ok,
        "pay_min": Decimal(str(listing.pay_min)).quantize(Decimal("0.01")),
        "pay_max": Decimal(str(listing.pay_max)).quantize(Decimal("0.01")),
        "pay_unit": listing.pay_unit,
        "benefits": listing.benefits,
        "application_deadline": listing.application_deadline,
        "apply_url": listing.apply_url,
        "requisition_id": listing.requisition_id,
    }


async def clone_listing(listing_id: int, *, actor_id: int | None = None) -> Listing:
    """A new draft with the same content; the requisition id is cleared and a past deadline dropped.

    If the copy would duplicate a live listing, its title gets " (copy)" so the employer can tell them apart.
    """
    listing = await Listing.objects().get(Listing.id == listing_id)
    values = listing_values(listing, await listing_details(listing_id))
    values["requisition_id"] = ""
    if values["application_deadline"] and values["application_deadline"] < _us_today():
        values["application_deadline"] = None
    values["application_deadline"] = values["application_deadline"].isoformat() if values["application_deadline"] else ""
    values["pay_min"], values["pay_max"] = str(values["pay_min"]), str(values["pay_max"])
    base_title = values["title"]
    for attempt in range(1, 6):
        data = await validate_listing(values)
        try:
            return await create_listing(listing.employer, data, created_by=actor_id,
                                        duration_days=listing.duration_days)
        except ListingInvalid as exc:
            if "duplicates your listing" not in exc.errors.get("title", ""):
                raise
            suffix = " (copy)" if attempt == 1 else f" (copy {attempt})"
            values["title"] = (base_title[: TITLE_MAX - len(suffix)] + suffix)
    raise ListingError("This listing has been copied too many times already; edit one of the copies.")


# ---- ownership, counters and employer actions --------------------------------------------


async def employer_ids_for_user(user_id: int) -> list[int]:
    rows = await EmployerMember.select(EmployerMember.employer).where(EmployerMember.user == user_id)
    return [r["employer"] for r in rows]


async def listing_for_member(listing_id: int, user_id: int) -> Listing | None:
    """The listing if `user_id` is a member of the employer that owns it; else None (pages answer 404)."""
    employer_ids = await employer_ids_for_user(user_id)
    if not employer_ids:
        return None
    return await Listing.objects().where((Listing.id == listing_id) & Listing.employer.is_in(employer_ids)).first()


async def count_view(listing_id: int) -> None:
    await Listing.update({Listing.views: Listing.views + 1}).where(Listing.id == listing_id)


async def count_apply_click(listing_id: int) -> None:
    """One click on a listing's apply call-to-action (internal apply form or the external link)."""
    await Listing.update({Listing.apply_clicks: Listing.apply_clicks + 1}).where(Listing.id == listing_id)


async def close_listing(listing_id: int, *, actor_id: int | None = None, reason: str = "filled") -> Listing:
    """The employer marks a published listing filled or closed: it leaves the site and search."""
    return await transition(listing_id, CLOSED, actor_kind="employer", actor_id=actor_id, reason=reason)


async def publish_without_payment(listing_id: int, *, admin_id: int | None = None,
                                  reason: str = "published without payment by an admin",
                                  now: dt.datetime | None = None) -> Listing:
    """The admin's way to publish a draft before (or without) billing: draft -> published."""
    return await transition(listing_id, PUBLISHED, actor_kind="admin", actor_id=admin_id, reason=reason, now=now)


async def listing_events(listing_id: int) -> list[dict]:
    return await ListingEvent.select(
        ListingEvent.id, ListingEvent.actor_kind, ListingEvent.from_status, ListingEvent.to_status,
        ListingEvent.reason, ListingEvent.created_at,
    ).where(ListingEvent.listing == listing_id).order_by(ListingEvent.id)


# ---- admin import ---------------------------------------------------------------------


async def import_listing(employer_id: int, data: ListingInput, *, expires_at: dt.datetime | None = None,
                         now: dt.datetime | None = None) -> tuple[Listing, str]:
    """An admin import of one listing: published without payment, 30 days unless `expires_at` is given.

    The same employer and requisition id updates that listing instead of adding another (a listing that
    has already expired, closed or been removed stays as it is and a new one is posted); returns the
    listing and what happened ("created", "updated").
    """
    now = now or clock.now()
    async with db.transaction():
        existing = None
        if data.requisition_id:
            existing = await Listing.objects().where(
                (Listing.employer == employer_id) & (Listing.requisition_id == data.requisition_id)
            ).order_by(Listing.id, ascending=False).first()
        if existing is not None and existing.status in EDITABLE_STATES:
            listing = await update_listing(existing.id, data, actor_kind="admin")
            if expires_at is not None and listing.expires_at != expires_at:
                await Listing.update({Listing.expires_at: expires_at, Listing.expiry_warned_at: None}).where(
                    Listing.id == listing.id)
                if listing.status == PUBLISHED:
                    await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": listing.id})
            if listing.status == DRAFT:
                listing = await publish_without_payment(listing.id, reason="admin import", now=now)
            return await Listing.objects().get(Listing.id == listing.id), "updated"
        listing = await create_listing(employer_id, data, actor_kind="admin", expires_at=expires_at)
        listing = await publish_without_payment(listing.id, reason="admin import", now=now)
        return listing, "created"


# ---- expiry warnings ------------------------------------------------------------------

EXPIRY_WARNING = dt.timedelta(days=3)


async def warn_expiring(settings, now: dt.datetime | None = None) -> list[int]:
    """Mail every member of the employer once, 3 days before a published listing expires, with a renew link."""
    from careers.accounts.tables import User

    now = now or clock.now()
    due = await Listing.select(Listing.id).where(
        (Listing.status == PUBLISHED) & (Listing.expires_at > now) & (Listing.expires_at <= now + EXPIRY_WARNING)
        & Listing.expiry_warned_at.is_null()
    ).order_by(Listing.expires_at).limit(PERIODIC_BATCH)
    warned = []
    for row in due:
        async with db.transaction():
            # The conditional update is the "once": a second worker pass (or worker) finds nothing to claim.
            claimed = await Listing.update({Listing.expiry_warned_at: now}).where(
                (Listing.id == row["id"]) & Listing.expiry_warned_at.is_null() & (Listing.status == PUBLISHED)
            ).returning(Listing.id, Listing.title, Listing.employer, Listing.expires_at)
            if not claimed:
                continue
            listing = claimed[0]
            members = await EmployerMember.select(EmployerMember.user).where(
                EmployerMember.employer == listing["employer"])
            emails = [u["email"] for u in await User.select(User.email).where(
                User.id.is_in([m["user"] for m in members]) & (User.login_disabled == False))  # noqa: E712
            ] if members else []
            expires = listing["expires_at"]
            when = expires.strftime("%B %-d, %Y") if isinstance(expires, dt.datetime) else str(expires)
            base = settings.base_url.rstrip("/")
            for email in emails:
                await mail.queue_mail(
                    email,
                    f"Your listing “{listing['title']}” expires on {when}",
                    f"Your job listing “{listing['title']}” on CareerCenter expires on {when} (UTC).\n\n"
                    f"Renew it to keep it on the site and in search (the new period starts when the current one ends):\n"
                    f"{base}/employer/listings/{listing['id']}/publish\n\n"
                    f"Manage the listing: {base}/employer/listings/{listing['id']}\n",
                )
            warned.append(listing["id"])
    return warned


# ---- what pages show (plain words from the vocabulary) ------------------------------------


def money(amount: Decimal | float | int, unit: str) -> str:
    """$23.50 for hourly and per-chart pay; $52,000 for yearly pay (cents only when there are any)."""
    amount = Decimal(str(amount))
    if unit == "year" and amount == amount.to_integral_value():
        return f"${amount:,.0f}"
    return f"${amount:,.2f}"


def pay_text(pay_min, pay_max, unit: str) -> str:
    low, high = money(pay_min, unit), money(pay_max, unit)
    label = vocab.PAY_UNITS.get(unit, unit)
    return f"{low} {label}" if low == high else f"{low} – {high} {label}"


def _date_text(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%B} {value.day}, {value.year}"


def location_text(work_mode: str, city: str, state: str, zip_code: str, remote_states: list[str]) -> str:
    if work_mode == "remote":
        if not remote_states:
            where = "open to residents of all US states"
        else:
            where = "open to residents of " + ", ".join(vocab.US_STATES.get(s, s) for s in remote_states)
        return f"Remote — {where}"
    place = f"{city}, {state} {zip_code}".strip() if city else zip_code
    return f"{vocab.WORK_MODES.get(work_mode, work_mode)} in {place}"


def listing_path(listing: Listing) -> str:
    return f"/jobs/{listing.id}/{listing.slug}"


def listing_view(listing: Listing, details: dict[str, list[str]], employer, names: dict[str, str]) -> dict[str, Any]:
    """Every fact of a listing in plain language, for the listing page and its preview."""

    def creds(kind: str) -> list[dict]:
        return [{"code": c, "name": names.get(c, c)} for c in details.get(f"credentials_{kind}", [])]

    annual = ""
    if listing.pay_unit == "hour" and listing.pay_annual_min is not None:
        low, high = f"${listing.pay_annual_min:,}", f"${listing.pay_annual_max:,}"
        annual = f"about {low} a year" if low == high else f"about {low} – {high} a year"
    years = listing.min_years or 0
    return {
        "id": listing.id,
        "path": listing_path(listing),
        "title": listing.title,
        "status": listing.status,
        "status_label": STATE_LABELS.get(listing.status, listing.status),
        "employer_name": employer.name,
        "employer_path": f"/employers/{employer.slug}",
        "employer_verified": bool(employer.verified),
        "location": location_text(listing.work_mode, listing.city, listing.state, listing.zip,
                                  details.get("remote_states", [])),
        "work_mode": vocab.WORK_MODES.get(listing.work_mode, listing.work_mode),
        "remote_states": [vocab.US_STATES.get(s, s) for s in details.get("remote_states", [])],
        "employment_type": vocab.EMPLOYMENT_TYPES.get(listing.employment_type, listing.employment_type),
        "pay": pay_text(listing.pay_min, listing.pay_max, listing.pay_unit),
        "pay_annual": annual,
        "credentials_required": creds("required"),
        "credentials_any_of": creds("any_of"),
        "credentials_preferred": creds("preferred"),
        "settings": [vocab.SETTINGS.get(v, v) for v in details.get("settings", [])],
        "specialties": [vocab.SPECIALTIES.get(v, v) for v in details.get("specialties", [])],
        "code_sets": [vocab.CODE_SETS.get(v, v) for v in details.get("code_sets", [])],
        "experience": (f"At least {years} year{'s' if years != 1 else ''} of coding experience" if years
                       else "No minimum experience"),
        "entry_level": ("Entry-level coders and apprentices (CPC-A) are welcome to apply" if listing.entry_level_ok
                        else ""),
        "benefits": listing.benefits,
        "deadline": _date_text(listing.application_deadline),
        "posted": _date_text(listing.published_at),
        "expires": _date_text(listing.expires_at),
        "requisition_id": listing.requisition_id,
        "description_html": listing.description_html,
        "apply_external": bool(listing.apply_url),
        "apply_host": (urlparse(listing.apply_url).hostname or "") if listing.apply_url else "",
        "featured": bool(listing.featured),
    }
