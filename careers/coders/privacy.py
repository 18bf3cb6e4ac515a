"""A coder's data: download everything we hold, delete the account, and the retention rule.

Deleting removes the profile (with its credentials and other fields), the resume,
job alerts and saved jobs at once, and closes the login (sessions ended, email
and password replaced). Applications already sent stay with the employer for
their retention window: RETENTION_DAYS after the application was sent. A worker
job then anonymises each one (snapshot, cover note and resume copy removed).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import secrets
import zipfile
from typing import Any

from careers.accounts import service as accounts
from careers.accounts.tables import AccountToken, Session, User
from careers.coders import profiles, service
from careers.coders.tables import (
    Application,
    ApplicationEvent,
    CoderCodeSet,
    CoderCredential,
    CoderProfile,
    CoderRemoteState,
    CoderSetting,
    CoderSpecialty,
    CredentialCheck,
    JobAlert,
    SavedJob,
)
from careers.core import clock, db
from careers.core.config import Settings
from careers.core.storage import storage_for

RETENTION_DAYS = 90  # employers keep an application's snapshot this long after a coder deletes their account
RULE = (f"Applications you already sent stay with those employers for {RETENTION_DAYS} days after you sent each one "
        "(their retention window, so they can finish hiring). After that we anonymise them: your name, contact "
        "details, profile snapshot, cover note and resume copy are removed; only the fact that someone applied remains.")


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


async def export(user_id: int, settings: Settings) -> bytes:
    """A zip with data.json (account, profile, applications with history, saved jobs, alerts) and the resume."""
    user = await User.objects().get(User.id == user_id)
    profile = await service.get_or_create_profile(user_id)
    details = await profiles.profile_details(profile)
    applications = await Application.select(
        Application.id, Application.stage, Application.cover_note, Application.created_at, Application.viewed_at,
        Application.profile_snapshot, Application.screening, Application.listing.id.as_alias("listing_id"),
        Application.listing.title.as_alias("listing_title"),
    ).where(Application.coder == user_id).order_by(Application.id).output(load_json=True)
    ids = [a["id"] for a in applications]
    events = await ApplicationEvent.select(ApplicationEvent.application, ApplicationEvent.from_stage,
                                           ApplicationEvent.to_stage, ApplicationEvent.note, ApplicationEvent.actor_kind,
                                           ApplicationEvent.created_at).where(
        ApplicationEvent.application.is_in(ids)).order_by(ApplicationEvent.id) if ids else []
    for app in applications:
        app["history"] = [{k: v for k, v in e.items() if k != "application"} for e in events if e["application"] == app["id"]]
    saved = await SavedJob.select(SavedJob.created_at, SavedJob.listing.id.as_alias("listing_id"),
                                  SavedJob.listing.title.as_alias("listing_title")).where(SavedJob.user == user_id)
    alerts = await JobAlert.select(JobAlert.email, JobAlert.query, JobAlert.frequency, JobAlert.created_at,
                                   JobAlert.confirmed_at, JobAlert.last_sent_at, JobAlert.active).where(
        JobAlert.user == user_id)
    data = {
        "exported_at": clock.now(),
        "account": {"email": user.email, "name": user.display_name, "created_at": user.created_at,
                    "email_confirmed_at": user.email_confirmed_at, "last_login_at": user.last_login_at},
        "profile": details,
        "screener_answers": json.loads(profile.screening_answers) if isinstance(profile.screening_answers, str)
        else profile.screening_answers,
        "applications": applications,
        "saved_jobs": saved,
        "job_alerts": alerts,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, indent=2, default=_json_default, ensure_ascii=False))
        if profile.resume_key:
            try:
                resume = await storage_for(settings).read(profile.resume_key)
            except FileNotFoundError:
                resume = None
            if resume is not None:
                archive.writestr("resume/" + (profile.resume_filename or "resume"), resume)
        archive.writestr("README.txt", "Everything CareerCenter holds about your account.\n"
                         "data.json: your account, profile, screener answers, applications (with the snapshot and "
                         "answers each employer received and the stage history), saved jobs and job alerts.\nresume/: your current resume, if any.\n")
    return buffer.getvalue()


async def delete_account(user_id: int, password: str, settings: Settings) -> None:
    """Delete a coder's account after checking their password (AccountError(field='password') if wrong)."""
    user = await User.objects().get(User.id == user_id)
    if not accounts.verify_password(user.password_hash, password or ""):
        raise accounts.AccountError("That password is wrong.", "password")
    profile = await CoderProfile.objects().where(CoderProfile.user == user_id).first()
    certificates = [r["certificate_key"] for r in await CredentialCheck.select(CredentialCheck.certificate_key).where(
        CredentialCheck.profile == (profile.id if profile else 0)) if r["certificate_key"]]
    now = clock.now()
    async with db.transaction():
        if profile is not None:
            for table in (CredentialCheck, CoderCredential, CoderSetting, CoderSpecialty, CoderCodeSet, CoderRemoteState):
                await table.delete().where(table.profile == profile.id)
            await CoderProfile.delete().where(CoderProfile.id == profile.id)
        await SavedJob.delete().where(SavedJob.user == user_id)
        await JobAlert.delete().where(JobAlert.user == user_id)
        await JobAlert.delete().where(JobAlert.email == user.email)
        await Application.update({Application.coder_deleted_at: now}).where(
            (Application.coder == user_id) & Application.coder_deleted_at.is_null())
        await Session.delete().where(Session.user == user_id)
        await AccountToken.delete().where(AccountToken.user == user_id)
        # The users row stays (applications still point at it until anonymised) but holds nothing personal.
        await User.update({
            User.email: f"deleted-{user_id}-{secrets.token_hex(4)}@deleted.invalid",
            User.display_name: "Deleted coder",
            User.password_hash: "!deleted",
            User.login_disabled: True,
            User.totp_secret_sealed: None,
        }).where(User.id == user_id)
    if profile is not None and profile.resume_key:
        await storage_for(settings).delete(profile.resume_key)
    for key in certificates:  # credential certificates go with the profile
        await storage_for(settings).delete(key)
    await anonymise_due(settings, now)  # applications already past the window go at once


async def anonymise_due(settings: Settings, now: dt.datetime | None = None) -> int:
    """Anonymise applications of deleted accounts once RETENTION_DAYS have passed since each was sent."""
    now = now or clock.now()
    cutoff = now - dt.timedelta(days=RETENTION_DAYS)
    due = await Application.select(Application.id, Application.resume_key).where(
        Application.coder_deleted_at.is_not_null() & Application.anonymised_at.is_null()
        & (Application.created_at <= cutoff))
    storage = storage_for(settings)
    for row in due:
        async with db.transaction():
            await Application.update({
                Application.profile_snapshot: json.dumps({"anonymised": True}),
                Application.cover_note: "",
                Application.screening: "[]",  # the answers are the coder's own words
                Application.resume_key: None,
                Application.resume_filename: "",
                Application.resume_content_type: "",
                Application.anonymised_at: now,
            }).where(Application.id == row["id"])
            await ApplicationEvent.update({ApplicationEvent.note: ""}).where(ApplicationEvent.application == row["id"])
        if row["resume_key"]:
            await storage.delete(row["resume_key"])
    return len(due)
