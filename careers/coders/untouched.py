"""Untouched applications (issue 18): coders are never left guessing.

"Employer action" is the first stage change or note by the employer's people (`employers.response.employer_acted`;
automatic moves and an admin's do not count), recorded once in `applications.first_employer_action_at`. An
application with no employer action and no decision:
- at 10 days shows "No response yet from the employer (N days)" on the coder's applications page, and the coder
  gets ONE mail (`no_response_mailed_at` marks it handled, whether or not the coder wants `no_response_notices`);
- at 10 days is listed in a nudge to the employer's members who want `applicant_nudges` (once per application,
  `employer_nudged_at`);
- at 30 days shows "Likely not moving forward" (the employer can still act; the line then goes).
The worker runs the mails (`careers.coders.jobs`) in bounded batches, by `clock.now()`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from careers.accounts import mail_prefs
from careers.accounts.tables import User
from careers.coders.tables import Application, ApplicationStage
from careers.core import clock, db, filters, mail
from careers.core.config import Settings
from careers.core.registry import Throttled
from employers.tables import EmployerMember
from listings.tables import Listing

NO_RESPONSE_AFTER = dt.timedelta(days=10)
LIKELY_NOT_AFTER = dt.timedelta(days=30)
BATCH = 100
DECIDED = (ApplicationStage.HIRED, ApplicationStage.NOT_SELECTED, ApplicationStage.WITHDRAWN)
CODER_KIND = "no_response_notices"
EMPLOYER_KIND = "applicant_nudges"


def response_notice(application: dict[str, Any], now: dt.datetime | None = None) -> str:
    """The coder's status line for an application the employer has not acted on; "" when there is none."""
    if application.get("first_employer_action_at") is not None or application["stage"] in DECIDED:
        return ""
    created = filters.as_utc(application["created_at"])
    waited = (now or clock.now()) - created
    if waited >= LIKELY_NOT_AFTER:
        return "Likely not moving forward"
    if waited >= NO_RESPONSE_AFTER:
        return f"No response yet from the employer ({waited.days} days)"
    return ""


def _untouched(cutoff: dt.datetime, sent_column):
    return (Application.first_employer_action_at.is_null() & sent_column.is_null()
            & Application.stage.not_in(list(DECIDED)) & Application.coder_deleted_at.is_null()
            & (Application.created_at <= cutoff))


async def mail_waiting_coders(settings: Settings, now: dt.datetime | None = None) -> list[int]:
    """The one "no response yet" mail of each application untouched for 10 days; returns the applications."""
    now = now or clock.now()
    due = await Application.select(Application.id).where(
        _untouched(now - NO_RESPONSE_AFTER, Application.no_response_mailed_at)).order_by(Application.id).limit(BATCH)
    handled = []
    for row in due:
        async with db.transaction():
            # The conditional update is the "once": a second pass or worker finds nothing to claim.
            claimed = await Application.update({Application.no_response_mailed_at: now}).where(
                (Application.id == row["id"]) & Application.no_response_mailed_at.is_null()
                & Application.first_employer_action_at.is_null()
            ).returning(Application.coder, Application.listing, Application.created_at)
            if not claimed:
                continue
            app = claimed[0]
            if await mail_prefs.wants(app["coder"], CODER_KIND):
                await _mail_coder(app, settings, now)
        handled.append(row["id"])
    return handled


async def _mail_coder(app: dict[str, Any], settings: Settings, now: dt.datetime) -> None:
    coder = await User.select(User.email, User.display_name).where(User.id == app["coder"]).first()
    listing = await Listing.select(Listing.title, Listing.employer.name.as_alias("employer_name")).where(
        Listing.id == app["listing"]).first()
    if coder is None or listing is None:
        return
    days = (now - filters.as_utc(app["created_at"])).days
    base = settings.base_url.rstrip("/")
    await mail.queue_mail(coder["email"], f"No response yet: {listing['title']}", "\n".join([
        f"Hello {coder['display_name'] or 'there'},", "",
        f"You applied to “{listing['title']}” at {listing['employer_name']} {days} days ago, and the employer has "
        "not responded yet. We have reminded them.", "",
        "It is a good time to keep applying elsewhere too. If nothing moves within 30 days, the application will "
        "show as likely not moving forward (the employer can still answer).", "",
        f"Your applications: {base}/account/applications",
        f"Turn these notices off: {base}/account/mail", "", "— CareerCenter"]))


async def nudge_employers(settings: Settings, now: dt.datetime | None = None) -> list[int]:
    """Mail each employer's members (who want nudges) the applicants untouched for 10 days, each application once;
    returns the employers nudged."""
    now = now or clock.now()
    due = await Application.select(
        Application.id, Application.created_at, Application.profile_snapshot, Application.listing.id.as_alias("lid"),
        Application.listing.title.as_alias("title"), Application.listing.employer.as_alias("employer"),
    ).where(_untouched(now - NO_RESPONSE_AFTER, Application.employer_nudged_at)).order_by(
        Application.id).limit(BATCH).output(load_json=True)
    by_employer: dict[int, list[dict]] = defaultdict(list)
    for row in due:
        by_employer[row["employer"]].append(row)
    for employer_id, apps in by_employer.items():
        async with db.transaction():
            claimed = await Application.update({Application.employer_nudged_at: now}).where(
                Application.id.is_in([a["id"] for a in apps]) & Application.employer_nudged_at.is_null()
            ).returning(Application.id)
            ids = {r["id"] for r in claimed}
            waiting = [a for a in apps if a["id"] in ids]
            if waiting:
                await _mail_members(employer_id, waiting, settings, now)
    return sorted(by_employer)


def _applicant_name(snapshot: Any) -> str:
    snapshot = snapshot if isinstance(snapshot, dict) else {}
    return snapshot.get("name") or "An applicant"


async def _mail_members(employer_id: int, apps: list[dict], settings: Settings, now: dt.datetime) -> None:
    members = await EmployerMember.select(EmployerMember.user).where(EmployerMember.employer == employer_id)
    users = await User.select(User.id, User.email).where(
        User.id.is_in([m["user"] for m in members] or [0]) & (User.login_disabled == False))  # noqa: E712
    wanted = await mail_prefs.wanting([u["id"] for u in users], EMPLOYER_KIND)
    base = settings.base_url.rstrip("/")
    lines = [f"- {_applicant_name(a['profile_snapshot'])} applied to “{a['title']}” "
             f"{(now - filters.as_utc(a['created_at'])).days} days ago: {base}/employer/applications/{a['id']}"
             for a in apps]
    text = "\n".join([
        f"{len(apps)} {filters.pluralize(len(apps), 'applicant has', 'applicants have')} waited 10 days or more "
        "without an answer from your team:", "", *lines, "",
        "A stage change or a note counts as an answer; coders see how quickly employers respond.", "",
        f"Turn these nudges off: {base}/account/mail"])
    for user in users:
        if user["id"] in wanted:
            await mail.queue_mail(user["email"], "Applicants waiting for your answer", text)


UNTOUCHED_EVERY_SECONDS = 300


async def remind_about_untouched(settings: Settings) -> None:
    """The worker's job: the coders' one mail, then the employers' nudges."""
    await mail_waiting_coders(settings)
    await nudge_employers(settings)


def periodic() -> list:
    return [Throttled("coders.untouched_applications", UNTOUCHED_EVERY_SECONDS, remind_about_untouched)]
