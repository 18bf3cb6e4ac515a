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
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlparse

from careers.core import clock, db, filters, forms, geo, mail, outbox
from careers.core.errors import Conflict, DomainError, Invalid, NotFound
from careers.core.forms import FormErrors
from careers.core.text import render_markdown, slugify
from employers.tables import Employer, EmployerMember
from listings import screening
from listings import vocabulary as vocab
from listings.schemas import (  # noqa: F401 - the limits are part of this module's interface
    BENEFITS_MAX,
    DESCRIPTION_MAX,
    LISTING_FIELDS,
    REQUISITION_MAX,
    TITLE_MAX,
    URL_MAX,
    ListingForm,
    ListingInput,
)
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

DRAFT, AWAITING, IN_REVIEW, PUBLISHED, REJECTED, EXPIRED, CLOSED, REMOVED = S

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


class ListingError(DomainError):
    """A listing rule was broken; pages show `message` plainly (a conflict with the listing's state)."""


class IllegalTransition(ListingError, Conflict):
    pass


class ListingNotFound(ListingError, NotFound):
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
    return await db.locked_row(Listing, Listing.id == listing_id, ListingNotFound("That listing does not exist."))


def snapshot(listing: Listing) -> dict:
    """The fields an admin approves, kept to show a diff when an edit comes back for review."""
    return {
        "title": listing.title,
        "description_md": listing.description_md,
        "pay_min": str(listing.pay_min),
        "pay_max": str(listing.pay_max),
        "pay_unit": listing.pay_unit,
        "apply_url": listing.apply_url,
        "work_mode": listing.work_mode,
        "zip": listing.zip,
        "screening_questions": screening.summary(listing.screening_questions),
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
            changes.update(confirmed_changes(now))  # publishing is a confirmation that the job is open
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
                              Listing.updated_at: now, **confirmed_changes(now)}).where(Listing.id == listing_id)
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


def confirmed_changes(now: dt.datetime) -> dict:
    """The columns an employer's confirmation that the job is open sets (publishing, renewing, reconfirming):
    a new 14-day period with no reminder sent yet, and no pause."""
    return {Listing.confirmed_at: now, Listing.paused: False, Listing.reconfirm_reminded_at: None}


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


def is_public(listing: Listing | Mapping[str, Any]) -> bool:
    """The one visibility rule for a listing row (a Listing or a selected dict): published, not hidden (reports,
    disputes) and not paused (unconfirmed for 21 days, `listings.liveness`).

    `public_where()` and `public_sql()` are the same rule as query conditions; change all three together."""
    if isinstance(listing, Mapping):
        return listing["status"] == PUBLISHED and not listing["hidden"] and not listing["paused"]
    return listing.status == PUBLISHED and not listing.hidden and not listing.paused


def is_withheld(listing: Listing | Mapping[str, Any]) -> bool:
    """Kept from the public whatever its state: hidden or paused (a gone listing's 410 page is not shown either)."""
    if isinstance(listing, Mapping):
        return bool(listing["hidden"] or listing["paused"])
    return bool(listing.hidden or listing.paused)


def public_where():
    """The query condition of `is_public`: the listings a visitor may see, search may index and feeds may list."""
    return (Listing.status == PUBLISHED) & (Listing.hidden == False) & (Listing.paused == False)  # noqa: E712


def public_sql(alias: str = "l") -> tuple[list[str], list[Any]]:
    """`is_public` as raw SQL conditions (ANDed, `{}` placeholders) over the listings table named `alias`."""
    conditions = [f"{alias}.status = {{}}", f"{alias}.hidden = {{}}", f"{alias}.paused = {{}}"]
    return conditions, [PUBLISHED.value, False, False]


# =====================================================================================
# Listing content: validation, creation, editing, cloning (one vocabulary for the form,
# the importer and seed-demo).
# =====================================================================================

LIVE_FOR_DUPLICATES = frozenset({DRAFT, AWAITING, IN_REVIEW, PUBLISHED})
EDITABLE_STATES = frozenset({DRAFT, AWAITING, IN_REVIEW, PUBLISHED})
GONE_STATES = frozenset({EXPIRED, CLOSED, REMOVED})  # the public page answers 410
REVIEWED_FIELDS = ("title", "description", "pay")  # an unverified employer's edit of these goes back to review
PAY_LIMITS = {"hour": Decimal("1000"), "year": Decimal("10000000"), "chart": Decimal("1000")}
_ZIP_RE = re.compile(r"^(\d{5})(?:-\d{4})?$")


class ListingInvalid(ListingError, Invalid):
    """One or more fields are wrong; `errors` maps each field to a message for the person."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(fields=errors)
        self.errors = self.fields


def normalise_title(title: str) -> str:
    """Lower-case ASCII words separated by single spaces: "Sr. Coder – CPC" and "sr coder cpc" are the same."""
    value = unicodedata.normalize("NFKD", title or "").encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", value).strip()[:TITLE_MAX]


def listing_slug(title: str, city: str, state: str, work_mode: str) -> str:
    """Title plus place ("remote" or city and state): never a bare word like "apply" that a route uses."""
    place = "remote" if work_mode == "remote" else f"{city} {state}"
    words = [part for part in (slugify(title, max_length=160), slugify(place)) if part]
    return "-".join(words)[:220].strip("-") or "job"


# The credential taxonomy is reference data that changes only through migrations (run before the web starts):
# each process reads it once and keeps it; `forget_taxonomy()` drops the copy (call it after changing the table),
# and the copy also lapses after TAXONOMY_TTL so a hand edit in the database shows up without a restart.
TAXONOMY_TTL = dt.timedelta(minutes=10)
_taxonomy: tuple[dt.datetime, list[dict]] | None = None


def forget_taxonomy() -> None:
    """Drop this process's copy of the credential taxonomy; the next reader loads it again."""
    global _taxonomy
    _taxonomy = None


async def _credential_rows() -> list[dict]:
    global _taxonomy
    now = clock.now()
    if _taxonomy is None or not (_taxonomy[0] <= now < _taxonomy[0] + TAXONOMY_TTL):
        rows = await Credential.select(Credential.id, Credential.code, Credential.full_name, Credential.issuing_body,
                                       Credential.active, Credential.aliases).order_by(Credential.id)
        for row in rows:
            aliases = row["aliases"]
            row["aliases"] = aliases if isinstance(aliases, list) else json.loads(aliases or "[]")
        _taxonomy = (now, rows)
    return _taxonomy[1]


async def credential_lookup() -> dict[str, str]:
    """Upper-cased code or alias -> the credential's code, from the taxonomy table."""
    rows = await _credential_rows()
    lookup: dict[str, str] = {}
    for row in rows:
        for alias in row["aliases"]:
            lookup[str(alias).strip().upper()] = row["code"]
    for row in rows:  # a real code always wins over an alias
        lookup[row["code"].upper()] = row["code"]
    return lookup


async def credential_names() -> dict[str, str]:
    return {r["code"]: r["full_name"] for r in await _credential_rows()}


async def credential_choices() -> list[dict]:
    """Credentials for forms: code and full name, grouped by issuing body order."""
    return [{"code": r["code"], "full_name": r["full_name"], "issuing_body": r["issuing_body"]}
            for r in await _credential_rows() if r["active"]]


def _us_today() -> dt.date:
    # The latest US time zone is about UTC-10; a date that is still today there is not in the past.
    return (clock.now() - dt.timedelta(hours=10)).date()


def _check_credentials(form: ListingForm, lookup: dict[str, str], errors: FormErrors) -> dict[str, list[str]]:
    """Codes and aliases -> taxonomy codes per kind; unknown ones and a code in two kinds are reported."""
    creds: dict[str, list[str]] = {}
    for kind in CredentialKind:
        field = f"credentials_{kind.value}"
        codes, unknown = [], []
        for value in getattr(form, field):
            code = lookup.get(value.upper())
            if code is None:
                unknown.append(value)
            elif code not in codes:
                codes.append(code)
        if unknown:
            errors.add(field, f"Unknown credential: {', '.join(unknown)}. Use codes such as CPC, CCS or CCS-P.")
        creds[kind.value] = codes
    both = [c for c in creds["required"] if c in creds["any_of"] or c in creds["preferred"]]
    if both:
        errors.add("credentials_required",
                   f"{', '.join(both)} cannot be required and also listed as any-of or preferred; choose one.")
    both = [c for c in creds["any_of"] if c in creds["preferred"]]
    if both:
        errors.add("credentials_any_of", f"{', '.join(both)} cannot be both any-of and preferred; choose one.")
    return creds


def _check_place(form: ListingForm, errors: FormErrors) -> dict | None:
    """The workplace from its ZIP (required unless remote); remote states only for a remote job."""
    place = None
    if form.zip:
        found = geo.lookup_zip(form.zip)
        if found is not None:
            place = {"zip": found.zip, "city": found.city, "state": found.state, "lat": found.lat, "lng": found.lng}
        else:
            errors.add("zip", f"We do not know the US ZIP code “{form.zip}”. Enter a 5-digit ZIP such as 02110.")
    elif form.work_mode and form.work_mode != "remote":
        errors.add("zip", "Enter the ZIP code of the workplace (only a remote job may leave it out).")
    if form.remote_states and form.work_mode and form.work_mode != "remote":
        errors.add("remote_states", "Only a remote job limits the states its coders may live in; clear these states.")
    return place


def _check_pay(form: ListingForm, errors: FormErrors) -> None:
    """Each amount plausible for its unit (a typo'd unit is the usual mistake), and lowest <= highest."""
    limit = PAY_LIMITS.get(form.pay_unit)
    for field, amount in (("pay_min", form.pay_min), ("pay_max", form.pay_max)):
        if amount is None or limit is None:
            continue
        if amount > limit:
            hint = " Did you mean per year?" if form.pay_unit == "hour" else ""
            errors.add(field, f"That is more than ${limit:,.0f} {vocab.PAY_UNITS[form.pay_unit]}.{hint}")
        elif form.pay_unit == "year" and amount < 1000:
            errors.add(field, "That is under $1,000 a year. Did you mean per hour?")
    if form.pay_min is not None and form.pay_max is not None and form.pay_min > form.pay_max:
        errors.add("pay_max", "The highest pay must be at least the lowest pay.")


def _check_dates_and_links(form: ListingForm, today: dt.date, errors: FormErrors) -> None:
    if form.application_deadline is not None and form.application_deadline < today:
        errors.add("application_deadline", "The application deadline is in the past.")
    if form.apply_url:
        parsed = urlparse(form.apply_url)
        if (parsed.scheme.lower() not in ("http", "https") or not parsed.hostname
                or any(c.isspace() for c in form.apply_url)):
            errors.add("apply_url", "Enter a web address starting with https:// (or http://).")


async def validate_listing(raw: Mapping[str, Any], *, credentials: dict[str, str] | None = None,
                           today: dt.date | None = None) -> ListingInput:
    """Check every field of a listing (from the form, an import line or seed-demo) and derive its facts.

    Raises ListingInvalid with every field's message at once. Credentials are matched case-insensitively
    (aliases too) against the taxonomy table and stored as their codes; the ZIP is resolved offline.
    """
    credentials = credentials if credentials is not None else await credential_lookup()
    form, errors = forms.read(ListingForm, raw)
    creds = _check_credentials(form, credentials, errors)
    place = _check_place(form, errors)
    _check_pay(form, errors)
    _check_dates_and_links(form, today or _us_today(), errors)
    questions = screening.validate(raw, errors)
    if errors:
        raise ListingInvalid(errors.ordered(LISTING_FIELDS))
    assert form.pay_min is not None and form.pay_max is not None
    place = place or {"zip": "", "city": "", "state": "", "lat": None, "lng": None}
    return ListingInput(
        title=form.title,
        description=form.description,
        credentials_required=creds["required"],
        credentials_any_of=creds["any_of"],
        credentials_preferred=creds["preferred"],
        settings=form.settings,
        specialties=form.specialties,
        code_sets=form.code_sets,
        work_mode=form.work_mode,
        zip=place["zip"],
        remote_states=form.remote_states if form.work_mode == "remote" else [],
        employment_type=form.employment_type,
        min_years=form.min_years,
        entry_level_ok=form.entry_level_ok,
        pay_min=form.pay_min,
        pay_max=form.pay_max,
        pay_unit=form.pay_unit,
        benefits=form.benefits,
        application_deadline=form.application_deadline,
        apply_url=form.apply_url,
        requisition_id=form.requisition_id,
        street_address=form.street_address if form.work_mode != "remote" else "",
        syndicate_opt_out=form.syndicate_opt_out,
        employer_size=form.employer_size,
        normalised_title=normalise_title(form.title),
        description_html=render_markdown(form.description),
        city=place["city"],
        state=place["state"],
        lat=place["lat"],
        lng=place["lng"],
        pay_annual_min=vocab.annualise(form.pay_min, form.pay_unit),
        pay_annual_max=vocab.annualise(form.pay_max, form.pay_unit),
        screening_questions=questions,
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
        Listing.street_address: data.street_address,
        Listing.syndicate_opt_out: data.syndicate_opt_out,
        Listing.employer_size: data.employer_size,
        Listing.screening_questions: json.dumps(data.screening_questions),
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


def _reviewed_changes(listing: Listing, details: dict[str, list[str]], data: ListingInput) -> list[str]:
    """What an admin approved that this edit changes: what coders read (title, description, pay) and where they
    are sent or who may apply (apply link, work mode, location, remote states, credentials)."""
    changed = []
    if listing.title != data.title:
        changed.append("title")
    if listing.description_md != data.description:
        changed.append("description")
    if (Decimal(str(listing.pay_min)) != data.pay_min or Decimal(str(listing.pay_max)) != data.pay_max
            or listing.pay_unit != data.pay_unit):
        changed.append("pay")
    if listing.apply_url != data.apply_url:
        changed.append("apply link")
    if listing.work_mode != data.work_mode:
        changed.append("work mode")
    if listing.zip != data.zip or (listing.street_address or "") != data.street_address:
        changed.append("location")
    if set(details["remote_states"]) != set(data.remote_states):
        changed.append("remote states")
    if any(set(details[f"credentials_{kind}"]) != set(getattr(data, f"credentials_{kind}"))
           for kind in ("required", "any_of", "preferred")):
        changed.append("credentials")
    if screening.normalise(listing.screening_questions) != data.screening_questions:
        changed.append("screener questions")
    return changed


async def update_listing(listing_id: int, data: ListingInput, *, actor_kind: str = "employer",
                         actor_id: int | None = None) -> Listing:
    """Save an edit in one transaction.

    An edit of a published listing is re-indexed (search-outbox row); when an unverified employer changes
    what an admin approved (`_reviewed_changes`), the listing goes back to review (published -> in_review)
    instead. Every edit moves `version` on, so an approval of what an admin saw before it is refused.
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
        changed = _reviewed_changes(listing, await listing_details(listing_id), data)
        await Listing.update({**_columns(data), Listing.updated_at: clock.now(),
                              Listing.version: Listing.version + 1}).where(Listing.id == listing_id)
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
        "street_address": listing.street_address,
        "syndicate_opt_out": listing.syndicate_opt_out,
        "employer_size": listing.employer_size,
        "screening_questions": screening.normalise(listing.screening_questions),
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


async def close_listing(listing_id: int, *, actor_id: int | None = None, reason: str = "filled",
                        close_reason: str = "") -> Listing:
    """The employer marks a published listing filled or closed: it leaves the site and search. `close_reason`
    (a `listings.liveness.CLOSE_REASONS` key, checked by the caller) is kept on the listing."""
    async with db.transaction():
        closed = await transition(listing_id, CLOSED, actor_kind="employer", actor_id=actor_id, reason=reason)
        if close_reason:
            await Listing.update({Listing.close_reason: close_reason}).where(Listing.id == listing_id)
            closed.close_reason = close_reason
        return closed


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
            when = filters.date(expires)
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
        "pay": vocab.pay_text(listing.pay_min, listing.pay_max, listing.pay_unit),
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
        "deadline": listing.application_deadline,
        "posted": listing.published_at,
        "expires": listing.expires_at,
        "requisition_id": listing.requisition_id,
        "description_html": listing.description_html,
        "apply_external": bool(listing.apply_url),
        "apply_host": (urlparse(listing.apply_url).hostname or "") if listing.apply_url else "",
        "featured": bool(listing.featured),
    }
