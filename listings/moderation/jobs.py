"""Moderation's background work: the batched admin mail about listings waiting for review.

Loaded by careers/worker.py; `periodic()` runs on every worker pass, so the job throttles itself:
at most one mail per NOTICE_INTERVAL, covering every listing that entered review since the last one.
"""

from __future__ import annotations

import datetime as dt
import secrets

from careers.accounts import audit
from careers.accounts.service import token_hash
from careers.core import clock, db, mail
from careers.core.config import Settings
from careers.core.registry import Throttled
from listings.moderation.service import REPORT_CONFIRM_TTL, REPORT_REASONS
from listings.moderation.tables import AdminNotice, Report
from listings.tables import Listing, ListingEvent
from listings.vocabulary import ListingState

NOTICE_INTERVAL = dt.timedelta(minutes=15)
REVIEW_NOTICE = "review_queue"
CHECK_EVERY_SECONDS = 20.0  # cheap in-process throttle between database checks



async def mail_admins_about_reviews(settings: Settings, *, now: dt.datetime | None = None) -> int:
    """Mail every admin once about listings that entered review since the last mail; returns mails queued.

    Safe with several workers: the notice row is advanced with a conditional update, and only the
    worker whose update matched queues the mails (in the same transaction).
    """
    now = now or clock.now()
    await AdminNotice.insert(AdminNotice(name=REVIEW_NOTICE, last_event_id=0)).on_conflict(action="DO NOTHING")
    notice = await AdminNotice.objects().get(AdminNotice.name == REVIEW_NOTICE)
    if notice.last_sent_at is not None and now - notice.last_sent_at < NOTICE_INTERVAL:
        return 0
    events = await ListingEvent.select(ListingEvent.id, ListingEvent.listing).where(
        (ListingEvent.id > notice.last_event_id) & (ListingEvent.to_status == ListingState.IN_REVIEW)
    ).order_by(ListingEvent.id)
    if not events:
        return 0
    last_event_id = events[-1]["id"]
    ids = sorted({e["listing"] for e in events})
    waiting = await Listing.select(Listing.id, Listing.title, Listing.employer.name.as_alias("employer")).where(
        Listing.id.is_in(ids) & (Listing.status == ListingState.IN_REVIEW)).order_by(Listing.id)
    admins = await audit.admin_emails()
    async with db.transaction():
        claim = AdminNotice.update({AdminNotice.last_sent_at: now, AdminNotice.last_event_id: last_event_id}).where(
            (AdminNotice.id == notice.id) & (AdminNotice.last_event_id == notice.last_event_id))
        if not await claim.returning(AdminNotice.id):
            return 0  # another worker sent it
        if not waiting or not admins:
            return 0
        total = await Listing.count().where(Listing.status == ListingState.IN_REVIEW)
        lines = "\n".join(f"- #{w['id']} {w['title']} ({w['employer']})" for w in waiting)
        text = (f"{len(waiting)} new listing{'s' if len(waiting) != 1 else ''} waiting for review "
                f"({total} in the queue):\n\n{lines}\n\nReview them at {settings.base_url}/admin/review\n")
        for to in admins:
            await mail.queue_mail(to, f"{len(waiting)} listing{'s' if len(waiting) != 1 else ''} waiting for review",
                                  text)
    return len(admins)


def periodic() -> list:
    return [Throttled("review_notice", CHECK_EVERY_SECONDS, mail_admins_about_reviews)]


async def _compose_report_confirmation(payload: dict, settings: Settings) -> dict | None:
    """A visitor's report confirmation mail, with a fresh token while the report waits for it (None after)."""
    token = secrets.token_urlsafe(32)
    rows = await Report.update({Report.confirm_token_hash: token_hash(token)}).where(
        (Report.id == payload["id"]) & Report.confirmed_at.is_null()
        & (Report.created_at > clock.now() - REPORT_CONFIRM_TTL)
    ).returning(Report.listing, Report.reason, Report.reporter_email)
    if not rows:
        return None
    title = (await Listing.select(Listing.title).where(Listing.id == rows[0]["listing"]).first() or {}).get("title", "")
    reason = REPORT_REASONS.get(rows[0]["reason"], rows[0]["reason"]).lower()
    return {"to": rows[0]["reporter_email"], "subject": payload["subject"],
            "text": f"Someone (we hope you) reported the job “{title}” on CareerCenter as: {reason}.\n\n"
                    f"Confirm the report by opening this link (valid for 3 days):\n"
                    f"{settings.base_url}/reports/confirm?token={token}\n\n"
                    "If it was not you, ignore this mail and nothing happens.\n"}


def handlers() -> dict:
    """The report confirmation mail's outbox handler: its link is made when it is sent."""
    return {mail.LINK_MAIL_PREFIX + "report_confirm": mail.link_mail_handler(_compose_report_confirmation)}
