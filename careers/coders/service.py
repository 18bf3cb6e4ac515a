"""Coders: the domain's errors, registration and handles, and the qualification rule.

Profiles and resumes live in `careers.coders.profiles`, applications (and the listing page's panel)
in `careers.coders.applications`, saved jobs in `careers.coders.saved`, job alerts in
`careers.coders.alerts`, data export and account deletion in `careers.coders.privacy`.
Nothing here knows HTTP: pages call these functions.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from careers.accounts import service as accounts
from careers.accounts.tables import User
from careers.coders.tables import CoderCredential, CoderProfile
from careers.core import db, text
from careers.core.config import Settings
from careers.core.errors import DomainError, NotFound
from listings.service import is_public, is_withheld  # noqa: F401 - the one visibility rule, for this domain
from listings.tables import Listing, ListingCredential, ListingRemoteState
from listings.vocabulary import ListingState

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


def listing_notice(status: str, withheld: bool) -> str:
    """What a coder is told about a job that is no longer (or not yet) live; "" when it is live. `withheld`: the
    listing is hidden or paused (`listings.service.is_withheld`)."""
    if status == ListingState.PUBLISHED and not withheld:
        return ""
    if status == ListingState.PUBLISHED:
        return "This job is not shown at the moment."
    return LISTING_NOTICES.get(status, "This job is not shown at the moment.")


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


async def seed_demo_profiles(user_ids: list[int], settings: Settings | None = None) -> int:
    """`careers seed-demo`'s hook: profiles, resumes, applications and alerts for the demo coders (idempotent)."""
    from careers.coders.demo import seed_demo_profiles as seed

    return await seed(user_ids, settings)


async def seed_trust_demo(user_ids: list[int], now=None) -> None:
    """`careers seed-demo`'s hook for issue 18: a quick employer record, a verified and a pending credential."""
    from careers.coders.trust_demo import seed_trust_demo as seed

    await seed(user_ids, now)
