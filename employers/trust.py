"""Employer trust, decided by admins: verify, suspend, reinstate. Every decision is audited.

- Verified employers' paid listings skip review (the lifecycle's awaiting_payment -> published).
- Suspending takes every published listing of the employer off the site and out of search
  (published -> removed, actor admin), disables its members' logins and ends their sessions, and
  records the paid orders of those listings as left for an admin to refund.
- Reinstating restores the listings the suspension removed whose expiry is still ahead
  (removed -> published) and lets the members log in again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from billing.tables import Order, OrderStatus
from careers.accounts import audit
from careers.accounts import service as accounts
from careers.core import clock, db
from careers.core.errors import DomainError, NotFound
from employers import service
from employers.tables import Employer, EmployerMember
from listings import service as listings
from listings.tables import Listing, ListingEvent

SUSPENSION_REASON = "employer suspended"  # prefix of the listing events written by a suspension


class TrustError(DomainError):
    """A trust rule (verify, suspend, reinstate) was broken; `field` names the form field it belongs to."""


class EmployerMissing(TrustError, NotFound):
    def __init__(self) -> None:
        super().__init__("That employer does not exist.")



def _required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise TrustError("Give a reason; it goes into the audit log.", "reason")
    return reason[:2000]


async def _employer(employer_id: int) -> Employer:
    employer = await Employer.objects().where(Employer.id == employer_id).first()
    if employer is None:
        raise EmployerMissing()
    return employer


async def member_ids(employer_id: int) -> list[int]:
    return [r["user"] for r in await EmployerMember.select(EmployerMember.user).where(
        EmployerMember.employer == employer_id)]


async def set_verified(employer_id: int, admin, reason: str, verified: bool = True) -> None:
    """Verify an employer (its paid listings skip review) or take the verification back."""
    reason = _required(reason)
    employer = await _employer(employer_id)
    async with db.transaction():
        await Employer.update({Employer.verified: verified}).where(Employer.id == employer_id)
        await service.resync_listings_in_search(employer_id)  # search documents show the verified badge
        await audit.record("employer verified" if verified else "employer unverified", actor=admin,
                           employer_id=employer_id, reason=reason, before={"verified": employer.verified},
                           after={"verified": verified})


async def _paid_orders(listing_ids: list[int]) -> list[int]:
    """Paid orders of these listings (billing's table, read only)."""
    if not listing_ids:
        return []
    rows = await Order.select(Order.id).where(Order.listing.is_in(listing_ids) & (Order.status == OrderStatus.PAID))
    return [r["id"] for r in rows]


async def suspend(employer_id: int, admin, reason: str) -> dict[str, Any]:
    """Suspend: listings off the site and search, members locked out, paid orders left for refund (recorded)."""
    reason = _required(reason)
    employer = await _employer(employer_id)
    if employer.suspended:
        raise TrustError("This employer is already suspended.")
    async with db.transaction():
        await Employer.update({Employer.suspended: True}).where(Employer.id == employer_id)
        published = await Listing.select(Listing.id).where(
            (Listing.employer == employer_id) & (Listing.status == listings.PUBLISHED))
        removed = []
        for row in published:
            await listings.transition(row["id"], listings.REMOVED, actor_kind="admin", actor_id=admin.id,
                                      reason=f"{SUSPENSION_REASON}: {reason}")
            removed.append(row["id"])
        users = await member_ids(employer_id)
        for user_id in users:
            await accounts.disable_login(user_id, True)
        waiting = [r["id"] for r in await Listing.select(Listing.id).where(
            (Listing.employer == employer_id) & Listing.status.is_in([listings.IN_REVIEW, listings.AWAITING]))]
        orders = await _paid_orders(removed + waiting)
        result = {"suspended": True, "removed_listing_ids": removed, "members_disabled": users,
                  "orders_left_for_refund": orders}
        await audit.record("employer suspended", actor=admin, employer_id=employer_id, reason=reason,
                           before={"suspended": False}, after=result)
    return result


async def reinstate(employer_id: int, admin, reason: str, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Lift a suspension: members log in again; listings the suspension removed come back if not yet expired."""
    reason = _required(reason)
    now = now or clock.now()
    employer = await _employer(employer_id)
    if not employer.suspended:
        raise TrustError("This employer is not suspended.")
    async with db.transaction():
        await Employer.update({Employer.suspended: False}).where(Employer.id == employer_id)
        restored, expired = [], []
        for listing in await Listing.objects().where(
            (Listing.employer == employer_id) & (Listing.status == listings.REMOVED)
        ).order_by(Listing.id):
            last = await ListingEvent.select(ListingEvent.reason).where(
                (ListingEvent.listing == listing.id) & (ListingEvent.to_status == listings.REMOVED)
            ).order_by(ListingEvent.id, ascending=False).first()
            if not last or not last["reason"].startswith(SUSPENSION_REASON):
                continue  # removed for its own sake (a takedown): stays removed
            if listing.expires_at is None or listing.expires_at <= now:
                expired.append(listing.id)
                continue
            await listings.transition(listing.id, listings.PUBLISHED, actor_kind="admin", actor_id=admin.id,
                                      reason=f"employer reinstated: {reason}", now=now)
            restored.append(listing.id)
        users = await member_ids(employer_id)
        for user_id in users:
            await accounts.disable_login(user_id, False)
        result = {"suspended": False, "restored_listing_ids": restored, "not_restored_expired": expired,
                  "members_enabled": users}
        await audit.record("employer reinstated", actor=admin, employer_id=employer_id, reason=reason,
                           before={"suspended": True}, after=result)
    return result


async def dashboard_figures(now: dt.datetime) -> dict[str, Any]:
    """The admin dashboard's panel: employers who registered in the last seven days."""
    return {"new_employers_week": await Employer.count().where(Employer.created_at >= now - dt.timedelta(days=7))}
