"""Applications: applying, stages and their mails, withdrawal, a coder's list, the listing page's panel and
the admin dashboard's figures."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from careers.accounts.tables import User
from careers.coders import screening
from careers.coders.listing_reads import coder_side
from careers.coders.profiles import DOCX_TYPE, ResumeFile, open_resume, profile_details
from careers.coders.service import (
    CoderError,
    NotAllowed,
    get_or_create_profile,
    is_withheld,
    listing_notice,
    listing_path,
    qualification_match,
)
from careers.coders.tables import Application, ApplicationEvent, ApplicationStage, CoderProfile
from careers.coders.untouched import response_notice
from careers.core import clock, db, mail
from careers.core.config import Settings
from careers.core.storage import new_key, storage_for
from employers import response as employer_response
from employers.tables import EmployerMember
from listings import screening as listing_screening
from listings import stats as listing_stats
from listings.page_data import listing_with_employer
from listings.tables import Listing, ListingEvent
from listings.vocabulary import ListingState

COVER_NOTE_MAX = 3000




STAGES = tuple(ApplicationStage)


# One vocabulary for both sides: the coder's applications page, the employer's pipeline, mails and exports say the
# same word for the same stage (`ui.stage_chip` gives each its one colour).
STAGE_LABELS = {
    ApplicationStage.SUBMITTED: "Submitted",
    ApplicationStage.REVIEWED: "Reviewed",
    ApplicationStage.INTERVIEWING: "Interviewing",
    ApplicationStage.OFFER: "Offer",
    ApplicationStage.HIRED: "Hired",
    ApplicationStage.NOT_SELECTED: "Not selected",
    ApplicationStage.WITHDRAWN: "Withdrawn",
}


FINAL_STAGES = frozenset({ApplicationStage.HIRED, ApplicationStage.NOT_SELECTED, ApplicationStage.WITHDRAWN})


# The short, kind mail a coder gets when the employer moves their application to one of these stages.
STAGE_MAILS = {
    ApplicationStage.INTERVIEWING: ("invites you to interview for",
                                    "They would like to interview you. Expect them to contact you "
                     "with the details."),
    ApplicationStage.OFFER: ("has made you an offer for",
                             "Congratulations! Watch your mail for the details of the offer."),
    ApplicationStage.HIRED: ("has marked you as hired for", "Congratulations on the new job, and good luck!"),
    ApplicationStage.NOT_SELECTED: ("has decided not to move forward with your application for",
                     "This is not the outcome you hoped for, and it is not a judgement of your worth as a coder. "
                     "Thank you for applying; keep going, the right job is out there."),
}


async def is_employer_member_of_listing(user_id: int, listing_id: int) -> bool:
    listing = await Listing.select(Listing.employer).where(Listing.id == listing_id).first()
    if listing is None:
        return False
    return await EmployerMember.exists().where(
        (EmployerMember.user == user_id) & (EmployerMember.employer == listing["employer"]))


async def application_resume(application_id: int, user_id: int | None, settings: Settings) -> ResumeFile:
    """The resume copy sent with an application, for the applicant and the listing's employer members only."""
    app = await Application.objects().where(Application.id == application_id).first()
    if app is None or user_id is None or not app.resume_key:
        raise NotAllowed()
    if app.coder != user_id and not await is_employer_member_of_listing(user_id, app.listing):
        raise NotAllowed()
    return await open_resume(app, settings)


async def listing_panel(user: Any, listing_id: int) -> dict[str, Any]:
    """Context for templates/coders/_listing_panel.html on a listing page.

    For a signed-in coder: the credential-by-credential match, whether they may apply (and why
    not), their existing application and whether the job is saved. For anyone else only who they are.
    (The listing page itself calls `careers.coders.panel.listing_panel` with the listing it already read.)
    """
    from careers.coders import panel  # panel builds on this module

    if user is None or getattr(user, "role", None) != "coder":
        return {"coder_panel": {"signed_in": user is not None, "is_coder": False, "listing_id": listing_id}}
    page = await listing_with_employer(listing_id)
    if page is None:
        return {}
    return await panel.listing_panel(user, page.listing, page.details)


@dataclass(frozen=True)
class ApplyResult:
    application_id: int
    created: bool
    created_at: dt.datetime | None = None
    screened_out: bool = False


@dataclass(frozen=True)
class Screening:
    """The apply's screener outcome: the record the application keeps, the answers to save, the verdict."""

    record: list[dict[str, Any]]
    answers: dict[str, Any] | None  # the profile's answers with the new ones; None when nothing was submitted
    verdict: dict[str, Any]


def _screen(listing: Listing, coder: dict[str, Any], form: Any) -> Screening:
    """The coder's saved answers with the ones just submitted on top, judged against the listing's questions."""
    questions = listing_screening.normalise(listing.screening_questions)
    submitted = screening.read_submitted(questions, form or {})
    saved = screening.saved_answers(coder["screening_answers"])
    answers = {**screening.saved_answers(coder["screening_answers"], coder["home_state"]), **submitted}
    keep = screening.storable({**saved, **submitted}, coder["home_state"]) if submitted else None
    return Screening(screening.record(questions, answers), keep,
                     listing_screening.verdict(questions, answers))


async def _write_screening(application_id: int, user: Any, email: str, found: Any, result: Screening,
                           settings: Settings) -> None:
    """Inside the apply's transaction: keep the answers on the profile and, when a must-meet answer failed or was
    missing, move the application to not_selected with the reason and mail the coder (once: this runs only for
    the insert that created the application)."""
    if result.answers is not None:
        await CoderProfile.update({CoderProfile.screening_answers: json.dumps(result.answers)}).where(
            CoderProfile.user == user.id)
    if not result.verdict["screened_out"]:
        return
    reason = "Screened out: " + "; ".join(result.verdict["reasons"])
    await Application.update({Application.stage: ApplicationStage.NOT_SELECTED}).where(
        Application.id == application_id)
    await ApplicationEvent.insert(ApplicationEvent(application=application_id, actor=None, actor_kind="system",
                                                   from_stage=ApplicationStage.SUBMITTED,
                                                   to_stage=ApplicationStage.NOT_SELECTED, note=reason[:2000]))
    name = getattr(user, "display_name", "") or ""
    subject, text = screening.screened_out_mail(name, found.listing.title, found.employer.name,
                                                result.verdict["reasons"], settings.base_url)
    await mail.queue_mail(email, subject, text)


async def apply(listing_id: int, user: Any, cover_note: str, settings: Settings, answers: Any = None,
                source: str = listing_stats.DIRECT) -> ApplyResult:
    """Apply to a listing with the profile as it is now, once.

    Only a coder with a confirmed email, only to a published unhidden listing, only when their
    state is eligible for a remote job. Everything is read, the resume copied (inside the store) and the
    mail composed first; then one short transaction writes the application (with its profile snapshot and
    resume copy), its history row and every employer member's mail (one multi-row insert). The unique
    `listing_coder` column makes concurrent attempts create exactly one; a second attempt returns the
    first application (created=False). The apply click is counted in `listings.stats` under `source`.

    `answers` (the apply form) answers the listing's screener questions; they are kept on the profile, and a
    must-meet answer that fails (or is missing) moves the new application straight to not_selected with the
    reason and one mail to the coder, in the same transaction (`_write_screening`).
    """
    cover_note = (cover_note or "").replace("\r\n", "\n").strip()
    if len(cover_note) > COVER_NOTE_MAX:
        raise CoderError(f"Keep your cover note to {COVER_NOTE_MAX} characters (it has {len(cover_note)}).", "cover_note")
    if getattr(user, "role", None) != "coder":
        raise NotAllowed()
    found, coder = await db.gather(listing_with_employer(listing_id), coder_side(user.id, listing_id))
    listing = found.listing if found else None
    if listing is None or (is_withheld(listing) and listing.status == ListingState.PUBLISHED) or listing.status in (
            ListingState.DRAFT, ListingState.AWAITING_PAYMENT, ListingState.REJECTED):
        raise NotAllowed()
    if coder["application"] is not None:
        return ApplyResult(coder["application"]["id"], False, coder["application"]["created_at"])
    if listing.status != ListingState.PUBLISHED:
        raise CoderError(listing_notice(listing.status, is_withheld(listing)) + " It no longer accepts applications.")
    if not user.email_confirmed:
        raise CoderError("Confirm your email address before applying: open the link we mailed you, "
                         "or ask for a new one on your account page.")
    match = qualification_match(coder["held"], coder["home_state"], {"work_mode": listing.work_mode, **found.details})
    if match["state_eligible"] is False:
        raise CoderError(match["reasons"][-1] + " You cannot apply to it.")
    screened = _screen(listing, coder, answers)
    profile = await get_or_create_profile(user.id)
    if not profile.name:
        raise CoderError("Add your name to your profile before applying.")
    email = getattr(user, "email", None) or (await User.objects().get(User.id == user.id)).email
    details, mail_to = await db.gather(profile_details(profile), employer_member_emails(listing.employer))
    snapshot = {**details, "email": email, "taken_at": clock.now().isoformat(),
                "match": {k: match[k] for k in ("qualifies", "missing", "any_of_missing", "preferred_met",
                                                "state_eligible")}}
    subject, before_link, after_link = _employer_mail_parts(listing, profile.name, match,
                                                            screened.verdict["screened_out"])
    storage = storage_for(settings)
    resume_copy = await _copy_resume(profile, storage)  # the store's copy stays outside the write lock
    application_id = None
    try:
        async with db.transaction():
            rows = await Application.insert(Application(
                listing=listing_id, coder=user.id, listing_coder=f"{listing_id}:{user.id}",
                stage=ApplicationStage.SUBMITTED, cover_note=cover_note,
                profile_snapshot=json.dumps(snapshot, default=str), resume_key=resume_copy,
                screening=json.dumps(screened.record), screened_out=screened.verdict["screened_out"],
                resume_filename=profile.resume_filename if resume_copy else "",
                resume_content_type=profile.resume_content_type if resume_copy else "",
                created_at=clock.now(), updated_at=clock.now(),  # the 10- and 30-day rules read this clock
            )).on_conflict(target=Application.listing_coder, action="DO NOTHING").returning(Application.id)
            if rows:
                application_id = rows[0]["id"]
                await ApplicationEvent.insert(ApplicationEvent(application=application_id, actor=user.id,
                                                               actor_kind="coder", from_stage="",
                                                               to_stage=ApplicationStage.SUBMITTED))
                link = f"{settings.base_url}/employer/applications/{application_id}"
                await mail.queue_mails([mail.mail_payload(to, subject, before_link + link + after_link)
                                        for to in mail_to])
                await _write_screening(application_id, user, email, found, screened, settings)
    except BaseException:
        if resume_copy:
            await storage.delete(resume_copy)
        raise
    if application_id is None:  # a concurrent attempt won
        if resume_copy:
            await storage.delete(resume_copy)
        return await _existing_application(listing_id, user.id)
    listing_stats.count_apply(listing_id, source)
    return ApplyResult(application_id, True, screened_out=screened.verdict["screened_out"])


async def _copy_resume(profile: Any, storage: Any) -> str | None:
    """A copy of the coder's resume for the employer to keep, made inside the store (None without one); its key."""
    if not profile.resume_key:
        return None
    key = new_key("application-resumes", ".docx" if profile.resume_content_type == DOCX_TYPE else ".pdf")
    try:
        await storage.copy(profile.resume_key, key)  # no bytes pass through the web process
    except FileNotFoundError:
        return None
    return key


async def _existing_application(listing_id: int, user_id: int) -> ApplyResult | None:
    row = await Application.select(Application.id, Application.created_at).where(
        Application.listing_coder == f"{listing_id}:{user_id}").first()
    return ApplyResult(row["id"], False, row["created_at"]) if row else None


async def employer_member_emails(employer_id: int) -> list[str]:
    rows = await EmployerMember.select(EmployerMember.user.email.as_alias("email"),
                                       EmployerMember.user.login_disabled.as_alias("disabled")).where(
        EmployerMember.employer == employer_id)
    return [r["email"] for r in rows if not r["disabled"]]


def _employer_mail_parts(listing: Listing, coder_name: str, match: dict[str, Any],
                         screened_out: bool = False) -> tuple[str, str, str]:
    """(subject, text before the application's link, text after it): the link needs the new application's id."""
    fit = ("They hold every required credential.\n" if match["credentials_met"]
           else "They do not hold every required credential (" + ", ".join(match["missing"] + match["any_of_missing"])
           + ").\n")
    if screened_out:
        fit += ("An answer did not meet a must-meet screener question, so the application is marked Not selected "
                "(you can still move it).\n")
    before = (f"{coder_name} applied to your listing \"{listing.title}\" on CareerCenter.\n\n{fit}\n"
              f"Review the application, their profile and resume here:\n")
    return f"New application: {listing.title}", before, "\n"


async def _locked_application(application_id: int) -> Application | None:
    """The application row, locked on PostgreSQL (call inside a transaction): a withdrawal and an employer's
    move arriving together are applied one after the other, never both from the same old stage."""
    return await db.locked_row(Application, Application.id == application_id)


async def move_application(application_id: int, to_stage: str, actor_user_id: int | None, note: str = "", *,
                           settings: Settings | None = None) -> None:
    """Move an application to `to_stage` (the applicant tracker's call); writes its history row.

    Refuses withdrawn applications, unknown stages and `withdrawn` (only the coder withdraws,
    through `withdraw`). For interviewing, offer, hired and not_selected the coder gets a short,
    kind mail; `note` is the employer's optional line to the coder, shown in the mail and history.
    """
    if to_stage not in STAGES or to_stage == ApplicationStage.WITHDRAWN:
        raise CoderError(f"{to_stage!r} is not a stage an employer can move an application to.")
    note = (note or "").strip()[:2000]
    actor_kind = "system"
    if actor_user_id is not None:
        actor = await User.select(User.role).where(User.id == actor_user_id).first()
        actor_kind = {"admin": "admin", "coder": "coder"}.get(actor["role"] if actor else "", "employer")
    async with db.transaction():
        app = await _locked_application(application_id)
        if app is None:
            raise NotAllowed()
        if app.stage == ApplicationStage.WITHDRAWN:
            raise CoderError("The coder withdrew this application; it can no longer be moved.")
        if app.stage == to_stage:
            return
        await Application.update({Application.stage: to_stage, Application.updated_at: clock.now()}).where(
            Application.id == application_id)
        await ApplicationEvent.insert(ApplicationEvent(application=application_id, actor=actor_user_id,
                                                       actor_kind=actor_kind, from_stage=app.stage, to_stage=to_stage,
                                                       note=note))
        # the response record: only a move by the employer's people is a first action (automatic moves are not)
        await (employer_response.employer_acted(application_id, app.listing) if actor_kind == "employer"
               else employer_response.application_moved(app.listing))
        if to_stage in STAGE_MAILS and app.coder_deleted_at is None:
            await _mail_coder_stage(app, to_stage, note, settings)


async def _mail_coder_stage(app: Application, to_stage: str, note: str, settings: Settings | None) -> None:
    listing = await Listing.select(Listing.title, Listing.employer.name.as_alias("employer_name")).where(
        Listing.id == app.listing).first()
    coder = await User.select(User.email, User.display_name).where(User.id == app.coder).first()
    if listing is None or coder is None:
        return
    verb, kind_line = STAGE_MAILS[to_stage]
    lines = [f"Hello {coder['display_name'] or 'there'},", "",
             f"{listing['employer_name']} {verb} \"{listing['title']}\".", "", kind_line]
    if note:
        lines += ["", f"A message from {listing['employer_name']}:", note]
    if settings is not None:
        lines += ["", f"See all your applications: {settings.base_url}/account/applications"]
    lines += ["", "— CareerCenter"]
    subject = {ApplicationStage.INTERVIEWING: "An interview invitation", ApplicationStage.OFFER: "You have an offer",
               ApplicationStage.HIRED: "Congratulations on the new job",
               ApplicationStage.NOT_SELECTED: "An update on your application"}[to_stage]
    await mail.queue_mail(coder["email"], f"{subject}: {listing['title']}", "\n".join(lines))


async def mark_viewed(application_id: int) -> None:
    """Record the first time the employer opened the application (shown to the coder); later views change nothing."""
    await Application.update({Application.viewed_at: clock.now()}).where(
        (Application.id == application_id) & Application.viewed_at.is_null())


async def withdraw(application_id: int, user_id: int) -> None:
    """The coder withdraws their application: it is frozen at `withdrawn` with a history row."""
    async with db.transaction():
        app = await _locked_application(application_id)
        if app is None or app.coder != user_id:
            raise NotAllowed()
        if app.stage == ApplicationStage.WITHDRAWN:
            return
        if app.stage in (ApplicationStage.HIRED, ApplicationStage.NOT_SELECTED):
            raise CoderError("This application is already decided; there is nothing to withdraw.")
        await Application.update({Application.stage: ApplicationStage.WITHDRAWN,
                                  Application.updated_at: clock.now()}).where(
            Application.id == application_id)
        await ApplicationEvent.insert(ApplicationEvent(application=application_id, actor=user_id, actor_kind="coder",
                                                       from_stage=app.stage, to_stage=ApplicationStage.WITHDRAWN))
        await employer_response.application_moved(app.listing)  # what the response record counts changed


async def my_applications(user_id: int) -> list[dict[str, Any]]:
    """The coder's applications, newest first, each with its history in plain words and the job's status."""
    apps = await Application.select(
        Application.id, Application.stage, Application.created_at, Application.viewed_at, Application.cover_note,
        Application.resume_key, Application.first_employer_action_at, Application.listing.id.as_alias("listing_id"),
        Application.listing.title.as_alias("title"), Application.listing.slug.as_alias("slug"),
        Application.listing.status.as_alias("listing_status"), Application.listing.hidden.as_alias("hidden"),
        Application.listing.paused.as_alias("paused"),
        Application.listing.employer.name.as_alias("employer_name"),
    ).where(Application.coder == user_id).order_by(Application.created_at, ascending=False).order_by(
        Application.id, ascending=False)
    if not apps:
        return []
    ids = [a["id"] for a in apps]
    events = await ApplicationEvent.select().where(ApplicationEvent.application.is_in(ids)).order_by(
        ApplicationEvent.created_at).order_by(ApplicationEvent.id)
    by_app: dict[int, list[dict]] = {}
    for event in events:
        by_app.setdefault(event["application"], []).append({
            "stage": event["to_stage"], "label": STAGE_LABELS.get(event["to_stage"], event["to_stage"]),
            "at": event["created_at"], "note": event["note"] if event["actor_kind"] != "coder" else "",
        })
    listing_changes = await _listing_status_changes([a["listing_id"] for a in apps])
    out = []
    for a in apps:
        out.append({
            **a,
            "stage_label": STAGE_LABELS.get(a["stage"], a["stage"]),
            "events": by_app.get(a["id"], []),
            "listing_url": listing_path(a["listing_id"], a["slug"]),
            "listing_notice": listing_notice(a["listing_status"], is_withheld(a)),
            "listing_changed_at": listing_changes.get(a["listing_id"]),
            "can_withdraw": a["stage"] not in FINAL_STAGES,
            "response_notice": response_notice(a),
            "has_resume": bool(a.pop("resume_key")),
        })
    return out


async def _listing_status_changes(listing_ids: list[int]) -> dict[int, dt.datetime]:
    """When each listing last left `published` (for "this job was closed on …")."""
    rows = await ListingEvent.select(ListingEvent.listing, ListingEvent.created_at).where(
        ListingEvent.listing.is_in(listing_ids) & (ListingEvent.from_status == ListingState.PUBLISHED)
        & (ListingEvent.to_status != ListingState.PUBLISHED)).order_by(ListingEvent.created_at)
    return {r["listing"]: r["created_at"] for r in rows}


DASHBOARD_DAYS = 30


def _as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


async def dashboard_figures(now: dt.datetime) -> dict[str, Any]:
    """The admin dashboard's panel: applications submitted on each of the last 30 days (UTC), oldest first."""
    today = now.date()
    first = today - dt.timedelta(days=DASHBOARD_DAYS - 1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=dt.timezone.utc)
    counts = {first + dt.timedelta(days=i): 0 for i in range(DASHBOARD_DAYS)}
    for row in await Application.select(Application.created_at.as_alias("at")).where(Application.created_at >= start):
        at = _as_datetime(row["at"])
        if at is not None:
            day = at.astimezone(dt.timezone.utc).date()
            if day in counts:
                counts[day] += 1
    return {"applications_per_day": sorted(counts.items())}
