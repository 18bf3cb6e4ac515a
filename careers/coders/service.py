"""Coders: registration, profiles and resumes, the qualification rule, applications and saved jobs.

Job alerts live in `careers.coders.alerts`, data export and account deletion in
`careers.coders.privacy`. Nothing here knows HTTP: pages call these functions.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import secrets
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from careers.accounts import service as accounts
from careers.accounts.tables import User
from careers.coders.schemas import SUMMARY_MAX, ProfileForm  # noqa: F401 - SUMMARY_MAX is part of this interface
from careers.coders.tables import (
    Application,
    ApplicationEvent,
    ApplicationStage,
    CoderCodeSet,
    CoderCredential,
    CoderProfile,
    CoderRemoteState,
    CoderSetting,
    CoderSpecialty,
    SavedJob,
)
from careers.core import clock, db, forms, geo, mail, text, uploads
from careers.core.config import Settings
from careers.core.errors import DomainError, NotFound
from careers.core.forms import FormErrors
from employers.tables import EmployerMember
from listings.tables import Credential, Listing, ListingCredential, ListingEvent, ListingRemoteState
from listings.vocabulary import CODE_SETS, PAY_UNITS, SETTINGS, SPECIALTIES, WORK_MODES, ListingState

RESUME_MAX_BYTES = 5 * 1024 * 1024
PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
COVER_NOTE_MAX = 3000
RETENTION_DAYS = 90  # employers keep an application's snapshot this long after a coder deletes their account

STAGES = tuple(ApplicationStage)
STAGE_LABELS = {
    ApplicationStage.SUBMITTED: "Submitted",
    ApplicationStage.REVIEWED: "Reviewed by the employer",
    ApplicationStage.INTERVIEWING: "Interviewing",
    ApplicationStage.OFFER: "Offer made",
    ApplicationStage.HIRED: "Hired",
    ApplicationStage.NOT_SELECTED: "Not selected",
    ApplicationStage.WITHDRAWN: "Withdrawn by you",
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
LISTING_NOTICES = {
    ListingState.EXPIRED: "This job has expired.",
    ListingState.CLOSED: "This job was closed by the employer.",
    ListingState.REMOVED: "This job was removed from CareerCenter.",
    ListingState.IN_REVIEW: "This job is being reviewed after an edit and is not shown at the moment.",
    ListingState.DRAFT: "This job is not shown at the moment.",
    ListingState.AWAITING_PAYMENT: "This job is not shown at the moment.",
    ListingState.REJECTED: "This job was not published.",
}


class CoderError(DomainError):
    """A coder rule was broken; `field` names the form field it belongs to, pages show `message`."""


class NotAllowed(NotFound):
    """The object does not exist for this person (pages answer 404); not a CoderError, so rule catches skip it."""

    def __init__(self) -> None:
        super().__init__("Not found.")



def listing_path(listing_id: int, slug: str) -> str:
    return f"/jobs/{listing_id}/{slug or 'job'}"


def listing_notice(status: str, hidden: bool) -> str:
    """What a coder is told about a job that is no longer (or not yet) live; "" when it is live."""
    if status == ListingState.PUBLISHED and not hidden:
        return ""
    if status == ListingState.PUBLISHED:
        return "This job is not shown at the moment."
    return LISTING_NOTICES.get(status, "This job is not shown at the moment.")


# ---- registration and handles -----------------------------------------------------------------

_HANDLE = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")


async def _fresh_handle(name: str) -> str:
    base = text.slugify(name, max_length=30) or "coder"
    if len(base) < 3:
        base = f"coder-{base}"
    for _ in range(20):
        handle = f"{base}-{secrets.token_hex(2)}"
        if not await CoderProfile.exists().where(CoderProfile.handle == handle):
            return handle
    return f"coder-{secrets.token_hex(8)}"


async def register_coder(email: str, password: str, display_name: str, settings: Settings):
    """Create a coder account with an empty (hidden) profile and mail the confirmation link, in one transaction."""
    if not display_name.strip():
        raise accounts.AccountError("Enter your name.", "display_name")
    async with db.transaction():
        user = await accounts.create_user(email, password, "coder", display_name)
        await CoderProfile.insert(
            CoderProfile(user=user.id, handle=await _fresh_handle(display_name), name=display_name.strip()[:200])
        )
        await accounts.send_confirmation(user, settings)
    return user


async def get_or_create_profile(user_id: int) -> CoderProfile:
    """The coder's profile row, created empty the first time it is needed."""
    profile = await CoderProfile.objects().where(CoderProfile.user == user_id).first()
    if profile is not None:
        return profile
    user = await User.objects().get(User.id == user_id)
    await CoderProfile.insert(
        CoderProfile(user=user_id, handle=await _fresh_handle(user.display_name), name=user.display_name)
    ).on_conflict(target=CoderProfile.user, action="DO NOTHING")
    return await CoderProfile.objects().get(CoderProfile.user == user_id)


# ---- Markdown -------------------------------------------------------------------------------------


def render_markdown(source: str) -> str:
    """A summary as safe HTML (the kernel's one policy); its headings rank below the profile's own sections."""
    return text.render_markdown(source, top_heading=3)


# ---- profiles ---------------------------------------------------------------------------------------


async def active_credentials() -> list[dict]:
    """The credential taxonomy a coder picks from: active codes with their names, grouped by issuing body."""
    return await Credential.select(Credential.code, Credential.full_name, Credential.issuing_body,
                                   Credential.entry_level).where(Credential.active == True).order_by(  # noqa: E712
        Credential.issuing_body).order_by(Credential.code)


def resolve_zip(zip_code: str) -> tuple[str, str, str]:
    """(zip5, city, state) of a US ZIP code; CoderError(field='zip') if it is malformed or unknown."""
    place = geo.lookup_zip(zip_code)
    if place is None:
        raise CoderError(geo.zip_problem(zip_code, "60614"), "zip")
    return place.zip, place.city, place.state


@dataclass
class ProfileInput:
    """A validated profile form."""

    handle: str
    visible: bool
    name: str
    headline: str
    years_experience: int
    tools: str
    zip: str
    city: str
    state: str
    desired_work_mode: str
    desired_pay_min: Decimal | None
    desired_pay_unit: str
    summary_md: str
    member_number: str
    credentials: dict[str, int | None]  # code -> year earned
    settings: list[str]
    specialties: list[str]
    code_sets: list[str]
    remote_states: list[str]


async def _check_handle(user_id: int, handle: str, errors: FormErrors) -> None:
    if handle and not _HANDLE.match(handle):
        errors["handle"] = "Use 3 to 40 lower-case letters, digits and dashes, starting with a letter or digit."
    elif handle and await CoderProfile.exists().where((CoderProfile.handle == handle) & (CoderProfile.user != user_id)):
        errors["handle"] = "Another coder already uses this profile address; pick another."
    elif not handle:
        errors["handle"] = "Enter your profile address."


def _check_pay_unit(profile: ProfileForm, errors: FormErrors) -> str:
    """The unit is needed with an amount; without one, a bad unit is still reported and then forgotten."""
    unit = profile.desired_pay_unit
    pay_given = profile.desired_pay_min is not None or "desired_pay_min" in errors
    if unit not in PAY_UNITS and (pay_given or unit):
        errors["desired_pay_unit"] = "Pick per hour, per year or per chart."
    return unit if pay_given or unit in PAY_UNITS else ""


async def _check_credentials(profile: ProfileForm, form: Mapping[str, Any], errors: FormErrors) -> dict[str, int | None]:
    """Known credential codes with the year each was earned (the `year_<code>` field, optional)."""
    known_codes = {c["code"] for c in await active_credentials()}
    credentials: dict[str, int | None] = {}
    this_year = clock.now().year
    for code in profile.credentials:
        if code not in known_codes:
            errors["credentials"] = f"{code} is not a credential we know."
            continue
        year_raw = forms.text_value(form, f"year_{code}")
        year: int | None = None
        if year_raw:
            if not year_raw.isdigit() or not 1950 <= int(year_raw) <= this_year:
                errors["credentials"] = (f"Enter the year you earned {code} as four digits (1950–{this_year}), "
                                         "or leave it empty.")
            else:
                year = int(year_raw)
        credentials[code] = year
    return credentials


async def validate_profile(user_id: int, form: Mapping[str, Any]) -> tuple[ProfileInput | None, dict[str, str]]:
    """Check every field of the profile form; returns (input, {}) or (None, {field: message})."""
    profile, errors = forms.read(ProfileForm, form)
    await _check_handle(user_id, profile.handle, errors)
    zip5, city, state = "", "", ""
    if profile.zip:
        try:
            zip5, city, state = resolve_zip(profile.zip)
        except CoderError as exc:
            errors["zip"] = exc.message
    pay_unit = _check_pay_unit(profile, errors)
    credentials = await _check_credentials(profile, form, errors)
    if errors:
        return None, dict(errors)
    return ProfileInput(
        handle=profile.handle, visible=profile.visible, name=profile.name, headline=profile.headline,
        years_experience=profile.years_experience, tools=profile.tools, zip=zip5, city=city, state=state,
        desired_work_mode=profile.desired_work_mode, desired_pay_min=profile.desired_pay_min,
        desired_pay_unit=pay_unit, summary_md=profile.summary_md, member_number=profile.member_number,
        credentials=credentials, settings=profile.settings, specialties=profile.specialties,
        code_sets=profile.code_sets, remote_states=profile.remote_states,
    ), {}


async def save_profile(user_id: int, data: ProfileInput) -> None:
    """Write a validated profile and replace its multi-valued fields, in one transaction."""
    profile = await get_or_create_profile(user_id)
    async with db.transaction():
        await CoderProfile.update({
            CoderProfile.handle: data.handle,
            CoderProfile.visible: data.visible,
            CoderProfile.name: data.name,
            CoderProfile.headline: data.headline,
            CoderProfile.years_experience: data.years_experience,
            CoderProfile.tools: data.tools,
            CoderProfile.zip: data.zip,
            CoderProfile.city: data.city,
            CoderProfile.state: data.state,
            CoderProfile.desired_work_mode: data.desired_work_mode,
            CoderProfile.desired_pay_min: data.desired_pay_min,
            CoderProfile.desired_pay_unit: data.desired_pay_unit,
            CoderProfile.summary_md: data.summary_md,
            CoderProfile.summary_html: render_markdown(data.summary_md),
            CoderProfile.member_number: data.member_number,
            CoderProfile.updated_at: clock.now(),
        }).where(CoderProfile.id == profile.id)
        await _replace_rows(CoderCredential, profile.id, [
            CoderCredential(profile=profile.id, credential=code, year_earned=year) for code, year in data.credentials.items()
        ])
        for table, values in ((CoderSetting, data.settings), (CoderSpecialty, data.specialties),
                              (CoderCodeSet, data.code_sets), (CoderRemoteState, data.remote_states)):
            await _replace_rows(table, profile.id, [table(profile=profile.id, value=v) for v in values])


async def _replace_rows(table, profile_id: int, rows: list) -> None:
    await table.delete().where(table.profile == profile_id)
    if rows:
        await table.insert(*rows)


async def profile_details(profile: CoderProfile) -> dict[str, Any]:
    """Everything a page (or a snapshot) shows about a profile, with labels resolved."""
    names = {c["code"]: c["full_name"] for c in await Credential.select(Credential.code, Credential.full_name)}
    creds = await CoderCredential.select(CoderCredential.credential, CoderCredential.year_earned).where(
        CoderCredential.profile == profile.id).order_by(CoderCredential.credential)

    async def values(table) -> list[str]:
        return [r["value"] for r in await table.select(table.value).where(table.profile == profile.id).order_by(table.value)]

    settings_ = await values(CoderSetting)
    specialties = await values(CoderSpecialty)
    code_sets = await values(CoderCodeSet)
    remote_states = await values(CoderRemoteState)
    return {
        "handle": profile.handle,
        "visible": profile.visible,
        "name": profile.name,
        "headline": profile.headline,
        "years_experience": profile.years_experience,
        "tools": profile.tools,
        "zip": profile.zip,
        "city": profile.city,
        "state": profile.state,
        "desired_work_mode": profile.desired_work_mode,
        "desired_work_mode_label": WORK_MODES.get(profile.desired_work_mode, "Any"),
        "desired_pay_min": str(profile.desired_pay_min) if profile.desired_pay_min is not None else "",
        "desired_pay_unit": profile.desired_pay_unit,
        "desired_pay_unit_label": PAY_UNITS.get(profile.desired_pay_unit, ""),
        "summary_md": profile.summary_md,
        "summary_html": profile.summary_html,
        "member_number": profile.member_number,
        "credentials": [{"code": c["credential"], "name": names.get(c["credential"], c["credential"]),
                         "year_earned": c["year_earned"]} for c in creds],
        "settings": settings_,
        "settings_labels": [SETTINGS.get(v, v) for v in settings_],
        "specialties": specialties,
        "specialties_labels": [SPECIALTIES.get(v, v) for v in specialties],
        "code_sets": code_sets,
        "code_sets_labels": [CODE_SETS.get(v, v) for v in code_sets],
        "remote_states": remote_states,
        "has_resume": bool(profile.resume_key),
        "resume_filename": profile.resume_filename,
        "resume_size": profile.resume_size,
        "resume_uploaded_at": profile.resume_uploaded_at.isoformat() if profile.resume_uploaded_at else None,
        "updated_at": profile.updated_at.isoformat() if profile.updated_at else None,
    }


COMPLETENESS_CHECKS: list[tuple[str, str]] = [
    ("name", "your name"),
    ("headline", "a headline"),
    ("credentials", "the credentials you hold (or add none if you are still studying)"),
    ("zip", "your ZIP code (remote jobs often depend on your state)"),
    ("settings", "the coding settings you have worked in"),
    ("specialties", "your specialties"),
    ("code_sets", "the code sets you use"),
    ("tools", "your EHR and encoder tools"),
    ("desired_work_mode", "the work mode you want"),
    ("desired_pay_min", "the pay you are looking for"),
    ("summary_md", "a summary about yourself"),
    ("has_resume", "your resume (PDF or DOCX)"),
]


def completeness(details: Mapping[str, Any]) -> dict[str, Any]:
    """How complete a profile is: a percentage and, in plain words, what is still missing."""
    missing = [label for key, label in COMPLETENESS_CHECKS if not details.get(key)]
    total = len(COMPLETENESS_CHECKS)
    done = total - len(missing)
    return {"percent": round(100 * done / total), "done": done, "total": total, "missing": missing}


async def public_profile(handle: str) -> dict[str, Any] | None:
    """The public page's facts, or None when the handle is unknown or the coder keeps the profile hidden.

    Never includes the resume or the member number.
    """
    profile = await CoderProfile.objects().where(CoderProfile.handle == (handle or "").lower()).first()
    if profile is None or not profile.visible:
        return None
    user = await User.objects().where(User.id == profile.user).first()
    if user is None or user.login_disabled:
        return None
    details = await profile_details(profile)
    for private in ("member_number", "has_resume", "resume_filename", "resume_size", "resume_uploaded_at", "zip"):
        details.pop(private, None)
    return details


# ---- resumes ------------------------------------------------------------------------------------------


def resume_kind(data: bytes) -> tuple[str, str]:
    """(content type, suffix) judged by the bytes, never the file name; CoderError(field='resume') otherwise."""
    if not data:
        raise CoderError("Choose a resume file to upload.", "resume")
    if len(data) > RESUME_MAX_BYTES:
        # The page reads at most 5 MB + 1 byte, so the real size is unknown here: never print "5.0 MB".
        raise CoderError("Your file is larger than 5 MB; a resume may be at most 5 MB. Save a smaller PDF and try again.",
                         "resume")
    if data.startswith(b"%PDF-"):
        return PDF_TYPE, ".pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, ValueError, OSError):
            names = set()
        if "word/document.xml" in names and "[Content_Types].xml" in names:
            return DOCX_TYPE, ".docx"
    raise CoderError("That file is not a PDF or a Word (DOCX) document. Upload your resume as PDF or DOCX.", "resume")


def clean_filename(name: str, suffix: str) -> str:
    """A display name for the download: the uploader's base name, tamed, with our suffix."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>:|?*;').strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return (stem[:100] or "resume") + suffix


async def store_resume(user_id: int, filename: str, data: bytes, settings: Settings) -> None:
    """Check the upload by content, store it outside static files and point the profile at it."""
    content_type, suffix = resume_kind(data)
    profile = await get_or_create_profile(user_id)
    storage = uploads.storage_for(settings)
    key = uploads.new_key("resumes", suffix)
    await storage.save(data, key)
    try:
        await CoderProfile.update({
            CoderProfile.resume_key: key,
            CoderProfile.resume_filename: clean_filename(filename, suffix),
            CoderProfile.resume_content_type: content_type,
            CoderProfile.resume_size: len(data),
            CoderProfile.resume_uploaded_at: clock.now(),
            CoderProfile.updated_at: clock.now(),
        }).where(CoderProfile.id == profile.id)
    except BaseException:
        await storage.delete(key)
        raise
    if profile.resume_key:
        await storage.delete(profile.resume_key)  # applications keep their own copies


async def remove_resume(user_id: int, settings: Settings) -> None:
    profile = await get_or_create_profile(user_id)
    if not profile.resume_key:
        return
    await CoderProfile.update({CoderProfile.resume_key: None, CoderProfile.resume_filename: "",
                               CoderProfile.resume_content_type: "", CoderProfile.resume_size: 0,
                               CoderProfile.resume_uploaded_at: None, CoderProfile.updated_at: clock.now()}).where(
        CoderProfile.id == profile.id)
    await uploads.storage_for(settings).delete(profile.resume_key)


@dataclass(frozen=True)
class ResumeFile:
    data: bytes
    filename: str
    content_type: str


async def own_resume(user_id: int, settings: Settings) -> ResumeFile:
    """The coder's current resume; NotAllowed when there is none."""
    profile = await CoderProfile.objects().where(CoderProfile.user == user_id).first()
    if profile is None or not profile.resume_key:
        raise NotAllowed()
    try:
        data = await uploads.storage_for(settings).open(profile.resume_key)
    except FileNotFoundError:
        raise NotAllowed() from None
    return ResumeFile(data, profile.resume_filename or "resume", profile.resume_content_type)


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
    try:
        data = await uploads.storage_for(settings).open(app.resume_key)
    except FileNotFoundError:
        raise NotAllowed() from None
    return ResumeFile(data, app.resume_filename or "resume", app.resume_content_type)


# ---- the qualification rule ------------------------------------------------------------------------------


async def qualification_profile(user_id: int) -> tuple[set[str], str | None]:
    """(credential codes the coder holds, the state of their ZIP or None) — the inputs of the rule."""
    profile = await CoderProfile.select(CoderProfile.id, CoderProfile.state).where(CoderProfile.user == user_id).first()
    if profile is None:
        return set(), None
    rows = await CoderCredential.select(CoderCredential.credential).where(CoderCredential.profile == profile["id"])
    return {r["credential"] for r in rows}, (profile["state"] or None)


def _fact(facts: Any, name: str, default: Any = ()) -> Any:
    if isinstance(facts, Mapping):
        value = facts.get(name, default)
    else:
        value = getattr(facts, name, default)
    return default if value is None else value


def qualification_match(held: set[str], home_state: str | None, listing_facts: Any) -> dict[str, Any]:
    """The qualification rule, credential by credential.

    A coder qualifies when every required credential is held; the any-of list is empty or one of
    it is held; and, for a REMOTE listing, `remote_states` is empty or contains the state of the
    coder's ZIP (onsite and hybrid listings are judged on credentials only). Codes match exactly:
    holding one credential never implies another (CPC is not CPC-A, CCS-P is not CCS).

    `listing_facts` is a mapping or object with `work_mode`, `credentials_required`,
    `credentials_any_of`, `credentials_preferred` and `remote_states`.
    """
    held = {str(c) for c in held}
    required = list(dict.fromkeys(_fact(listing_facts, "credentials_required")))
    any_of = list(dict.fromkeys(_fact(listing_facts, "credentials_any_of")))
    preferred = list(dict.fromkeys(_fact(listing_facts, "credentials_preferred")))
    remote_states = sorted(set(_fact(listing_facts, "remote_states")))
    remote = _fact(listing_facts, "work_mode", "") == "remote"

    required_rows = [{"code": c, "held": c in held} for c in required]
    any_of_rows = [{"code": c, "held": c in held} for c in any_of]
    preferred_rows = [{"code": c, "held": c in held} for c in preferred]
    missing = [c for c in required if c not in held]
    required_met = not missing
    any_of_met = not any_of or any(c in held for c in any_of)
    state_eligible: bool | None = None
    if remote:
        state_eligible = not remote_states or (home_state is not None and home_state in remote_states)
    credentials_met = required_met and any_of_met

    reasons: list[str] = []
    if missing:
        reasons.append("You do not hold the required " + _and_list(missing) + ".")
    if not any_of_met:
        reasons.append("You hold none of " + _or_list(any_of) + " (one of them is required).")
    if state_eligible is False:
        if home_state is None:
            reasons.append("This remote job is open only to residents of " + _and_list(remote_states)
                           + "; add your ZIP code to your profile so we know your state.")
        else:
            reasons.append(f"This remote job is open only to residents of {_and_list(remote_states)}; "
                           f"your profile's ZIP is in {home_state}.")
    return {
        "qualifies": credentials_met and state_eligible is not False,
        "credentials_met": credentials_met,
        "required": required_rows,
        "required_met": required_met,
        "any_of": any_of_rows,
        "any_of_met": any_of_met,
        "any_of_missing": [] if any_of_met else any_of,
        "preferred": preferred_rows,
        "preferred_met": [c for c in preferred if c in held],
        "missing": missing,
        "remote": remote,
        "remote_states": remote_states,
        "home_state": home_state,
        "state_eligible": state_eligible,
        "reasons": reasons,
    }


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


async def listing_facts(listing_id: int) -> dict[str, Any] | None:
    """The listing fields the rule reads, from the listing's join tables."""
    listing = await Listing.select(Listing.id, Listing.work_mode).where(Listing.id == listing_id).first()
    if listing is None:
        return None
    facts: dict[str, Any] = {"work_mode": listing["work_mode"], "credentials_required": [], "credentials_any_of": [],
                             "credentials_preferred": []}
    for row in await ListingCredential.select(ListingCredential.credential, ListingCredential.kind).where(
            ListingCredential.listing == listing_id).order_by(ListingCredential.id):
        facts.setdefault(f"credentials_{row['kind']}", []).append(row["credential"])
    facts["remote_states"] = [r["value"] for r in await ListingRemoteState.select(ListingRemoteState.value).where(
        ListingRemoteState.listing == listing_id).order_by(ListingRemoteState.id)]
    return facts


async def match_for(user_id: int, listing_id: int) -> dict[str, Any] | None:
    facts = await listing_facts(listing_id)
    if facts is None:
        return None
    held, state = await qualification_profile(user_id)
    return qualification_match(held, state, facts)


async def listing_panel(user: Any, listing_id: int) -> dict[str, Any]:
    """Context for templates/coders/_listing_panel.html on a listing page.

    For a signed-in coder: the credential-by-credential match, whether they may apply (and why
    not), their existing application and whether the job is saved. For anyone else only who they are.
    """
    if user is None or getattr(user, "role", None) != "coder":
        return {"coder_panel": {"signed_in": user is not None, "is_coder": False, "listing_id": listing_id}}
    listing = await Listing.select(Listing.id, Listing.status, Listing.hidden).where(Listing.id == listing_id).first()
    if listing is None:
        return {}
    match = await match_for(user.id, listing_id)
    existing = await Application.select(Application.id, Application.stage, Application.created_at).where(
        Application.listing_coder == f"{listing_id}:{user.id}").first()
    saved = await SavedJob.exists().where(SavedJob.user_listing == f"{user.id}:{listing_id}")
    live = listing["status"] == ListingState.PUBLISHED and not listing["hidden"]
    blockers: list[str] = []
    if not live:
        blockers.append(listing_notice(listing["status"], listing["hidden"]) + " It no longer accepts applications.")
    if not user.email_confirmed:
        blockers.append("Confirm your email address before applying (see your account page).")
    if match and match["state_eligible"] is False:
        blockers.append(match["reasons"][-1] + " You cannot apply to it.")
    return {"coder_panel": {
        "signed_in": True,
        "is_coder": True,
        "listing_id": listing_id,
        "match": match,
        "application": ({"id": existing["id"], "stage": existing["stage"],
                         "stage_label": STAGE_LABELS.get(existing["stage"], existing["stage"]),
                         "created_at": existing["created_at"]} if existing else None),
        "saved": saved,
        "can_apply": not blockers and existing is None,
        "blockers": blockers,
        "cover_note_max": COVER_NOTE_MAX,
    }}


# ---- applications ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyResult:
    application_id: int
    created: bool
    created_at: dt.datetime | None = None


async def apply(listing_id: int, user: Any, cover_note: str, settings: Settings) -> ApplyResult:
    """Apply to a listing with the profile as it is now, once.

    Only a coder with a confirmed email, only to a published unhidden listing, only when their
    state is eligible for a remote job. The application row, its profile snapshot, a copy of the
    resume, its history row, the employer members' mail and the listing's apply click are one
    transaction; the unique `listing_coder` column makes concurrent attempts create exactly one.
    A second attempt returns the first application (created=False).
    """
    cover_note = (cover_note or "").replace("\r\n", "\n").strip()
    if len(cover_note) > COVER_NOTE_MAX:
        raise CoderError(f"Keep your cover note to {COVER_NOTE_MAX} characters (it has {len(cover_note)}).", "cover_note")
    if getattr(user, "role", None) != "coder":
        raise NotAllowed()
    listing = await Listing.objects().where(Listing.id == listing_id).first()
    if listing is None or (listing.hidden and listing.status == ListingState.PUBLISHED) or listing.status in (
            ListingState.DRAFT, ListingState.AWAITING_PAYMENT, ListingState.REJECTED):
        raise NotAllowed()
    existing = await _existing_application(listing_id, user.id)
    if existing is not None:
        return existing
    if listing.status != ListingState.PUBLISHED:
        raise CoderError(listing_notice(listing.status, listing.hidden) + " It no longer accepts applications.")
    if not user.email_confirmed:
        raise CoderError("Confirm your email address before applying: open the link we mailed you, "
                         "or ask for a new one on your account page.")
    match = await match_for(user.id, listing_id)
    if match and match["state_eligible"] is False:
        raise CoderError(match["reasons"][-1] + " You cannot apply to it.")
    profile = await get_or_create_profile(user.id)
    if not profile.name:
        raise CoderError("Add your name to your profile before applying.")
    account = await User.objects().get(User.id == user.id)
    details = await profile_details(profile)
    snapshot = {**details, "email": account.email, "taken_at": clock.now().isoformat(),
                "match": {k: match[k] for k in ("qualifies", "missing", "any_of_missing", "preferred_met",
                                                "state_eligible")} if match else None}
    storage = uploads.storage_for(settings)
    resume_copy: str | None = None
    try:
        async with db.transaction():
            rows = await Application.insert(Application(
                listing=listing_id, coder=user.id, listing_coder=f"{listing_id}:{user.id}",
                stage=ApplicationStage.SUBMITTED,
                cover_note=cover_note, profile_snapshot=json.dumps(snapshot, default=str),
            )).on_conflict(target=Application.listing_coder, action="DO NOTHING").returning(Application.id)
            if not rows:
                return await _existing_application(listing_id, user.id)  # a concurrent attempt won
            application_id = rows[0]["id"]
            if profile.resume_key:
                try:
                    data = await storage.open(profile.resume_key)
                except FileNotFoundError:
                    data = None
                if data is not None:
                    suffix = ".docx" if profile.resume_content_type == DOCX_TYPE else ".pdf"
                    resume_copy = uploads.new_key("application-resumes", suffix)
                    await storage.save(data, resume_copy)
                    await Application.update({
                        Application.resume_key: resume_copy,
                        Application.resume_filename: profile.resume_filename,
                        Application.resume_content_type: profile.resume_content_type,
                    }).where(Application.id == application_id)
            await ApplicationEvent.insert(ApplicationEvent(application=application_id, actor=user.id, actor_kind="coder",
                                                           from_stage="", to_stage=ApplicationStage.SUBMITTED))
            await Listing.update({Listing.apply_clicks: Listing.apply_clicks + 1}).where(Listing.id == listing_id)
            await _mail_employer_members(listing, profile.name, application_id, match, settings)
    except BaseException:
        if resume_copy:
            await storage.delete(resume_copy)
        raise
    return ApplyResult(application_id, True)


async def _existing_application(listing_id: int, user_id: int) -> ApplyResult | None:
    row = await Application.select(Application.id, Application.created_at).where(
        Application.listing_coder == f"{listing_id}:{user_id}").first()
    return ApplyResult(row["id"], False, row["created_at"]) if row else None


async def employer_member_emails(employer_id: int) -> list[str]:
    rows = await EmployerMember.select(EmployerMember.user.email.as_alias("email"),
                                       EmployerMember.user.login_disabled.as_alias("disabled")).where(
        EmployerMember.employer == employer_id)
    return [r["email"] for r in rows if not r["disabled"]]


async def _mail_employer_members(listing: Listing, coder_name: str, application_id: int,
                                 match: dict[str, Any] | None, settings: Settings) -> None:
    link = f"{settings.base_url}/employer/applications/{application_id}"
    fit = ""
    if match is not None:
        fit = ("They hold every required credential.\n" if match["credentials_met"]
               else "They do not hold every required credential (" + ", ".join(match["missing"] + match["any_of_missing"])
               + ").\n")
    text = (f"{coder_name} applied to your listing \"{listing.title}\" on CareerCenter.\n\n{fit}\n"
            f"Review the application, their profile and resume here:\n{link}\n")
    for email in await employer_member_emails(listing.employer):
        await mail.queue_mail(email, f"New application: {listing.title}", text)


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


async def my_applications(user_id: int) -> list[dict[str, Any]]:
    """The coder's applications, newest first, each with its history in plain words and the job's status."""
    apps = await Application.select(
        Application.id, Application.stage, Application.created_at, Application.viewed_at, Application.cover_note,
        Application.resume_key, Application.listing.id.as_alias("listing_id"),
        Application.listing.title.as_alias("title"), Application.listing.slug.as_alias("slug"),
        Application.listing.status.as_alias("listing_status"), Application.listing.hidden.as_alias("hidden"),
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
            "listing_notice": listing_notice(a["listing_status"], a["hidden"]),
            "listing_changed_at": listing_changes.get(a["listing_id"]),
            "can_withdraw": a["stage"] not in FINAL_STAGES,
            "has_resume": bool(a.pop("resume_key")),
        })
    return out


async def _listing_status_changes(listing_ids: list[int]) -> dict[int, dt.datetime]:
    """When each listing last left `published` (for "this job was closed on …")."""
    rows = await ListingEvent.select(ListingEvent.listing, ListingEvent.created_at).where(
        ListingEvent.listing.is_in(listing_ids) & (ListingEvent.from_status == ListingState.PUBLISHED)
        & (ListingEvent.to_status != ListingState.PUBLISHED)).order_by(ListingEvent.created_at)
    return {r["listing"]: r["created_at"] for r in rows}


# ---- saved jobs ----------------------------------------------------------------------------------------------


async def save_job(user_id: int, listing_id: int) -> None:
    """Bookmark a live listing (saving twice changes nothing)."""
    listing = await Listing.select(Listing.status, Listing.hidden).where(Listing.id == listing_id).first()
    if listing is None or listing["hidden"] or listing["status"] != ListingState.PUBLISHED:
        raise NotAllowed()
    await SavedJob.insert(SavedJob(user=user_id, listing=listing_id, user_listing=f"{user_id}:{listing_id}")).on_conflict(
        target=SavedJob.user_listing, action="DO NOTHING")


async def unsave_job(user_id: int, listing_id: int) -> None:
    await SavedJob.delete().where(SavedJob.user_listing == f"{user_id}:{listing_id}")


async def saved_listing_ids(user_id: int, listing_ids: list[int] | None = None) -> set[int]:
    """Which of these listings (all, when None) the coder saved — for save/unsave buttons on result cards."""
    query = SavedJob.select(SavedJob.listing).where(SavedJob.user == user_id)
    if listing_ids is not None:
        if not listing_ids:
            return set()
        query = query.where(SavedJob.listing.is_in(listing_ids))
    return {r["listing"] for r in await query}


async def saved_jobs(user_id: int) -> list[dict[str, Any]]:
    """Saved jobs, newest first; jobs that expired or closed since are kept and marked."""
    rows = await SavedJob.select(
        SavedJob.created_at, SavedJob.listing.id.as_alias("listing_id"), SavedJob.listing.title.as_alias("title"),
        SavedJob.listing.slug.as_alias("slug"), SavedJob.listing.status.as_alias("status"),
        SavedJob.listing.hidden.as_alias("hidden"), SavedJob.listing.city.as_alias("city"),
        SavedJob.listing.state.as_alias("state"), SavedJob.listing.work_mode.as_alias("work_mode"),
        SavedJob.listing.expires_at.as_alias("expires_at"),
        SavedJob.listing.employer.name.as_alias("employer_name"),
    ).where(SavedJob.user == user_id).order_by(SavedJob.created_at, ascending=False).order_by(SavedJob.id, ascending=False)
    applied = {r["listing"] for r in await Application.select(Application.listing).where(Application.coder == user_id)}
    return [{**r, "listing_url": listing_path(r["listing_id"], r["slug"]), "notice": listing_notice(r["status"], r["hidden"]),
             "work_mode_label": WORK_MODES.get(r["work_mode"], r["work_mode"]), "applied": r["listing_id"] in applied}
            for r in rows]


# ---- demo data --------------------------------------------------------------------------------------------


async def seed_demo_profiles(user_ids: list[int], settings: Settings | None = None) -> int:
    """`careers seed-demo`'s hook: profiles, resumes, applications and alerts for the demo coders (idempotent)."""
    from careers.coders.demo import seed_demo_profiles as seed

    return await seed(user_ids, settings)


async def listing_context(user: Any, listing: Any) -> dict[str, Any]:
    """The listing page's hook (listings.controllers merges it): `{"coder_panel": …}` for the panel partial."""
    return await listing_panel(user, listing.id if hasattr(listing, "id") else int(listing))


# ---- the admin dashboard ------------------------------------------------------------------------------------

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
