"""Coder accounts for admins: find one by email or name, suspend it (no login, sessions ended, public profile
hidden) and reinstate it; both go into the audit log with the admin's reason."""

from __future__ import annotations

from typing import Any

from careers.accounts import audit
from careers.accounts import service as accounts
from careers.accounts.tables import User
from careers.core import db
from careers.core.errors import Invalid, NotFound

PAGE_SIZE = 50
DELETED_PASSWORD = "!deleted"  # what careers/coders/privacy.py leaves on a deleted account


class CoderAccountError(Invalid):
    """A suspend or reinstate the account's state or the form refuses; `field` names the form field."""


class CoderAccountMissing(CoderAccountError, NotFound):
    def __init__(self) -> None:
        super().__init__("That coder account does not exist.")


def _like(q: str) -> str:
    escaped = q.strip().lower()[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def find(q: str = "", page: int = 1) -> tuple[list[dict[str, Any]], int]:
    """Coder accounts whose email, display name or profile name contains `q` (any case), or whose id it is, newest
    first, a page of PAGE_SIZE with their application count; and how many match."""
    where = "u.role = 'coder'"
    args: list[Any] = []
    if q.strip():
        where += (" AND (LOWER(u.email) LIKE {} ESCAPE '\\' OR LOWER(u.display_name) LIKE {} ESCAPE '\\' "
                  "OR LOWER(COALESCE(p.name, '')) LIKE {} ESCAPE '\\')")
        args = [_like(q)] * 3
        if q.strip().isdigit():  # an id, as in the audit log's links and the pages' redirects
            where = where[:-1] + " OR u.id = {})"
            args.append(int(q.strip()))
    joined = 'FROM users u LEFT JOIN coder_profiles p ON p."user" = u.id WHERE ' + where
    rows = await db.fetch(
        "SELECT u.id, u.email, u.display_name, u.login_disabled, u.created_at, u.password_hash = {} AS deleted, "
        "p.name, p.handle, p.visible, (SELECT COUNT(*) FROM applications a WHERE a.coder = u.id) AS applications "
        + joined + " ORDER BY u.id DESC LIMIT {} OFFSET {}", DELETED_PASSWORD, *args, PAGE_SIZE,
        (max(page, 1) - 1) * PAGE_SIZE)
    total = (await db.fetch("SELECT COUNT(*) AS n " + joined, *args))[0]["n"]
    for r in rows:
        r["login_disabled"], r["deleted"], r["visible"] = bool(r["login_disabled"]), bool(r["deleted"]), bool(
            r["visible"])
        r["applications"] = int(r["applications"] or 0)
    return rows, int(total or 0)


async def _coder(user_id: int) -> User:
    user = await User.objects().where((User.id == user_id) & (User.role == "coder")).first()
    if user is None or user.password_hash == DELETED_PASSWORD:
        raise CoderAccountMissing()
    return user


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise CoderAccountError("Give a reason; it goes into the audit log.", "reason")
    return reason[:2000]


async def suspend(user_id: int, admin: Any, reason: str) -> None:
    """Lock the coder out: no login, every session ended; their public profile is hidden while suspended."""
    reason = _reason(reason)
    user = await _coder(user_id)
    if user.login_disabled:
        raise CoderAccountError("This account is already suspended.")
    async with db.transaction():
        await accounts.disable_login(user_id, True)
        await audit.record("coder suspended", actor=admin, reason=reason, before={"login_disabled": False},
                           after={"user": user_id, "login_disabled": True})


async def reinstate(user_id: int, admin: Any, reason: str) -> None:
    """Let a suspended coder log in again."""
    reason = _reason(reason)
    user = await _coder(user_id)
    if not user.login_disabled:
        raise CoderAccountError("This account is not suspended.")
    async with db.transaction():
        await accounts.disable_login(user_id, False)
        await audit.record("coder reinstated", actor=admin, reason=reason, before={"login_disabled": True},
                           after={"user": user_id, "login_disabled": False})
