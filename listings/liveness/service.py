"""Live listings: every published job is confirmed open by its employer at least every 14 days.

- Publishing, renewing and reconfirming set `confirmed_at` (`listings.service.confirmed_changes`).
- 14 days unconfirmed: one reminder per period to each member who wants `listing_reminders`, with a one-time link
  (`mail.listing_reconfirm`; the token is made at send time, only its sha256 kept in `listing_links`).
- 21 days unconfirmed: `paused` (a flag like `hidden`: `listings.service.is_public` is false, search drops the
  document through the outbox, paid time keeps running). Reconfirming clears it and re-indexes.
- Closing asks why (CLOSE_REASONS, kept in `close_reason`); expiry mails the same question (`mail.listing_ended`).
- Admins: `ghost_risk` lists published listings older than 45 days with no application, no external apply click
  and no confirmation in 45 days.
All time-driven work runs in `listings.liveness.jobs` in batches of BATCH, by `clock.now()`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from careers.accounts import mail_prefs
from careers.accounts.service import token_hash
from careers.accounts.tables import User
from careers.core import clock, db, filters, mail, outbox
from careers.core.config import Settings
from careers.core.errors import Conflict, DomainError, Invalid
from employers.tables import EmployerMember
from listings import service as listings
from listings.tables import Listing, ListingLink

RECONFIRM_AFTER = dt.timedelta(days=14)  # the reminder goes out
PAUSE_AFTER = dt.timedelta(days=21)  # off the site until reconfirmed
GHOST_AFTER = dt.timedelta(days=45)
RECONFIRM_LINK_TTL = dt.timedelta(days=14)
ENDED_LINK_TTL = dt.timedelta(days=30)
ASK_ENDED_WITHIN = dt.timedelta(days=7)  # an expiry older than this (e.g. before this feature) is not asked about
BATCH = 100
MAIL_KIND = "listing_reminders"

RECONFIRM = "reconfirm"  # ListingLink purposes
ENDED = "ended"

CLOSE_REASONS = {
    "hired_here": "Hired through CareerCenter",
    "hired_elsewhere": "Hired elsewhere",
    "cancelled": "Position cancelled",
    "not_filling": "Not filling it now",
}


class LivenessError(DomainError):
    """A reconfirm or close-reason request that cannot be honoured; pages show `message`."""


class LinkNotValid(LivenessError):
    def __init__(self) -> None:
        super().__init__("This link is invalid, already used or expired. Open the listing from your dashboard instead.")


class NotPublished(LivenessError, Conflict):
    pass


class NoCloseReason(LivenessError, Invalid):
    pass


def _field(listing: Listing | dict, name: str) -> Any:
    return listing[name] if isinstance(listing, dict) else getattr(listing, name)


def confirmed_on(listing: Listing | dict) -> dt.datetime | None:
    """When the employer last said the job is open (publishing counts); a row or a selected dict."""
    return _field(listing, "confirmed_at") or _field(listing, "published_at")


def needs_reconfirm(listing: Listing | dict, now: dt.datetime | None = None) -> bool:
    """A published listing whose 14 days are up (or that is paused): the employer is asked to confirm it."""
    confirmed = confirmed_on(listing)
    return _field(listing, "status") == listings.PUBLISHED and (
        bool(_field(listing, "paused")) or confirmed is None or (now or clock.now()) - confirmed >= RECONFIRM_AFTER)


# ---- reconfirming ---------------------------------------------------------------------------------------


async def reconfirm(listing_id: int, *, actor_kind: str = "employer", actor_id: int | None = None,
                    now: dt.datetime | None = None) -> Listing:
    """The employer confirms the job is still open: a new 14-day period; a paused listing is back on the site and,
    through the search outbox, back in search within seconds."""
    now = now or clock.now()
    async with db.transaction():
        listing = await db.locked_row(Listing, Listing.id == listing_id, listings.ListingNotFound("No such listing."))
        if listing.status != listings.PUBLISHED:
            raise NotPublished("Only a published listing can be confirmed; renew it to publish it again.")
        await Listing.update({**listings.confirmed_changes(now), Listing.updated_at: now}).where(
            Listing.id == listing_id)
        await listings.record_event(listing_id, listing.status, listing.status, actor_kind, actor_id,
                                    "reconfirmed: unpaused" if listing.paused else "reconfirmed")
        # Always: the document carries `confirmed_at` for the cards' "Confirmed active today".
        await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": listing_id})
        return await Listing.objects().get(Listing.id == listing_id)


async def pause_due(now: dt.datetime | None = None) -> list[int]:
    """Pause every published listing unconfirmed for 21 days (a bounded batch); returns their ids."""
    now = now or clock.now()
    cutoff = now - PAUSE_AFTER
    due = await Listing.select(Listing.id).where(
        (Listing.status == listings.PUBLISHED) & (Listing.paused == False)  # noqa: E712
        & (Listing.confirmed_at <= cutoff)).order_by(Listing.confirmed_at).limit(BATCH)
    paused = []
    for row in due:
        async with db.transaction():
            # The conditional update is the claim: a reconfirm or another worker in between leaves nothing to do.
            claimed = await Listing.update({Listing.paused: True, Listing.updated_at: now}).where(
                (Listing.id == row["id"]) & (Listing.status == listings.PUBLISHED)
                & (Listing.paused == False) & (Listing.confirmed_at <= cutoff)  # noqa: E712
            ).returning(Listing.id)
            if not claimed:
                continue
            await listings.record_event(row["id"], listings.PUBLISHED, listings.PUBLISHED, "system", None,
                                        "paused: not confirmed for 21 days")
            await outbox.enqueue(outbox.SEARCH_SYNC, {"listing_id": row["id"]})
        paused.append(row["id"])
    return paused


async def recipients(employer_id: int, kind: str) -> list[dict[str, Any]]:
    """The organisation's members who can sign in and want this kind of mail: [{"id", "email"}]."""
    members = await EmployerMember.select(EmployerMember.user).where(EmployerMember.employer == employer_id)
    if not members:
        return []
    users = await User.select(User.id, User.email).where(
        User.id.is_in([m["user"] for m in members]) & (User.login_disabled == False))  # noqa: E712
    wanted = await mail_prefs.wanting([u["id"] for u in users], kind)
    return [u for u in users if u["id"] in wanted]


async def _mail_once(listing_id: int, marker: Any, now: dt.datetime, purpose: str, subject: str,
                     only_if: Any = None) -> bool:
    """Set the listing's `marker` column (still unset, and `only_if` holds) and, in the same transaction, queue the
    one-time-link mail `purpose` to each member who wants listing reminders; False when another worker got there."""
    where = (Listing.id == listing_id) & marker.is_null()
    async with db.transaction():
        claimed = await Listing.update({marker: now}).where(where & only_if if only_if is not None else where
                                                             ).returning(Listing.id, Listing.title, Listing.employer)
        if not claimed:
            return False
        listing = claimed[0]
        for person in await recipients(listing["employer"], MAIL_KIND):
            await mail.queue_link_mail(purpose, person["email"], subject.format(title=listing["title"]), listing["id"],
                                       user=person["id"])
    return True


async def remind_due(now: dt.datetime | None = None) -> list[int]:
    """Queue the reconfirm reminder of every listing whose 14 days are up, once per period; returns their ids."""
    now = now or clock.now()
    cutoff = now - RECONFIRM_AFTER
    due = await Listing.select(Listing.id).where(
        (Listing.status == listings.PUBLISHED) & (Listing.confirmed_at <= cutoff)
        & Listing.reconfirm_reminded_at.is_null()).order_by(Listing.confirmed_at).limit(BATCH)
    reminded = []
    for row in due:
        if await _mail_once(row["id"], Listing.reconfirm_reminded_at, now, "listing_reconfirm",
                            "Is “{title}” still open?", only_if=Listing.status == listings.PUBLISHED):
            reminded.append(row["id"])
    return reminded


async def ask_why_ended(now: dt.datetime | None = None) -> list[int]:
    """Ask the employer of each listing that expired in the last week, once, why it ended; returns their ids."""
    now = now or clock.now()
    due = await Listing.select(Listing.id).where(
        (Listing.status == listings.EXPIRED) & (Listing.close_reason == "") & Listing.close_reason_asked_at.is_null()
        & (Listing.expires_at > now - ASK_ENDED_WITHIN)).order_by(Listing.expires_at).limit(BATCH)
    asked = []
    for row in due:
        if await _mail_once(row["id"], Listing.close_reason_asked_at, now, "listing_ended",
                            "“{title}” has expired: how did it end?"):
            asked.append(row["id"])
    return asked


# ---- one-time links -----------------------------------------------------------------------------------


async def issue_link(listing_id: int, purpose: str, user_id: int | None, ttl: dt.timedelta) -> str:
    """A new one-time link token (only its sha256 is stored); this member's older unused link of the purpose ends."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    async with db.transaction():
        await ListingLink.update({ListingLink.used_at: now}).where(
            (ListingLink.listing == listing_id) & (ListingLink.purpose == purpose) & (ListingLink.user == user_id)
            & ListingLink.used_at.is_null())
        await ListingLink.insert(ListingLink(token_hash=token_hash(token), purpose=purpose, listing=listing_id,
                                             user=user_id, expires_at=now + ttl))
    return token


def _live_link(token: str, purpose: str):
    return ((ListingLink.token_hash == token_hash(token or "")) & (ListingLink.purpose == purpose)
            & ListingLink.used_at.is_null() & (ListingLink.expires_at > clock.now()))


async def link_listing(token: str, purpose: str) -> Listing:
    """The listing a live link is about (the page before its button); LinkNotValid otherwise. Changes nothing."""
    link = await ListingLink.select(ListingLink.listing).where(_live_link(token, purpose)).first()
    listing = await Listing.objects().where(Listing.id == link["listing"]).first() if link else None
    if listing is None:
        raise LinkNotValid()
    return listing


async def _consume(token: str, purpose: str) -> dict:
    rows = await ListingLink.update({ListingLink.used_at: clock.now()}).where(_live_link(token, purpose)).returning(
        ListingLink.listing, ListingLink.user)
    if not rows:
        raise LinkNotValid()
    return rows[0]


async def reconfirm_by_link(token: str) -> Listing:
    """The mailed link's button: use the token once and reconfirm its listing."""
    async with db.transaction():
        link = await _consume(token, RECONFIRM)
        return await reconfirm(link["listing"], actor_kind="employer", actor_id=link["user"])


def check_close_reason(answer: str) -> str:
    if answer not in CLOSE_REASONS:
        raise NoCloseReason("Choose why the job ended.", "close_reason")
    return answer


async def answer_by_link(token: str, answer: str) -> Listing:
    """The expiry mail's page: one button per answer; the answer is kept on the listing, the token used once."""
    check_close_reason(answer)
    async with db.transaction():
        link = await _consume(token, ENDED)
        await Listing.update({Listing.close_reason: answer}).where(Listing.id == link["listing"])
        return await Listing.objects().get(Listing.id == link["listing"])


def _base(settings: Settings) -> str:
    return settings.base_url.rstrip("/")


async def _compose_reconfirm(payload: dict, settings: Settings) -> dict | None:
    listing = await Listing.objects().where(Listing.id == payload["id"]).first()
    if listing is None or listing.status != listings.PUBLISHED or not needs_reconfirm(listing):
        return None  # closed, expired or already reconfirmed since the reminder was queued
    token = await issue_link(listing.id, RECONFIRM, payload.get("user"), RECONFIRM_LINK_TTL)
    confirmed = confirmed_on(listing)
    pause_on = filters.date(confirmed + PAUSE_AFTER) if confirmed else "soon"
    return {"to": payload["to"], "subject": payload["subject"], "text": (
        f"Your job listing “{listing.title}” on CareerCenter was last confirmed open on "
        f"{filters.date(confirmed)}.\n\n"
        f"Is it still open? Confirm it with one button here (the link works once, for 14 days):\n"
        f"{_base(settings)}/listings/reconfirm?token={token}\n\n"
        f"If it is not confirmed, it leaves the site and search on {pause_on} until you confirm it (its paid time "
        f"keeps running). Filled or cancelled? Close it: {_base(settings)}/employer/listings/{listing.id}\n\n"
        f"Turn these reminders off: {_base(settings)}/account/mail\n")}


async def _compose_ended(payload: dict, settings: Settings) -> dict | None:
    listing = await Listing.objects().where(Listing.id == payload["id"]).first()
    if listing is None or listing.close_reason or listing.status != listings.EXPIRED:
        return None
    token = await issue_link(listing.id, ENDED, payload.get("user"), ENDED_LINK_TTL)
    answers = ", ".join(label.lower() for label in CLOSE_REASONS.values())
    return {"to": payload["to"], "subject": payload["subject"], "text": (
        f"Your job listing “{listing.title}” on CareerCenter expired on {filters.date(listing.expires_at)}.\n\n"
        f"How did it end ({answers})? One click tells us (the link works once, for 30 days):\n"
        f"{_base(settings)}/listings/ended?token={token}\n\n"
        f"Turn these questions off: {_base(settings)}/account/mail\n")}


def handlers() -> dict:
    """The outbox handlers of the mails whose one-time link is made when they are sent."""
    return {mail.LINK_MAIL_PREFIX + "listing_reconfirm": mail.link_mail_handler(_compose_reconfirm),
            mail.LINK_MAIL_PREFIX + "listing_ended": mail.link_mail_handler(_compose_ended)}


# ---- admins: ghost risk ----------------------------------------------------------------------------------


async def ghost_risk(now: dt.datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Published listings older than 45 days with no application, no external apply click and no confirmation
    in 45 days, oldest first (paused ones included: still paid for, maybe never real)."""
    cutoff = (now or clock.now()) - GHOST_AFTER
    rows = await db.fetch(
        "SELECT l.id, l.title, l.slug, l.published_at, l.confirmed_at, l.paused, e.name AS employer_name, "
        "e.id AS employer_id FROM listings l JOIN employers e ON e.id = l.employer "
        "WHERE l.status = {} AND l.published_at <= {} AND COALESCE(l.confirmed_at, l.published_at) <= {} "
        "AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.listing = l.id) "
        "AND NOT EXISTS (SELECT 1 FROM listing_daily_stats s WHERE s.listing = l.id AND s.apply_clicks > 0) "
        "ORDER BY l.published_at, l.id LIMIT {}", listings.PUBLISHED.value, cutoff, cutoff, limit)
    for row in rows:
        row["path"] = listings.listing_path(Listing(id=row["id"], slug=row["slug"]))
        row["paused"] = bool(row["paused"])
    return rows


async def dashboard_figures(now: dt.datetime) -> dict[str, Any]:
    """The admin dashboard's ghost-risk list."""
    return {"ghost_risk": await ghost_risk(now)}
