"""Mail preferences: each kind of non-essential mail (reminders, nudges, digests) a person may turn off.

Security mail (confirmation, reset, sign-in) and application-status mail (stage changes, receipts) are not
kinds here: they always go. Every new non-essential mail asks `wants(user_id, kind)` (or `wanting(...)` for a
batch) before it is queued; a mail to an address with no account (a guest alert) is not asked about.
Only the kinds a person turned off are stored (`mail_opt_outs`), so a new kind starts on for everyone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from careers.accounts.auth import requires_login
from careers.accounts.tables import MailOptOut
from careers.core import db
from careers.core.web import form_list, read_form, redirect, render


@dataclass(frozen=True)
class MailKind:
    label: str
    description: str
    roles: frozenset[str]  # who gets this kind of mail (the page lists only these)


EMPLOYER = frozenset({"employer"})
CODER = frozenset({"coder"})

# The kind names are part of the design (docs/architecture.md "Mail preferences"); add a kind here, then ask for it.
KINDS: dict[str, MailKind] = {
    "listing_reminders": MailKind(
        "Listing reminders", "Asks you every 14 days to confirm a published job is still open, and asks why a "
        "listing ended when it expires.", EMPLOYER),
    "applicant_nudges": MailKind(
        "Applicant nudges", "Lists applicants who have waited 10 days without an answer from your team.", EMPLOYER),
    "no_response_notices": MailKind(
        "No-response notices", "Tells you once when an employer has not answered an application for 10 days.", CODER),
    "credential_reminders": MailKind(
        "Credential expiry reminders", "Reminds you 30 days before a verified credential expires, so you can enter "
        "its renewal before the badge goes.", CODER),
    "alert_digests": MailKind(
        "Job alert digests", "The daily or weekly mail of new jobs matching your saved searches (each alert can "
        "also be paused on its own).", CODER),
}


class UnknownMailKind(ValueError):
    pass


def _check(kind: str) -> str:
    if kind not in KINDS:
        raise UnknownMailKind(f"{kind!r} is not a mail kind (careers/accounts/mail_prefs.py KINDS)")
    return kind


async def wants(user_id: int, kind: str) -> bool:
    """Whether this person still wants mail of this kind (True unless they turned it off)."""
    _check(kind)
    return not await MailOptOut.exists().where((MailOptOut.user == user_id) & (MailOptOut.kind == kind))


async def wanting(user_ids: Iterable[int], kind: str) -> set[int]:
    """Which of these people still want mail of this kind: one statement for a batch of recipients."""
    _check(kind)
    ids = set(user_ids)
    if not ids:
        return set()
    rows = await MailOptOut.select(MailOptOut.user).where(MailOptOut.user.is_in(list(ids)) & (MailOptOut.kind == kind))
    return ids - {r["user"] for r in rows}


def kinds_for(role: str) -> dict[str, MailKind]:
    return {name: kind for name, kind in KINDS.items() if role in kind.roles}


async def set_wanted(user_id: int, role: str, wanted: set[str]) -> None:
    """Store the person's choice for every kind their role gets: the ones not in `wanted` are turned off."""
    names = list(kinds_for(role))
    async with db.transaction():
        if names:
            await MailOptOut.delete().where((MailOptOut.user == user_id) & MailOptOut.kind.is_in(names))
        off = [MailOptOut(user=user_id, kind=name, user_kind=f"{user_id}:{name}")
               for name in names if name not in wanted]
        if off:
            await MailOptOut.insert(*off)


class MailPreferencesController(Controller):
    """`/account/mail`: one checkbox per kind of non-essential mail the person's role gets."""

    path = "/account/mail"
    include_in_schema = False
    guards = [requires_login]

    @get("/")
    async def page(self, request: Request) -> Template:
        user = request.user
        kinds = kinds_for(user.role)
        wanted = {name for name in kinds if await wants(user.id, name)}  # at most four small reads
        return render(request, "accounts/mail_preferences.html", {"kinds": kinds, "wanted": wanted})

    @post("/")
    async def save(self, request: Request) -> Redirect:
        user = request.user
        chosen = set(form_list(await read_form(request), "wanted"))
        await set_wanted(user.id, user.role, chosen & set(kinds_for(user.role)))
        return redirect(request, "/account/mail", "Your mail preferences are saved.", "success")
