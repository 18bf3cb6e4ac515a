"""Moderation: the review queue and its decisions, reports from visitors, and their resolution.

Every decision goes through the listing lifecycle (`listings.service.transition` with
actor_kind "admin", or `set_hidden`) and writes an audit entry in the same transaction.
Billing's rules are reached only through the outbox (`billing.refund_listing`); its orders are only read.
"""

from __future__ import annotations

import datetime as dt
import difflib
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from billing.tables import CreditUse, Order, OrderStatus
from careers.accounts import audit
from careers.accounts import service as accounts
from careers.accounts.tables import User
from careers.core import clock, db, mail, outbox, proxies, ratelimit
from careers.core.config import Settings
from careers.core.errors import Conflict, DomainError, NotFound
from employers import trust
from employers.tables import Employer, EmployerMember
from listings import service as listings
from listings.moderation import risk
from listings.moderation.tables import Report
from listings.tables import Listing, ListingEvent
from listings.vocabulary import ListingState

REFUND_LISTING = "billing.refund_listing"  # payload {"listing_id", "reason"}; billing refunds the listing's paid order
REPORT_CONFIRM_TTL = dt.timedelta(days=3)
REPORT_REASONS = {
    "scam": "Scam or fraud",
    "not_coding": "Not a medical coding job",
    "expired_filled": "Expired or already filled",
    "discriminatory": "Discriminatory",
    "other": "Something else",
}
DIFF_FIELDS = (("title", "Title"), ("description_md", "Description"), ("pay", "Pay"), ("apply_url", "Apply link"),
               ("work_mode", "Work mode"), ("zip", "Location (ZIP)"),
               ("screening_questions", "Screener questions"))


class ModerationError(DomainError):
    """A moderation rule was broken; `field` names the form field it belongs to."""


class ListingMissing(ModerationError, NotFound):
    """No listing has that id."""

    def __init__(self, message: str = "That listing does not exist.") -> None:
        super().__init__(message)



# ---- who to tell ---------------------------------------------------------------------------------


async def employer_contacts(listing: Listing) -> list[str]:
    """The listing's author and the employer's owners, as enabled mail addresses."""
    ids = {m["user"] for m in await EmployerMember.select(EmployerMember.user).where(
        (EmployerMember.employer == listing.employer) & (EmployerMember.role == "owner"))}
    if listing.created_by:
        ids.add(listing.created_by)
    if not ids:
        ids = {m["user"] for m in await EmployerMember.select(EmployerMember.user).where(
            EmployerMember.employer == listing.employer)}
    if not ids:
        return []
    rows = await User.select(User.email).where(User.id.is_in(list(ids)) & (User.login_disabled == False))  # noqa: E712
    return sorted(r["email"] for r in rows)


# ---- the review queue ----------------------------------------------------------------------------


@dataclass
class ReviewItem:
    listing: Listing
    employer: Employer
    waiting_since: dt.datetime | None
    employer_age_days: int
    past_rejections: int
    events: list[dict]
    diff: list[dict]
    signals: list[risk.Signal]
    order: dict | None = None
    extra: dict = field(default_factory=dict)


def _pay_text(data: dict) -> str:
    if not data:
        return ""
    return f"{data.get('pay_min')}–{data.get('pay_max')} per {data.get('pay_unit')}"


def snapshot_diff(listing: Listing) -> list[dict]:
    """Title, description and pay against the last approved version: [{"label", "html"}], escaped, for edits only."""
    before = listing.approved_snapshot
    if isinstance(before, str):
        before = json.loads(before) if before else None
    if not before:
        return []
    current = listings.snapshot(listing)
    changes = []
    for key, label in DIFF_FIELDS:
        if key != "pay" and key not in before:
            continue  # approved before this field was kept
        old = _pay_text(before) if key == "pay" else str(before.get(key) or "")
        new = _pay_text(current) if key == "pay" else str(current.get(key) or "")
        if old == new:
            continue
        changes.append({"label": label, "html": diff_html(old, new)})
    return changes


def diff_html(old: str, new: str) -> str:
    """A word-level diff as HTML: unchanged text escaped, removals in <del>, additions in <ins>."""
    a, b = re.split(r"(\s+)", old), re.split(r"(\s+)", new)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(html.escape("".join(a[i1:i2])))
        if op in ("delete", "replace"):
            out.append("<del>" + html.escape("".join(a[i1:i2])) + "</del>")
        if op in ("insert", "replace"):
            out.append("<ins>" + html.escape("".join(b[j1:j2])) + "</ins>")
    return "".join(out)


async def order_for_listing(listing_id: int) -> dict | None:
    """The listing's latest order from billing (read-only; billing owns the rules)."""
    return await Order.select().where(Order.listing == listing_id).order_by(Order.id, ascending=False).first()


async def review_queue(*, now: dt.datetime | None = None) -> list[ReviewItem]:
    """Listings in review, longest-waiting first, each with what an admin needs to decide."""
    now = now or clock.now()
    waiting = await Listing.objects().where(Listing.status == listings.IN_REVIEW).order_by(Listing.id)
    if not waiting:
        return []
    ids = [listing.id for listing in waiting]
    since: dict[int, dt.datetime] = {}
    for row in await ListingEvent.select(ListingEvent.listing, ListingEvent.created_at).where(
        ListingEvent.listing.is_in(ids) & (ListingEvent.to_status == listings.IN_REVIEW)
    ):
        if row["listing"] not in since or row["created_at"] > since[row["listing"]]:
            since[row["listing"]] = row["created_at"]
    corpus = await risk.build_corpus()
    employers = {e.id: e for e in await Employer.objects().where(Employer.id.is_in(list({x.employer for x in waiting})))}
    items = []
    for listing in waiting:
        employer = employers[listing.employer]
        rejections = await ListingEvent.count().where(
            (ListingEvent.to_status == listings.REJECTED) & ListingEvent.listing.is_in(
                Listing.select(Listing.id).where(Listing.employer == employer.id)))
        events = await ListingEvent.select(
            ListingEvent.created_at, ListingEvent.actor_kind, ListingEvent.from_status, ListingEvent.to_status,
            ListingEvent.reason, ListingEvent.actor.email.as_alias("actor_email"),
        ).where(ListingEvent.listing == listing.id).order_by(ListingEvent.id)
        signals = await risk.assess(listing, corpus=corpus, now=now)
        if employer.suspended:
            signals.insert(0, risk.Signal("employer_suspended", "Employer suspended",
                                          "Reinstate the employer before approving."))
        items.append(ReviewItem(
            listing=listing,
            employer=employer,
            waiting_since=since.get(listing.id) or listing.updated_at,
            employer_age_days=max(0, (now - employer.created_at).days) if employer.created_at else 0,
            past_rejections=rejections,
            events=events,
            diff=snapshot_diff(listing),
            signals=signals,
            order=await order_for_listing(listing.id),
        ))
    items.sort(key=lambda item: (item.waiting_since or now, item.listing.id))
    return items


async def _in_review(listing_id: int) -> Listing:
    listing = await Listing.objects().where(Listing.id == listing_id).first()
    if listing is None:
        raise ListingMissing()
    if listing.status != listings.IN_REVIEW:
        raise ModerationError("That listing is no longer waiting for review (another admin may have decided).")
    return listing


async def _decide(listing_id: int, to_status: str, admin, reason: str) -> Listing:
    """The decision's transition, inside the caller's transaction. Two admins deciding at once both pass
    `_in_review`; the lifecycle refuses the second, which then rolls back (no mail, refund or audit entry)."""
    try:
        return await listings.transition(listing_id, to_status, actor_kind="admin", actor_id=admin.id, reason=reason)
    except listings.ListingError:
        raise ModerationError("That listing is no longer waiting for review (another admin may have decided).") from None


def _listing_url(settings: Settings, listing: Listing) -> str:
    return f"{settings.base_url}/jobs/{listing.id}"


class ListingChanged(ModerationError, Conflict):
    """The listing was edited after the admin's review page was shown."""

    def __init__(self, seen: int, current: int) -> None:
        super().__init__(f"This listing was edited after you opened the review page (you saw version {seen}, "
                         f"it is now version {current}). Nothing was published: read the changes and decide again.")


async def approve(listing_id: int, admin, settings: Settings, *, version: int | None = None) -> Listing:
    """In review -> published; the employer is told it is live. `version` is the one the admin saw (the review
    page sends it): an edit since then refuses the approval (ListingChanged), whatever the edit was."""
    listing = await _in_review(listing_id)
    employer = await Employer.objects().get(Employer.id == listing.employer)
    if employer.suspended:
        raise ModerationError("This employer is suspended; reinstate it before approving its listings.")
    async with db.transaction():
        published = await _decide(listing_id, listings.PUBLISHED, admin, "approved")
        # Read under the transition's row lock: an edit either committed before (seen here) or waits for us.
        if version is not None and published.version != version:
            raise ListingChanged(version, published.version)
        await audit.record("listing approved", actor=admin, employer_id=listing.employer, listing_id=listing_id,
                           before={"status": listing.status}, after={"status": published.status})
        for to in await employer_contacts(listing):
            await mail.queue_mail(
                to, f"Your listing “{listing.title}” is live",
                f"Your listing “{listing.title}” was approved and is now published on CareerCenter:\n"
                f"{_listing_url(settings, listing)}\n",
            )
    return published


async def reject(listing_id: int, admin, reason: str, settings: Settings) -> Listing:
    """In review -> rejected with a reason: the employer gets the reason by mail and billing refunds the order."""
    reason = (reason or "").strip()
    if not reason:
        raise ModerationError("Give the reason the employer will read.", "reason")
    listing = await _in_review(listing_id)
    async with db.transaction():
        rejected = await _decide(listing_id, listings.REJECTED, admin, reason)
        await outbox.enqueue(REFUND_LISTING, {"listing_id": listing_id, "reason": reason})
        await audit.record("listing rejected", actor=admin, employer_id=listing.employer, listing_id=listing_id,
                           reason=reason, before={"status": listing.status},
                           after={"status": rejected.status, "refund_requested": True})
        for to in await employer_contacts(listing):
            await mail.queue_mail(
                to, f"Your listing “{listing.title}” was not approved",
                f"We reviewed your listing “{listing.title}” and cannot publish it.\n\n"
                f"Reason: {reason}\n\n"
                "What you paid for this listing comes back: a card payment is refunded to the card it was paid "
                "with (it can take a few days to show on your statement), a pack credit returns to your account. "
                "Reply to this mail if you have questions.\n",
            )
    return rejected


async def request_changes(listing_id: int, admin, note: str, settings: Settings) -> Listing:
    """In review -> draft with the admin's note; the employer edits and submits again."""
    note = (note or "").strip()
    if not note:
        raise ModerationError("Write what the employer should change.", "note")
    listing = await _in_review(listing_id)
    async with db.transaction():
        draft = await _decide(listing_id, listings.DRAFT, admin, note)
        await audit.record("changes requested", actor=admin, employer_id=listing.employer, listing_id=listing_id,
                           reason=note, before={"status": listing.status}, after={"status": draft.status})
        for to in await employer_contacts(listing):
            await mail.queue_mail(
                to, f"Changes needed to your listing “{listing.title}”",
                f"We reviewed your listing “{listing.title}” and need a few changes before it can go live:\n\n"
                f"{note}\n\n"
                f"Edit it from your employer dashboard ({settings.base_url}/employer) and submit it again.\n",
            )
    return draft


# ---- admin actions on one listing ----------------------------------------------------------------


async def publish_without_payment(listing_id: int, admin) -> Listing:
    """An admin publishes a draft without payment (listings' lifecycle), audited in the same transaction.

    Raises the lifecycle's ListingError (ListingNotFound for an unknown id) unchanged.
    """
    async with db.transaction():
        before = await Listing.objects().where(Listing.id == listing_id).first()
        published = await listings.publish_without_payment(listing_id, admin_id=admin.id)
        await audit.record("published without payment", actor=admin, employer_id=published.employer,
                           listing_id=listing_id, before={"status": before.status if before else None},
                           after={"status": published.status})
    return published


async def show_again(listing_id: int, admin, reason: str) -> Listing:
    """Clear a listing's `hidden` flag (set by reports or a payment dispute); audited. Open reports stay open."""
    reason = (reason or "").strip()
    if not reason:
        raise ModerationError("Give the reason for showing the listing again; it goes into the audit log.", "reason")
    listing = await Listing.objects().where(Listing.id == listing_id).first()
    if listing is None:
        raise ListingMissing()
    if not listing.hidden:
        raise ModerationError("That listing is not hidden.")
    async with db.transaction():
        shown = await listings.set_hidden(listing_id, False, actor_kind="admin", actor_id=admin.id, reason=reason)
        await audit.record("listing shown again", actor=admin, employer_id=listing.employer, listing_id=listing_id,
                           reason=reason, before={"hidden": True}, after={"hidden": False})
    return shown


# ---- reports from visitors ----------------------------------------------------------------------


@dataclass
class ReportOutcome:
    report_id: int
    confirmed: bool
    hidden: bool = False


async def _member_user_ids(employer_id: int) -> set[int]:
    return {r["user"] for r in await EmployerMember.select(EmployerMember.user).where(
        EmployerMember.employer == employer_id)}


async def public_listing(listing_id: int) -> Listing:
    listing = await Listing.objects().where(Listing.id == listing_id).first()
    if listing is None or not listings.is_public(listing):
        raise ListingMissing("That listing is not on the site.")
    return listing


def _check_report_fields(reason: str, detail: str) -> None:
    if reason not in REPORT_REASONS:
        raise ModerationError("Choose what is wrong with this job.", "reason")
    if len(detail) > 2000:
        raise ModerationError("Keep the detail under 2,000 characters.", "detail")


async def _why_not_counted(user_id: int | None, members: set[int], settings: Settings) -> str:
    """Why a report by this account can never count ("" when it may): judged when it is filed, so a throwaway
    account does not start counting by waiting."""
    if user_id is None:
        return ""
    if user_id in members:
        return "from the employer's own team"
    account = await User.select(User.email_confirmed_at, User.created_at).where(User.id == user_id).first()
    if account is None or account["email_confirmed_at"] is None:
        return "the account's email address is not confirmed"
    hours = settings.report_min_account_age_hours
    if account["created_at"] and account["created_at"] > clock.now() - dt.timedelta(hours=hours):
        return f"the account was less than {hours} hours old"
    return ""


def _network(client_ip: str, settings: Settings) -> str:
    return proxies.network_of(client_ip or "unknown", settings.report_network_prefix_v4,
                              settings.report_network_prefix_v6)


async def submit_report(listing_id: int, reason: str, detail: str, settings: Settings, *, user=None,
                        email: str = "", client_ip: str = "") -> ReportOutcome:
    """File a report. A signed-in user's is confirmed at once; a visitor's after the mailed link confirms the address.

    Whether it counts toward hiding is decided by `judge_reports`; rate-limited per reporter (account or address)
    and, for visitors, per client address too.
    """
    detail = (detail or "").strip()
    _check_report_fields(reason, detail)
    listing = await public_listing(listing_id)
    members = await _member_user_ids(listing.employer)
    network = _network(client_ip, settings)
    if user is not None:
        await ratelimit.hit("report", f"user:{user.id}", settings.report_rate)
        note = await _why_not_counted(user.id, members, settings)
        async with db.transaction():
            report = Report(listing=listing_id, reporter=user.id, reporter_email=user.email,
                            reporter_key=f"user:{user.id}", reason=reason, detail=detail, counts=not note,
                            count_note=note, network=network, confirmed_at=clock.now())
            await report.save()
            hidden = await _apply_threshold(listing_id, settings)
        return ReportOutcome(report.id, True, hidden)

    try:
        address = accounts.normalise_email(email)
    except accounts.AccountError as exc:
        raise ModerationError(exc.message, "email") from None
    await ratelimit.hit("report-ip", client_ip or "unknown", settings.report_rate)
    await ratelimit.hit("report", f"email:{address}", settings.report_rate)
    account = await User.select(User.id).where(User.email == address).first()
    # The same person counts once, whether they report signed in or by mail.
    key = f"user:{account['id']}" if account else f"email:{address}"
    note = await _why_not_counted(account["id"] if account else None, members, settings)
    async with db.transaction():
        report = Report(listing=listing_id, reporter=account["id"] if account else None, reporter_email=address,
                        reporter_key=key, reason=reason, detail=detail, counts=not note, count_note=note,
                        network=network)
        await report.save()
        # The confirmation link's token is made when the mail is sent (listings.moderation.jobs).
        await mail.queue_link_mail("report_confirm", address, "Confirm your report to CareerCenter", report.id)
    return ReportOutcome(report.id, False)


async def pending_report(token: str) -> dict:
    """The unconfirmed report a mailed link names (for the page with the confirm button); nothing changes."""
    row = await Report.select(Report.id, Report.listing, Report.reason, Report.listing.title.as_alias("title")).where(
        (Report.confirm_token_hash == accounts.token_hash(token or "")) & Report.confirmed_at.is_null()
        & (Report.created_at > clock.now() - REPORT_CONFIRM_TTL)).first()
    if row is None:
        raise ModerationError("This link is invalid, already used or expired.")
    row["reason_label"] = REPORT_REASONS.get(row["reason"], row["reason"])
    return row


async def confirm_report(token: str, settings: Settings) -> ReportOutcome:
    """A visitor's confirmation (the button on the mailed link's page): the report is confirmed from now on
    (and may hide the listing at once)."""
    now = clock.now()
    async with db.transaction():
        rows = await Report.update({Report.confirmed_at: now}).where(
            (Report.confirm_token_hash == accounts.token_hash(token or ""))
            & Report.confirmed_at.is_null()
            & (Report.created_at > now - REPORT_CONFIRM_TTL)
        ).returning(Report.id, Report.listing)
        if not rows:
            raise ModerationError("This link is invalid, already used or expired.")
        hidden = await _apply_threshold(rows[0]["listing"], settings)
    return ReportOutcome(rows[0]["id"], True, hidden)


def judge_reports(reports: list[dict]) -> list[dict]:
    """Mark each confirmed open report `counting` or not, with `why`, in the order they were confirmed: one
    counting report per person and per network; a report that could never count keeps the note it was filed with."""
    people: dict[str, int] = {}
    networks: dict[str, int] = {}
    for report in sorted(reports, key=lambda r: (r["confirmed_at"], r["id"])):
        report["counting"] = False
        if not report["counts"]:
            report["why"] = f"Does not count: {report['count_note'] or 'excluded'}."
        elif report["reporter_key"] in people:
            report["why"] = f"Does not count: the same person already reported (#{people[report['reporter_key']]})."
        elif report["network"] and report["network"] in networks:
            report["why"] = (f"Does not count: report #{networks[report['network']]} from the same network "
                             f"({report['network']}) already counts.")
        else:
            report["counting"] = True
            report["why"] = "Counts toward hiding."
            people[report["reporter_key"]] = report["id"]
            if report["network"]:
                networks[report["network"]] = report["id"]
    return reports


_JUDGED = (Report.id, Report.listing, Report.reporter_key, Report.counts, Report.count_note, Report.network,
           Report.confirmed_at)


async def counting_reporters(listing_id: int) -> int:
    """How many of the listing's open confirmed reports count (distinct people, one per network)."""
    rows = await Report.select(*_JUDGED).where(
        (Report.listing == listing_id) & (Report.status == "open") & Report.confirmed_at.is_not_null())
    return sum(1 for r in judge_reports(rows) if r["counting"])


async def shielded_from_auto_hide(listing: Listing) -> bool:
    """A paid listing of a verified employer is never hidden by reports: it goes to the top of the admins' list."""
    verified = await Employer.exists().where((Employer.id == listing.employer) & (Employer.verified == True))  # noqa: E712
    if not verified:
        return False
    paid = await Order.exists().where((Order.listing == listing.id) & (Order.status == OrderStatus.PAID))
    return paid or await CreditUse.exists().where(CreditUse.listing == listing.id)


async def _apply_threshold(listing_id: int, settings: Settings) -> bool:
    """Inside the report's transaction: hide the listing when enough reports count; a paid, verified employer's
    listing is left up and flagged for admins instead (audited once, when it reaches the threshold)."""
    count = await counting_reporters(listing_id)
    threshold = settings.report_hide_threshold
    if count < threshold:
        return False
    listing = await Listing.objects().get(Listing.id == listing_id)
    if listing.hidden:
        return True
    if await shielded_from_auto_hide(listing):
        if count == threshold:
            await audit.record("reports escalated", actor=None, employer_id=listing.employer, listing_id=listing_id,
                               reason=f"{count} counting reports; not hidden: a paid listing of a verified employer",
                               before={"hidden": False}, after={"hidden": False, "reporters": count})
        return False
    await listings.set_hidden(listing_id, True, actor_kind="system",
                              reason=f"reported by {count} different people")
    await audit.record("automated hide", actor=None, employer_id=listing.employer, listing_id=listing_id,
                       reason=f"{count} counting reports from {count} different people and networks",
                       before={"hidden": False}, after={"hidden": True, "reporters": count})
    return True


async def open_reports(settings: Settings) -> list[dict]:
    """Listings with open confirmed reports: those that reached the threshold first (escalated paid listings of
    verified employers, then hidden ones), then most counting reports; each report says why it counts or not."""
    rows = await Report.select(
        *_JUDGED, Report.reason, Report.detail, Report.reporter_email, Report.created_at,
    ).where((Report.status == "open") & Report.confirmed_at.is_not_null()).order_by(Report.id)
    by_listing: dict[int, list[dict]] = {}
    for row in rows:
        row["reason_label"] = REPORT_REASONS.get(row["reason"], row["reason"])
        by_listing.setdefault(row["listing"], []).append(row)
    if not by_listing:
        return []
    found = await Listing.select(
        Listing.id, Listing.title, Listing.status, Listing.hidden, Listing.employer,
        Listing.employer.name.as_alias("employer_name"), Listing.employer.suspended.as_alias("employer_suspended"),
    ).where(Listing.id.is_in(list(by_listing)))
    summary = []
    for listing in found:
        reports = sorted(judge_reports(by_listing[listing["id"]]), key=lambda r: r["id"])
        listing["reports"] = reports
        listing["reporters"] = sum(1 for r in reports if r["counting"])
        listing["escalated"] = not listing["hidden"] and listing["reporters"] >= settings.report_hide_threshold
        listing["status_label"] = listings.STATE_LABELS.get(listing["status"], listing["status"])
        summary.append(listing)
    summary.sort(key=lambda s: (-int(s["escalated"]), -int(s["hidden"]), -s["reporters"], s["id"]))
    return summary


async def open_report_count() -> int:
    rows = await Report.select(Report.listing).where(
        (Report.status == "open") & Report.confirmed_at.is_not_null()).distinct()
    return len(rows)


async def dashboard_figures(now: dt.datetime) -> dict[str, Any]:
    """The admin dashboard's panel: the review queue and its oldest wait, open reports, published listings."""
    waiting = [r["id"] for r in await Listing.select(Listing.id).where(Listing.status == ListingState.IN_REVIEW)]
    oldest_wait = None
    if waiting:
        since: dict[int, dt.datetime] = {}
        for row in await ListingEvent.select(ListingEvent.listing, ListingEvent.created_at).where(
            ListingEvent.listing.is_in(waiting) & (ListingEvent.to_status == ListingState.IN_REVIEW)
        ):
            since[row["listing"]] = max(since.get(row["listing"], row["created_at"]), row["created_at"])
        if since:
            oldest_wait = now - min(since.values())
    published = await Listing.count().where(listings.public_where())
    return {"waiting_reviews": len(waiting), "oldest_wait": oldest_wait, "open_reports": await open_report_count(),
            "published_listings": published}


async def _resolve(listing_ids: list[int], admin, resolution: str, status: str) -> int:
    rows = await Report.update({Report.status: status, Report.resolution: resolution, Report.resolved_by: admin.id,
                                Report.resolved_at: clock.now()}).where(
        Report.listing.is_in(listing_ids) & (Report.status == "open")).returning(Report.id)
    return len(rows)


async def dismiss_reports(listing_id: int, admin, reason: str = "") -> None:
    """The reports were wrong: close them and unhide the listing if they had hidden it."""
    listing = await Listing.objects().where(Listing.id == listing_id).first()
    if listing is None:
        raise ListingMissing()
    reason = (reason or "").strip() or "reports dismissed"
    async with db.transaction():
        closed = await _resolve([listing_id], admin, "dismissed", "dismissed")
        if listing.hidden:
            await listings.set_hidden(listing_id, False, actor_kind="admin", actor_id=admin.id, reason=reason)
        await audit.record("reports dismissed", actor=admin, employer_id=listing.employer, listing_id=listing_id,
                           reason=reason, before={"hidden": listing.hidden, "open_reports": closed},
                           after={"hidden": False, "open_reports": 0})


async def remove_listing(listing_id: int, admin, reason: str) -> None:
    """Take a published listing down (published -> removed) and close its reports."""
    reason = (reason or "").strip()
    if not reason:
        raise ModerationError("Give the reason for removing the listing.", "reason")
    listing = await Listing.objects().where(Listing.id == listing_id).first()
    if listing is None:
        raise ListingMissing()
    async with db.transaction():
        try:
            removed = await listings.transition(listing_id, listings.REMOVED, actor_kind="admin", actor_id=admin.id,
                                                reason=reason)
        except listings.ListingError as exc:
            raise ModerationError(exc.message) from None
        await _resolve([listing_id], admin, "removed", "actioned")
        await audit.record("listing removed", actor=admin, employer_id=listing.employer, listing_id=listing_id,
                           reason=reason, before={"status": listing.status}, after={"status": removed.status})


async def suspend_reported_employer(listing_id: int, admin, reason: str) -> dict[str, Any]:
    """Suspend the employer behind a reported listing; every open report on its listings is closed."""
    listing = await Listing.objects().where(Listing.id == listing_id).first()
    if listing is None:
        raise ListingMissing()
    async with db.transaction():
        try:
            result = await trust.suspend(listing.employer, admin, reason)
        except trust.TrustError as exc:
            raise ModerationError(exc.message, exc.field) from None
        ids = [r["id"] for r in await Listing.select(Listing.id).where(Listing.employer == listing.employer)]
        await _resolve(ids, admin, "employer_suspended", "actioned")
    return result
