"""Verified credentials (issue 18): a coder gives, per credential held, the issuing body's member/certificate number,
the expiry date and optionally the certificate; a verifier decides. Today the verifier is the admin queue
(`ManualQueue`, pages at /admin/credentials); `CredentialVerifier` leaves room for an automatic check later.

A credential counts as verified only while its check is `verified` and its expiry date is not past (judged by the
kernel clock on every read, and the daily sweep turns such checks `expired`: the badge goes, the credential stays).
Decisions are audited (careers/accounts/audit.py) in the transaction that makes them.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any, Protocol

from PIL import Image, UnidentifiedImageError

from careers.accounts import audit, mail_prefs
from careers.coders.profiles import PDF_TYPE, RESUME_MAX_BYTES, ResumeFile, clean_filename, open_resume, resume_kind
from careers.coders.service import CoderError, NotAllowed, get_or_create_profile
from careers.coders.tables import CoderCredential, CoderProfile, CredentialCheck, CredentialCheckState
from careers.core import clock, db, mail
from careers.core.config import Settings
from careers.core.errors import Invalid, NotFound
from careers.core.registry import Throttled
from careers.core.storage import new_key, storage_for
from listings.service import credential_names
from listings.tables import Credential

REMINDER_DAYS = 30  # the coder is reminded this many days before a verified credential expires
REMINDER_MAIL_KIND = "credential_reminders"  # careers/accounts/mail_prefs.py KINDS: the coder may turn it off
SWEEP_BATCH = 200
SWEEP_SECONDS = 3600
MEMBER_NUMBER_MAX = 64
REASON_MAX = 2000
IMAGE_FORMATS = {"PNG": ("image/png", ".png"), "JPEG": ("image/jpeg", ".jpg"), "WEBP": ("image/webp", ".webp")}
# Each issuing body's public lookup page, where an admin checks a member number by hand.
VERIFICATION_PAGES = {
    "AAPC": "https://www.aapc.com/verify-credentials/",
    "AHIMA": "https://www.ahima.org/certification-careers/certification-exams/verify-credentials/",
}
STATE_LABELS = {
    CredentialCheckState.PENDING: "Waiting for verification",
    CredentialCheckState.VERIFIED: "Verified",
    CredentialCheckState.REJECTED: "Not verified",
    CredentialCheckState.EXPIRED: "Expired — no longer verified",
}


class CredentialVerifier(Protocol):
    """Whoever checks a coder's credential claim against the issuing body. `submitted` is told of every new or
    changed claim; a verifier that can decide at once (an automatic registry check) calls `decide` itself."""

    async def submitted(self, check_id: int) -> None: ...


class ManualQueue:
    """The verifier today: a claim waits as `pending` on /admin/credentials until an admin decides."""

    async def submitted(self, check_id: int) -> None:
        return None  # the admin queue lists every pending check; nothing to hand over


def verifier_for(settings: Settings | None = None) -> CredentialVerifier:
    """The configured verifier (only the manual queue exists today)."""
    return ManualQueue()


def certificate_kind(data: bytes) -> tuple[str, str]:
    """(content type, suffix) of a certificate judged by its bytes: a PDF (the resume checker's rule) or a PNG,
    JPEG or WebP image Pillow can read; CoderError(field='certificate') otherwise."""
    if len(data) > RESUME_MAX_BYTES:
        raise CoderError("The certificate is larger than 5 MB; upload a smaller PDF or image.", "certificate")
    try:
        content_type, suffix = resume_kind(data)
        if content_type == PDF_TYPE:
            return content_type, suffix
    except CoderError:
        pass
    try:
        with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as image:
            image.verify()
            return IMAGE_FORMATS[image.format]
    except (UnidentifiedImageError, OSError, ValueError, KeyError, SyntaxError):
        raise CoderError("That file is not a PDF or an image (PNG, JPEG or WebP). Upload the certificate as a PDF "
                         "or a photo.", "certificate") from None


def is_verified(state: str, expires_on: dt.date | None, today: dt.date | None = None) -> bool:
    """The badge rule: decided `verified` and not past its expiry date."""
    today = today or clock.now().date()
    return state == CredentialCheckState.VERIFIED and (expires_on is None or _as_date(expires_on) >= today)


def _as_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(value[:10]) if isinstance(value, str) else value


@dataclass
class ClaimInput:
    member_number: str
    expires_on: dt.date


def read_claim(form: dict[str, Any]) -> ClaimInput:
    """The credential form's number and expiry date, or Invalid naming every wrong field."""
    errors: dict[str, str] = {}
    number = str(form.get("member_number") or "").strip()
    if not number:
        errors["member_number"] = "Enter your member or certificate number as the issuing body shows it."
    elif len(number) > MEMBER_NUMBER_MAX or not number.isprintable():
        errors["member_number"] = f"Use at most {MEMBER_NUMBER_MAX} letters, digits and dashes."
    raw = str(form.get("expires_on") or "").strip()
    expires_on = None
    try:
        expires_on = dt.date.fromisoformat(raw)
    except ValueError:
        errors["expires_on"] = "Enter the expiry date as it is on your certificate (year-month-day)."
    if expires_on is not None and expires_on < clock.now().date():
        errors["expires_on"] = "That date has passed: renew the credential with the issuing body first."
    if errors:
        raise Invalid(fields=errors)
    return ClaimInput(number, expires_on)


async def held(user_id: int, code: str) -> CoderProfile:
    """The coder's profile when `code` is on it; NotAllowed (404) otherwise: only held credentials are verified."""
    profile = await get_or_create_profile(user_id)
    if not await CoderCredential.exists().where((CoderCredential.profile == profile.id)
                                                & (CoderCredential.credential == code)):
        raise NotAllowed()  # only credentials on the profile can be verified
    return profile


async def submit_claim(user_id: int, code: str, claim: ClaimInput, certificate: tuple[str, bytes] | None,
                       settings: Settings) -> CredentialCheck:
    """Save the number, expiry and certificate of a held credential; a changed claim waits for verification again."""
    profile = await held(user_id, code)
    stored_key = kind = None
    if certificate is not None:
        kind = certificate_kind(certificate[1])
        stored_key = new_key("certificates", kind[1])
        await storage_for(settings).put(stored_key, certificate[1])
    key = f"{profile.id}:{code}"
    async with db.transaction():
        check = await db.locked_row(CredentialCheck, CredentialCheck.profile_credential == key)
        old_key = check.certificate_key if check is not None else None
        values = {"member_number": claim.member_number, "expires_on": claim.expires_on,
                  "state": CredentialCheckState.PENDING, "submitted_at": clock.now(), "decided_at": None,
                  "decided_by": None, "reason": "", "reminded_for": None}
        if stored_key is not None:
            values |= {"certificate_key": stored_key, "certificate_content_type": kind[0],
                       "certificate_filename": clean_filename(certificate[0], kind[1])}
        if check is None:
            check = CredentialCheck(profile=profile.id, credential=code, profile_credential=key, **values)
            await check.save()
        else:
            await CredentialCheck.update({getattr(CredentialCheck, k): v for k, v in values.items()}).where(
                CredentialCheck.id == check.id)
    if stored_key is not None and old_key:
        await storage_for(settings).delete(old_key)
    await verifier_for(settings).submitted(check.id)
    return check


async def coder_credentials(user_id: int) -> list[dict[str, Any]]:
    """The coder's credentials with their verification: what /account/credentials shows."""
    profile = await get_or_create_profile(user_id)
    held, checks, names = await db.gather(
        CoderCredential.select(CoderCredential.credential).where(CoderCredential.profile == profile.id).order_by(
            CoderCredential.credential).run(),
        CredentialCheck.select().where(CredentialCheck.profile == profile.id).run(),
        credential_names())
    by_code = {c["credential"]: c for c in checks}
    out = []
    for row in held:
        code = row["credential"]
        check = by_code.get(code)
        state = _shown_state(check)
        out.append({"code": code, "name": names.get(code, code), "check": check, "state": state,
                    "state_label": STATE_LABELS.get(state, "Not submitted"), "verified":
                    state == CredentialCheckState.VERIFIED})
    return out


def _shown_state(check: dict[str, Any] | None) -> str:
    if check is None:
        return ""
    if check["state"] == CredentialCheckState.VERIFIED and not is_verified(check["state"], check["expires_on"]):
        return CredentialCheckState.EXPIRED
    return check["state"]


async def own_certificate(user_id: int, code: str, settings: Settings) -> ResumeFile:
    """The coder's own uploaded certificate for `code`; NotAllowed when there is none."""
    profile = await get_or_create_profile(user_id)
    check = await CredentialCheck.objects().where(CredentialCheck.profile_credential == f"{profile.id}:{code}").first()
    return await _certificate_file(check, settings)


async def certificate_for_admin(check_id: int, settings: Settings) -> ResumeFile:
    check = await CredentialCheck.objects().where(CredentialCheck.id == check_id).first()
    return await _certificate_file(check, settings)


async def _certificate_file(check: CredentialCheck | None, settings: Settings) -> ResumeFile:
    if check is None or not check.certificate_key:
        raise NotAllowed()

    @dataclass
    class _Row:  # open_resume reads these three names
        resume_key: str
        resume_filename: str
        resume_content_type: str

    return await open_resume(_Row(check.certificate_key, check.certificate_filename,
                                  check.certificate_content_type), settings)


# ---- the admin queue -------------------------------------------------------------------------------------


async def queue(state: str = CredentialCheckState.PENDING) -> list[dict[str, Any]]:
    """Checks in `state`, oldest submission first, with the coder, the credential's body and its lookup page."""
    rows = await CredentialCheck.select(
        CredentialCheck.all_columns(), CredentialCheck.profile.name.as_alias("coder_name"),
        CredentialCheck.profile.user.email.as_alias("coder_email"),
    ).where(CredentialCheck.state == state).order_by(CredentialCheck.submitted_at).order_by(CredentialCheck.id)
    bodies = {r["code"]: r for r in await Credential.select(Credential.code, Credential.full_name,
                                                               Credential.issuing_body)}
    for row in rows:
        body = bodies.get(row["credential"], {})
        row["credential_name"] = body.get("full_name", row["credential"])
        row["issuing_body"] = body.get("issuing_body", "")
        row["lookup_url"] = VERIFICATION_PAGES.get(row["issuing_body"], "")
    return rows


class CredentialDecisionError(CoderError):
    """An admin decision that cannot be made as asked (no reason for a rejection, already decided)."""


async def decide(check_id: int, approve: bool, reason: str, admin: Any) -> CredentialCheck:
    """Approve or reject a pending check (a rejection needs a reason); audited in the same transaction."""
    reason = (reason or "").strip()[:REASON_MAX]
    if not approve and not reason:
        raise CredentialDecisionError("Say why the credential could not be verified (the coder sees it).", "reason")
    async with db.transaction():
        check = await db.locked_row(CredentialCheck, CredentialCheck.id == check_id)
        if check is None:
            raise NotFound("No such credential check.")
        if check.state != CredentialCheckState.PENDING:
            raise CredentialDecisionError("This credential was already decided; open the queue again.")
        state = CredentialCheckState.VERIFIED if approve else CredentialCheckState.REJECTED
        await CredentialCheck.update({CredentialCheck.state: state, CredentialCheck.decided_at: clock.now(),
                                      CredentialCheck.decided_by: admin.id, CredentialCheck.reason: reason}).where(
            CredentialCheck.id == check_id)
        await audit.record("credential verified" if approve else "credential rejected", actor=admin, reason=reason,
                           before=_audit_facts(check), after={"state": state})
        await _mail_decision(check, approve, reason)
    check.state = state
    return check


def _audit_facts(check: CredentialCheck) -> dict[str, Any]:
    return {"check_id": check.id, "profile_id": check.profile, "credential": check.credential,
            "member_number": check.member_number, "expires_on": str(check.expires_on), "state": check.state}


async def _coder_address(profile_id: int) -> dict[str, Any] | None:
    return await CoderProfile.select(CoderProfile.user.email.as_alias("email"), CoderProfile.user.as_alias("user_id"),
                                     CoderProfile.name).where(
        CoderProfile.id == profile_id).first()


async def _mail_decision(check: CredentialCheck, approve: bool, reason: str) -> None:
    coder = await _coder_address(check.profile)
    if coder is None:
        return
    if approve:
        subject = f"Your {check.credential} is verified"
        body = (f"Employers now see a \"verified\" badge on your {check.credential} until it expires on "
                f"{check.expires_on}.")
    else:
        subject = f"We could not verify your {check.credential}"
        body = f"The reason:\n{reason}\n\nCorrect the number or expiry date on your credentials page and send it again."
    await mail.queue_mail(coder["email"], subject, f"Hello {coder['name'] or 'there'},\n\n{body}\n\n— CareerCenter")


# ---- time: reminders 30 days before expiry, the badge goes at expiry ------------------------------------------


async def expire_and_remind(settings: Settings | None = None, *, batch: int = SWEEP_BATCH) -> tuple[int, int]:
    """The daily sweep in bounded batches: verified checks past their expiry date become `expired` (audited as the
    system), and coders whose verified credential expires within 30 days get one reminder per expiry date."""
    today = clock.now().date()
    expired = await CredentialCheck.objects().where(
        (CredentialCheck.state == CredentialCheckState.VERIFIED) & (CredentialCheck.expires_on < today)).limit(batch)
    for check in expired:
        async with db.transaction():
            await CredentialCheck.update({CredentialCheck.state: CredentialCheckState.EXPIRED}).where(
                (CredentialCheck.id == check.id) & (CredentialCheck.state == CredentialCheckState.VERIFIED))
            await audit.record("credential expired", before=_audit_facts(check),
                               after={"state": CredentialCheckState.EXPIRED})
    due = await CredentialCheck.objects().where(
        (CredentialCheck.state == CredentialCheckState.VERIFIED)
        & (CredentialCheck.expires_on <= today + dt.timedelta(days=REMINDER_DAYS))
        & CredentialCheck.reminded_for.is_null()  # a new claim (a renewed expiry date) clears it
    ).limit(batch)
    for check in due:
        await _remind(check, settings)
    return len(expired), len(due)


async def _remind(check: CredentialCheck, settings: Settings | None) -> None:
    coder = await _coder_address(check.profile)
    async with db.transaction():
        claimed = await CredentialCheck.update({CredentialCheck.reminded_for: check.expires_on}).where(
            (CredentialCheck.id == check.id) & CredentialCheck.reminded_for.is_null()).returning(CredentialCheck.id)
        # marked reminded either way, so a coder who turns reminders back on later is not mailed late
        if not claimed or coder is None or not await mail_prefs.wants(coder["user_id"], REMINDER_MAIL_KIND):
            return
        link = f"{settings.base_url}/account/credentials" if settings is not None else "/account/credentials"
        await mail.queue_mail(
            coder["email"], f"Your {check.credential} expires on {check.expires_on}",
            f"Hello {coder['name'] or 'there'},\n\nYour {check.credential} expires on {check.expires_on}. Renew it "
            "with the issuing body, then enter the new expiry date so employers keep seeing it verified:\n"
            f"{link}\n\n— CareerCenter",
            headers={"X-CareerCenter-Mail-Kind": REMINDER_MAIL_KIND})



async def _sweep(settings: Settings) -> None:
    await expire_and_remind(settings)


def periodic() -> list:
    """The expiry sweep; hourly is enough for a rule judged by the date (bounded batches, idempotent)."""
    return [Throttled("credential_expiry_and_reminders", SWEEP_SECONDS, _sweep)]
