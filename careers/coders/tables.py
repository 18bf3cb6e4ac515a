"""Coders: profiles and their multi-valued fields, applications and their history, saved jobs, job alerts.

Multi-valued fields live in join tables with exact values (never array columns:
on SQLite Array.any() is a LIKE and CPC would match CPC-A). Piccolo has no
composite unique constraint, so pairs that must be unique carry one unique
text column built from both ids (e.g. `listing_coder` = "12:34").
"""

import enum

from piccolo.columns import JSONB, Boolean, Date, ForeignKey, Integer, Numeric, Serial, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from careers.accounts.tables import User
from careers.core.schema import value_table
from listings.tables import Listing


class ApplicationStage(enum.StrEnum):
    """Where an application stands; only the coder withdraws, and a withdrawn application never moves."""

    SUBMITTED = "submitted"
    REVIEWED = "reviewed"
    INTERVIEWING = "interviewing"
    OFFER = "offer"
    HIRED = "hired"
    NOT_SELECTED = "not_selected"
    WITHDRAWN = "withdrawn"


class CoderProfile(Table, tablename="coder_profiles"):
    id = Serial(primary_key=True)
    user = ForeignKey(references=User, unique=True)
    handle = Varchar(length=40, unique=True)
    visible = Boolean(default=False)  # public page /coders/{handle} only when true
    name = Varchar(length=200, default="")
    headline = Varchar(length=200, default="")
    years_experience = Integer(default=0)
    tools = Varchar(length=500, default="")  # EHR / encoder tools, free text
    zip = Varchar(length=10, default="")
    city = Varchar(length=100, default="")
    state = Varchar(length=2, default="", index=True)
    desired_work_mode = Varchar(length=10, default="")  # remote, hybrid, onsite or "" (any)
    desired_pay_min = Numeric(digits=(12, 2), null=True, default=None)
    desired_pay_unit = Varchar(length=8, default="")
    summary_md = Text(default="")
    summary_html = Text(default="")  # sanitised at save time
    resume_key = Varchar(length=300, null=True, default=None)  # storage key, never a static path
    resume_filename = Varchar(length=255, default="")
    resume_content_type = Varchar(length=120, default="")
    resume_size = Integer(default=0)
    resume_uploaded_at = Timestamptz(null=True, default=None)
    member_number = Varchar(length=64, default="")  # shown only to employers the coder applied to
    screening_answers = JSONB(default="{}")  # listings.screening.answer_key -> the coder's last answer
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class CoderCredential(Table, tablename="coder_credentials"):
    id = Serial(primary_key=True)
    profile = ForeignKey(references=CoderProfile, index=True)
    credential = Varchar(length=16, index=True)  # listings Credential.code
    year_earned = Integer(null=True, default=None)


CoderSetting = value_table("CoderSetting", "coder_settings", ("profile", CoderProfile), 32, __name__)
CoderSpecialty = value_table("CoderSpecialty", "coder_specialties", ("profile", CoderProfile), 32, __name__)
CoderCodeSet = value_table("CoderCodeSet", "coder_code_sets", ("profile", CoderProfile), 16, __name__)
CoderRemoteState = value_table("CoderRemoteState", "coder_remote_states", ("profile", CoderProfile), 2, __name__,
                               "States where the coder can work remote (besides their home state).")


class Application(Table, tablename="applications"):
    id = Serial(primary_key=True)
    listing = ForeignKey(references=Listing, index=True)
    coder = ForeignKey(references=User, index=True)
    listing_coder = Varchar(length=40, unique=True)  # f"{listing_id}:{user_id}": one application per pair
    stage = Varchar(length=16, default=ApplicationStage.SUBMITTED, index=True, choices=ApplicationStage)
    cover_note = Text(default="")
    profile_snapshot = JSONB(default="{}")
    resume_key = Varchar(length=300, null=True, default=None)  # a copy made at apply time
    resume_filename = Varchar(length=255, default="")
    resume_content_type = Varchar(length=120, default="")
    viewed_at = Timestamptz(null=True, default=None)
    coder_deleted_at = Timestamptz(null=True, default=None)  # the coder deleted their account
    anonymised_at = Timestamptz(null=True, default=None)
    screening = JSONB(default="[]")  # each screener question as asked, with the coder's answer and whether it met
    screened_out = Boolean(default=False, index=True)  # a must-meet answer failed or was missing at apply time
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    updated_at = Timestamptz(default=TimestamptzNow())
    # The first stage change or note by the employer's people (never an automatic move): the 10-day notices' and the
    # response record's input (issue 18).
    first_employer_action_at = Timestamptz(null=True, default=None)
    no_response_mailed_at = Timestamptz(null=True, default=None)  # the coder's one "no response yet" mail went
    employer_nudged_at = Timestamptz(null=True, default=None)  # listed in the employer's untouched-applicants nudge


class ApplicationEvent(Table, tablename="application_events"):
    id = Serial(primary_key=True)
    application = ForeignKey(references=Application, index=True)
    actor = ForeignKey(references=User, null=True)
    actor_kind = Varchar(length=16)  # coder, employer, admin, system
    from_stage = Varchar(length=16, default="")
    to_stage = Varchar(length=16)
    note = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())


class CredentialCheckState(enum.StrEnum):
    """Where a coder's claim to hold a credential stands with our verification queue."""

    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    EXPIRED = "expired"  # was verified; the expiry date passed (the credential stays on the profile)


class CredentialCheck(Table, tablename="credential_checks"):
    """The issuing body's number, expiry and certificate for one credential a coder holds, and our decision.

    Kept apart from `coder_credentials` (which a profile save replaces wholesale) so a decision survives edits;
    `profile_credential` = f"{profile_id}:{code}" makes the pair unique.
    """

    id = Serial(primary_key=True)
    profile = ForeignKey(references=CoderProfile, index=True)
    credential = Varchar(length=16, index=True)
    profile_credential = Varchar(length=40, unique=True)
    member_number = Varchar(length=64, default="")
    expires_on = Date(null=True, default=None)
    certificate_key = Varchar(length=300, null=True, default=None)  # storage key, content-checked on upload
    certificate_filename = Varchar(length=255, default="")
    certificate_content_type = Varchar(length=120, default="")
    state = Varchar(length=16, default=CredentialCheckState.PENDING, index=True, choices=CredentialCheckState)
    submitted_at = Timestamptz(default=TimestamptzNow())
    decided_at = Timestamptz(null=True, default=None)
    decided_by = ForeignKey(references=User, null=True)
    reason = Text(default="")  # the admin's reason (shown to the coder on a rejection)
    reminded_for = Date(null=True, default=None)  # the expiry date the 30-day reminder was sent for


class SavedJob(Table, tablename="saved_jobs"):
    id = Serial(primary_key=True)
    user = ForeignKey(references=User, index=True)
    listing = ForeignKey(references=Listing, index=True)
    user_listing = Varchar(length=40, unique=True)  # f"{user_id}:{listing_id}"
    created_at = Timestamptz(default=TimestamptzNow())


class JobAlert(Table, tablename="job_alerts"):
    id = Serial(primary_key=True)
    user = ForeignKey(references=User, null=True, index=True)  # null: a guest alert
    email = Varchar(length=320, index=True)
    query = Text(default="")  # the /jobs query string
    frequency = Varchar(length=8, default="daily")  # daily, weekly
    confirmed_at = Timestamptz(null=True, default=None)  # guests confirm by mail (double opt-in)
    token_nonce = Varchar(length=32)  # part of the signed manage/unsubscribe token
    last_sent_at = Timestamptz(null=True, default=None)
    last_checked_at = Timestamptz(null=True, default=None)  # the last digest run, whether or not it found jobs
    active = Boolean(default=True, index=True)
    unsubscribed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class AlertSentListing(Table, tablename="alert_sent_listings"):
    """A listing already mailed to an alert: never sent to it again."""

    id = Serial(primary_key=True)
    alert = ForeignKey(references=JobAlert, index=True)
    listing = ForeignKey(references=Listing, index=True)
    alert_listing = Varchar(length=40, unique=True)  # f"{alert_id}:{listing_id}"
    sent_at = Timestamptz(default=TimestamptzNow())
