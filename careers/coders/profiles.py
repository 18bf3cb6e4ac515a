"""Coder profiles and resumes: the profile form's rules, saving, the details pages show, resume files."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from careers.accounts.tables import User
from careers.coders import tables
from careers.coders.schemas import ProfileForm
from careers.coders.service import CoderError, NotAllowed, get_or_create_profile
from careers.coders.tables import CoderCredential, CoderProfile
from careers.core import clock, db, forms, geo, text
from careers.core.config import Settings
from careers.core.forms import FormErrors
from careers.core.storage import StoredObject, new_key, storage_for
from listings.service import credential_names
from listings.tables import Credential
from listings.vocabulary import CODE_SETS, PAY_UNITS, SETTINGS, SPECIALTIES, WORK_MODES

RESUME_MAX_BYTES = 5 * 1024 * 1024


PDF_TYPE = "application/pdf"


DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


_HANDLE = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")


def render_markdown(source: str) -> str:
    """A summary as safe HTML (the kernel's one policy); its headings rank below the profile's own sections."""
    return text.render_markdown(source, top_heading=3)


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
        for table, values in ((tables.CoderSetting, data.settings), (tables.CoderSpecialty, data.specialties),
                              (tables.CoderCodeSet, data.code_sets), (tables.CoderRemoteState, data.remote_states)):
            await _replace_rows(table, profile.id, [table(profile=profile.id, value=v) for v in values])


async def _replace_rows(table, profile_id: int, rows: list) -> None:
    await table.delete().where(table.profile == profile_id)
    if rows:
        await table.insert(*rows)


async def profile_details(profile: CoderProfile) -> dict[str, Any]:
    """Everything a page (or a snapshot) shows about a profile, with labels resolved."""
    async def values(table) -> list[str]:
        return [r["value"] for r in await table.select(table.value).where(table.profile == profile.id).order_by(table.value)]

    # independent reads, sent together (the taxonomy's names come from the process's cached copy)
    names, creds, settings_, specialties, code_sets, remote_states = await db.gather(
        credential_names(),
        CoderCredential.select(CoderCredential.credential, CoderCredential.year_earned).where(
            CoderCredential.profile == profile.id).order_by(CoderCredential.credential).run(),
        values(tables.CoderSetting), values(tables.CoderSpecialty), values(tables.CoderCodeSet),
        values(tables.CoderRemoteState))
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
    items = [(key, label) for key, label in COMPLETENESS_CHECKS if not details.get(key)]
    missing = [label for _, label in items]
    total = len(COMPLETENESS_CHECKS)
    done = total - len(missing)
    return {"percent": round(100 * done / total), "done": done, "total": total, "missing": missing,
            "missing_items": items}


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
    storage = storage_for(settings)
    key = new_key("resumes", suffix)
    await storage.put(key, data)
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
    await storage_for(settings).delete(profile.resume_key)


@dataclass(frozen=True)
class ResumeFile:
    """A resume to send: its bytes stream from storage (`body.size` up front), never read whole here."""

    body: StoredObject
    filename: str
    content_type: str


async def own_resume(user_id: int, settings: Settings) -> ResumeFile:
    """The coder's current resume; NotAllowed when there is none."""
    profile = await CoderProfile.objects().where(CoderProfile.user == user_id).first()
    if profile is None or not profile.resume_key:
        raise NotAllowed()
    return await open_resume(profile, settings)


async def open_resume(row: Any, settings: Settings) -> ResumeFile:
    """The stored resume of a profile or an application row (`resume_key`, `resume_filename`,
    `resume_content_type`); NotAllowed when the file is gone."""
    try:
        body = await storage_for(settings).open(row.resume_key)
    except FileNotFoundError:
        raise NotAllowed() from None
    return ResumeFile(body, row.resume_filename or "resume", row.resume_content_type)
