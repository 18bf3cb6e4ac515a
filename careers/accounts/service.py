"""Accounts: registration, passwords, sessions, email confirmation and reset.

Knows nothing of employers or coders: those domains call `create_user` inside
their own transaction and then create their own rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email

from careers.accounts.tables import AccountToken, RecoveryCode, Session, User
from careers.core import clock, db, mail, sealing
from careers.core.config import Settings
from careers.core.errors import DomainError
from careers.core.forms import has_control_characters

ROLES = ("coder", "employer", "admin")
PASSWORD_MIN_LENGTH = 10
CONFIRM_TTL = dt.timedelta(days=3)
RESET_TTL = dt.timedelta(hours=1)
EMAIL_TAKEN = "An account with this email already exists. Log in or reset your password."
_COMMON_PASSWORDS = frozenset(
    {"password", "password1", "password123", "123456789", "1234567890", "qwertyuiop", "letmein123",
     "iloveyou12", "medicalcoder", "medicalcoding", "careercenter", "welcome123", "passw0rd12"}
)

_hasher = PasswordHasher()  # argon2id with the library's current parameters


class AccountError(DomainError):
    """A rule was broken; `field` names the form field it belongs to."""


@dataclass(frozen=True)
class CurrentUser:
    id: int
    email: str
    role: str
    display_name: str
    email_confirmed: bool
    session_id: int
    second_factor_ok: bool = False  # fails closed: only a session that proved everything its account needs is True

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"



def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """A valid address, lower-cased; raises AccountError(field='email')."""
    email = (email or "").strip()
    if not email:
        raise AccountError("Enter your email address.", "email")
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise AccountError(f"That email address is not valid: {exc}", "email") from None
    return result.normalized.lower()


def limit_key(email: str) -> str:
    """The address as the per-account rate limits count it: normalised the way `authenticate` finds the account
    (IDNA, lower case) and NFKC-folded, or the raw text folded the same way when it is no valid address."""
    try:
        address = normalise_email(email)
    except AccountError:
        address = (email or "").strip()
    return unicodedata.normalize("NFKC", address).casefold()[:320]


def check_password_strength(password: str, email: str = "") -> None:
    if len(password) < PASSWORD_MIN_LENGTH:
        raise AccountError(f"Use at least {PASSWORD_MIN_LENGTH} characters.", "password")
    if len(password) > 256:
        raise AccountError("Use at most 256 characters.", "password")
    lowered = password.lower()
    if lowered in _COMMON_PASSWORDS or len(set(password)) < 4:
        raise AccountError("That password is too easy to guess; pick a less common one.", "password")
    if email and lowered == email.lower().split("@")[0]:
        raise AccountError("Your password must not be your email name.", "password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def email_taken(email: str) -> bool:
    return await User.exists().where(User.email == email)


ONE_LINE = "Use one line of plain text here: no line breaks or control characters."


async def account_errors(email: str, password: str, display_name: str = "") -> dict[str, str]:
    """Every problem with a new account's name, email and password at once ({field: message}; empty when fine)."""
    errors: dict[str, str] = {}
    if has_control_characters(display_name):
        errors["display_name"] = ONE_LINE
    try:
        email = normalise_email(email)
    except AccountError as exc:
        errors["email"], email = exc.message, ""
    try:
        check_password_strength(password, email)
    except AccountError as exc:
        errors["password"] = exc.message
    if email and await email_taken(email):
        errors["email"] = EMAIL_TAKEN
    return errors


async def create_user(email: str, password: str, role: str, display_name: str = "", *, confirmed: bool = False) -> User:
    """Create an account; call inside a transaction. Validates name, email and password first (an AccountError
    names every wrong field in `fields`)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    errors = await account_errors(email, password, display_name)
    if errors:
        raise AccountError(fields=errors)
    email = normalise_email(email)
    user = User(
        email=email,
        password_hash=hash_password(password),
        role=role,
        display_name=display_name.strip()[:200],
        email_confirmed_at=clock.now() if confirmed else None,
    )
    try:
        await user.save()
    except Exception as exc:
        # Two registrations of one address at once on PostgreSQL: both passed the check; the loser lands here.
        if db.is_unique_violation(exc):
            raise AccountError(EMAIL_TAKEN, "email") from None
        raise
    return user


async def authenticate(email: str, password: str) -> User:
    """The user for these credentials, or AccountError with one message for any mismatch."""
    try:
        email = normalise_email(email)
    except AccountError:
        raise AccountError("Email or password is wrong.") from None
    user = await User.objects().where(User.email == email).first()
    if user is None:
        _hasher.hash(password)  # spend the same time as a real check
        raise AccountError("Email or password is wrong.")
    if not verify_password(user.password_hash, password):
        raise AccountError("Email or password is wrong.")
    if user.login_disabled:
        raise AccountError("This account is disabled. Contact support if you think this is a mistake.")
    return user


# ---- sessions ----------------------------------------------------------------------

# A session lives `idle` past its last use (refreshed at most every SESSION_REFRESH_EVERY, so a page view is not a
# write) and never beyond `cap` after its login. Admins' are short: a forgotten admin tab is a standing risk.
SESSION_CAP = dt.timedelta(days=30)
ADMIN_SESSION_IDLE = dt.timedelta(minutes=30)
ADMIN_SESSION_CAP = dt.timedelta(hours=12)
SESSION_REFRESH_EVERY = dt.timedelta(minutes=5)


def session_limits(role: str, session_days: int = 14) -> tuple[dt.timedelta, dt.timedelta]:
    """(idle lifetime, absolute cap) of a session of an account with `role`."""
    if role == "admin":
        return ADMIN_SESSION_IDLE, ADMIN_SESSION_CAP
    return dt.timedelta(days=session_days), SESSION_CAP


async def start_session(user_id: int, settings: Settings, *, second_factor_ok: bool = False) -> str:
    """A fresh session id for this login (never reuses the visitor's old one); returns the cookie token.

    `second_factor_ok` says the login is complete; a session without it reaches only the second-factor pages.
    """
    token = secrets.token_urlsafe(32)
    now = clock.now()
    role = (await User.select(User.role).where(User.id == user_id).first() or {}).get("role", "")
    idle, _ = session_limits(role, settings.session_days)
    await Session.insert(
        Session(token_hash=token_hash(token), user=user_id, created_at=now, expires_at=now + idle,
                second_factor_ok=second_factor_ok)
    )
    await User.update({User.last_login_at: now}).where(User.id == user_id)
    return token


async def load_session(token: str, session_days: int = 14) -> CurrentUser | None:
    """The signed-in user of a cookie token, or None; extends the session's idle expiry (one write per 5 minutes)."""
    if not token or len(token) > 200:
        return None
    rows = await Session.select(
        Session.id,
        Session.created_at,
        Session.expires_at,
        Session.second_factor_ok,
        Session.user.id.as_alias("user_id"),
        Session.user.email.as_alias("email"),
        Session.user.role.as_alias("role"),
        Session.user.display_name.as_alias("display_name"),
        Session.user.email_confirmed_at.as_alias("confirmed_at"),
        Session.user.login_disabled.as_alias("disabled"),
    ).where(Session.token_hash == token_hash(token))
    if not rows:
        return None
    row = rows[0]
    now = clock.now()
    idle, cap = session_limits(row["role"], session_days)
    if row["expires_at"] <= now or row["disabled"] or now >= row["created_at"] + cap:
        return None
    wanted = min(now + idle, row["created_at"] + cap)
    if wanted - row["expires_at"] >= SESSION_REFRESH_EVERY:
        await Session.update({Session.expires_at: wanted}).where(Session.id == row["id"])
    return CurrentUser(
        id=row["user_id"],
        email=row["email"],
        role=row["role"],
        display_name=row["display_name"],
        email_confirmed=row["confirmed_at"] is not None,
        session_id=row["id"],
        second_factor_ok=row["second_factor_ok"],
    )


async def end_session(token: str) -> None:
    await Session.delete().where(Session.token_hash == token_hash(token))


async def end_all_sessions(user_id: int, *, except_session_id: int | None = None) -> None:
    query = Session.delete().where(Session.user == user_id)
    if except_session_id is not None:
        query = Session.delete().where((Session.user == user_id) & (Session.id != except_session_id))
    await query


async def purge_expired(now: dt.datetime | None = None) -> None:
    """Forget sessions and one-time links past their expiry (they no longer work; the worker sweeps them)."""
    now = now or clock.now()
    await Session.delete().where(Session.expires_at < now)
    await AccountToken.delete().where(AccountToken.expires_at < now)


async def disable_login(user_id: int, disabled: bool = True) -> None:
    """Moderation's switch: a disabled account cannot log in and loses its sessions now."""
    async with db.transaction():
        await User.update({User.login_disabled: disabled}).where(User.id == user_id)
        if disabled:
            await end_all_sessions(user_id)


# ---- one-time tokens ---------------------------------------------------------------


CONFIRM_SUBJECT = "Confirm your email address for CareerCenter"
RESET_SUBJECT = "Reset your CareerCenter password"


async def issue_token(user_id: int, purpose: str, ttl: dt.timedelta) -> str:
    """A new one-time token (only its sha256 is stored); the older unused ones of the same purpose stop working."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    async with db.transaction():
        await AccountToken.update({AccountToken.used_at: now}).where(
            (AccountToken.user == user_id) & (AccountToken.purpose == purpose) & AccountToken.used_at.is_null()
        )
        await AccountToken.insert(
            AccountToken(token_hash=token_hash(token), purpose=purpose, user=user_id, expires_at=now + ttl)
        )
    return token


async def consume_token(token: str, purpose: str) -> int:
    """Mark a token used and return its user id; AccountError if unknown, used or expired."""
    now = clock.now()
    rows = await AccountToken.update({AccountToken.used_at: now}).where(
        (AccountToken.token_hash == token_hash(token or ""))
        & (AccountToken.purpose == purpose)
        & AccountToken.used_at.is_null()
        & (AccountToken.expires_at > now)
    ).returning(AccountToken.user)
    if not rows:
        raise AccountError("This link is invalid, already used or expired. Ask for a new one.")
    return rows[0]["user"]


async def send_confirmation(user: User, settings: Settings | None = None) -> None:
    """Queue the confirmation mail; its link is made when the worker sends it."""
    await mail.queue_link_mail("confirm_email", user.email, CONFIRM_SUBJECT, user.id)


async def _compose_confirmation(payload: dict, settings: Settings) -> dict | None:
    user = await User.objects().where(User.id == payload["id"]).first()
    if user is None or user.email_confirmed_at is not None:
        return None
    token = await issue_token(user.id, "confirm_email", CONFIRM_TTL)
    link = f"{settings.base_url}/account/confirm?token={token}"
    return {"to": user.email, "subject": CONFIRM_SUBJECT,
            "text": f"Welcome to CareerCenter.\n\nConfirm your email address by opening this link (valid for 3 days):\n"
                    f"{link}\n\nIf you did not create an account, ignore this mail."}


async def confirm_email(token: str) -> int:
    async with db.transaction():
        user_id = await consume_token(token, "confirm_email")
        await User.update({User.email_confirmed_at: clock.now()}).where(
            (User.id == user_id) & User.email_confirmed_at.is_null()
        )
    return user_id


async def request_password_reset(email: str, settings: Settings | None = None) -> None:
    """Queue a reset mail if the account exists, confirmed or not; says nothing either way (no account probing)."""
    try:
        email = normalise_email(email)
    except AccountError:
        return
    user = await User.objects().where(User.email == email).first()
    if user is None:
        return
    await mail.queue_link_mail("reset_password", user.email, RESET_SUBJECT, user.id)


async def _compose_reset(payload: dict, settings: Settings) -> dict | None:
    user = await User.objects().where(User.id == payload["id"]).first()
    if user is None:
        return None
    token = await issue_token(user.id, "reset_password", RESET_TTL)
    link = f"{settings.base_url}/password/reset/confirm?token={token}"
    return {"to": user.email, "subject": RESET_SUBJECT,
            "text": f"Someone asked to reset the password of this account.\n\nChoose a new password here (valid for 1 "
                    f"hour, once):\n{link}\n\nIf it was not you, ignore this mail; your password stays as it is."}


def handlers() -> dict:
    """The outbox handlers of the mails whose link is made when they are sent."""
    return {mail.LINK_MAIL_PREFIX + "confirm_email": mail.link_mail_handler(_compose_confirmation),
            mail.LINK_MAIL_PREFIX + "reset_password": mail.link_mail_handler(_compose_reset)}


async def reset_password(token: str, new_password: str) -> int:
    """Set a new password from a reset token; every other reset link and every session of that account end."""
    async with db.transaction():
        user_id = await consume_token(token, "reset_password")
        user = await User.objects().get(User.id == user_id)
        check_password_strength(new_password, user.email)
        await User.update({User.password_hash: hash_password(new_password)}).where(User.id == user_id)
        await AccountToken.update({AccountToken.used_at: clock.now()}).where(
            (AccountToken.user == user_id) & (AccountToken.purpose == "reset_password") & AccountToken.used_at.is_null()
        )
        await end_all_sessions(user_id)
    return user_id


async def change_password(user_id: int, session_id: int, current: str, new_password: str) -> None:
    """Change the password and end every other session of the account."""
    user = await User.objects().get(User.id == user_id)
    if not verify_password(user.password_hash, current):
        raise AccountError("Your current password is wrong.", "current_password")
    check_password_strength(new_password, user.email)
    async with db.transaction():
        await User.update({User.password_hash: hash_password(new_password)}).where(User.id == user_id)
        await end_all_sessions(user_id, except_session_id=session_id)


async def create_admin(email: str, password: str) -> User:
    async with db.transaction():
        return await create_user(email, password, "admin", "Administrator", confirmed=True)


# ---- the second factor: TOTP and single-use recovery codes (required of admins, optional for everyone) --------

TOTP_ISSUER = "CareerCenter"
TOTP_STEP_SECONDS = 30
TOTP_SETUP_KEPT = dt.timedelta(minutes=10)  # a key shown on the setup page survives reloads this long
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper


def new_totp_secret() -> str:
    return pyotp.random_base32()


def valid_totp_secret(secret: str) -> bool:
    return bool(re.fullmatch(r"[A-Z2-7]{16,64}", secret or ""))


def totp_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def _totp_step(secret: str, code: str, now: dt.datetime | None = None) -> int | None:
    """The time step whose code is `code`, allowing one step of clock drift either way."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = int((now or clock.now()).timestamp()) // TOTP_STEP_SECONDS
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            return step
    return None


def _normalise_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "").lower())


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
    return raw[:5] + "-" + raw[5:]


async def _replace_recovery_codes(user_id: int) -> list[str]:
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    await RecoveryCode.delete().where(RecoveryCode.user == user_id)
    await RecoveryCode.insert(
        *[RecoveryCode(user=user_id, code_hash=token_hash(_normalise_recovery_code(c))) for c in codes]
    )
    return codes


def seal_totp_secret(secret: str, settings: Settings) -> str:
    """The authenticator key as stored: sealed under TOTP_KEY (or SECRET_KEY)."""
    return sealing.seal(secret, sealing.key_material(settings))


async def has_totp(user_id: int) -> bool:
    return await User.exists().where((User.id == user_id) & User.totp_secret_sealed.is_not_null())


async def totp_setup_secret(session_id: int, settings: Settings) -> str:
    """The key this browser is setting up: the one shown in the last 10 minutes, else a new one (kept sealed)."""
    now = clock.now()
    row = await Session.select(Session.totp_setup_sealed, Session.totp_setup_until).where(
        Session.id == session_id).first()
    if row and row["totp_setup_until"] and row["totp_setup_until"] > now:
        kept = sealing.unseal(row["totp_setup_sealed"], sealing.key_material(settings))
        if kept and valid_totp_secret(kept):
            return kept
    secret = new_totp_secret()
    await Session.update({Session.totp_setup_sealed: seal_totp_secret(secret, settings),
                          Session.totp_setup_until: now + TOTP_SETUP_KEPT}).where(Session.id == session_id)
    return secret


async def _kept_setup_secret(session_id: int, settings: Settings) -> str | None:
    row = await Session.select(Session.totp_setup_sealed, Session.totp_setup_until).where(
        Session.id == session_id).first()
    if not row or not row["totp_setup_until"] or row["totp_setup_until"] <= clock.now():
        return None
    return sealing.unseal(row["totp_setup_sealed"], sealing.key_material(settings))


async def enrol_totp(user_id: int, session_id: int, code: str, settings: Settings, *,
                     now: dt.datetime | None = None) -> list[str]:
    """Keep the key this session is setting up once the person proves their app shows its codes; returns fresh
    recovery codes (shown once). Re-enrolment must be authorised first (`check_password_and_factor`)."""
    secret = await _kept_setup_secret(session_id, settings)
    if not secret or not valid_totp_secret(secret):
        raise AccountError("The set-up key expired. Scan the new QR code on this page.", "code")
    step = _totp_step(secret, code, now)
    if step is None:
        raise AccountError("That code does not match. Check the clock of your phone and try the newest code.", "code")
    async with db.transaction():
        await User.update({User.totp_secret_sealed: seal_totp_secret(secret, settings), User.totp_last_step: step}
                          ).where(User.id == user_id)
        await Session.update({Session.totp_setup_sealed: None, Session.totp_setup_until: None}).where(
            Session.id == session_id)
        return await _replace_recovery_codes(user_id)


async def verify_second_factor(user_id: int, code: str, settings: Settings, *, now: dt.datetime | None = None) -> str:
    """Accept a TOTP code (each time step once) or an unused recovery code (then spent); returns which.

    Raises AccountError(field='code') for anything else.
    """
    user = await User.objects().where(User.id == user_id).first()
    secret = sealing.unseal(user.totp_secret_sealed, sealing.key_material(settings)) if user else None
    if user is None or not user.totp_secret_sealed:
        raise AccountError("Set up your authenticator app first.", "code")
    step = _totp_step(secret, code, now) if secret else None
    if step is not None:
        accepted = await User.update({User.totp_last_step: step}).where(
            (User.id == user_id) & (User.totp_last_step.is_null() | (User.totp_last_step < step))
        ).returning(User.id)
        if accepted:
            return "totp"
        raise AccountError("That code was already used. Wait for the next one.", "code")
    normalised = _normalise_recovery_code(code)
    if len(normalised) == 10:
        spent = await RecoveryCode.update({RecoveryCode.used_at: clock.now()}).where(
            (RecoveryCode.user == user_id)
            & (RecoveryCode.code_hash == token_hash(normalised))
            & RecoveryCode.used_at.is_null()
        ).returning(RecoveryCode.id)
        if spent:
            return "recovery"
    raise AccountError("That code is not right.", "code")


async def check_password_and_factor(user_id: int, password: str, code: str, settings: Settings) -> None:
    """What changing two-step login asks: the password, and a current code (or a recovery code) when it is on."""
    user = await User.objects().get(User.id == user_id)
    if not verify_password(user.password_hash, password):
        raise AccountError("Your password is wrong.", "password")
    if user.totp_secret_sealed:
        await verify_second_factor(user_id, code, settings)


async def regenerate_recovery_codes(user_id: int, password: str, code: str, settings: Settings) -> list[str]:
    """New recovery codes (password and a current code required); every older one stops working."""
    await check_password_and_factor(user_id, password, code, settings)
    async with db.transaction():
        return await _replace_recovery_codes(user_id)


async def turn_off_totp(user_id: int, password: str, code: str, settings: Settings) -> None:
    """A coder or employer turns two-step login off (password and a current code); admins cannot."""
    user = await User.objects().get(User.id == user_id)
    if user.role == "admin":
        raise AccountError("Admins always log in with two steps.", "code")
    await check_password_and_factor(user_id, password, code, settings)
    async with db.transaction():
        await User.update({User.totp_secret_sealed: None, User.totp_last_step: None}).where(User.id == user_id)
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)


async def recovery_codes_left(user_id: int) -> int:
    return await RecoveryCode.count().where((RecoveryCode.user == user_id) & RecoveryCode.used_at.is_null())
