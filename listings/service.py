"""The listing lifecycle: every legal transition, its side effects and its event row.

States and transitions are exactly ARCHITECTURE.md's table. Every transition
runs in one transaction that also writes a `listing_events` row and, where the
public view of the listing changes, a search-outbox row.
"""

from __future__ import annotations

import datetime as dt
import json

from careers.core import db, outbox
from listings.tables import Listing, ListingEvent
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


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


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
    now = now or utcnow()
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
    now = now or utcnow()
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
        await Listing.update({Listing.hidden: hidden, Listing.updated_at: utcnow()}).where(Listing.id == listing_id)
        await record_event(listing_id, listing.status, listing.status, actor_kind, actor_id,
                           ("hidden: " if hidden else "unhidden: ") + reason)
        await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": listing_id})
        return await Listing.objects().get(Listing.id == listing_id)


async def set_featured(listing_id: int, featured: bool = True, *, actor_kind: str = "webhook") -> None:
    """The paid featured upgrade: lifted in search, a badge on cards."""
    async with db.transaction():
        await _locked(listing_id)
        await Listing.update({Listing.featured: featured, Listing.updated_at: utcnow()}).where(Listing.id == listing_id)
        await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": listing_id})


async def expire_due(now: dt.datetime | None = None) -> list[int]:
    """Expire every published listing whose `expires_at` has passed; returns their ids."""
    now = now or utcnow()
    due = await Listing.select(Listing.id).where((Listing.status == PUBLISHED) & (Listing.expires_at <= now))
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
