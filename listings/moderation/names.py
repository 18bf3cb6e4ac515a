"""Words for the admin pages: state and actor labels, and the names behind the ids in audit entries.

The audit log stores ids (an entry outlives renames); the pages show the employer's name and the listing's title,
each linking to its admin page, read in one statement per kind for a whole page of entries.
"""

from __future__ import annotations

from typing import Any

from careers.accounts.tables import User
from employers.tables import Employer
from listings.service import STATE_LABELS
from listings.tables import Listing
from listings.vocabulary import PAY_UNITS, WORK_MODES

# Who moved a listing, in the admin's words (listing_events.actor_kind).
ACTOR_KINDS = {"employer": "Employer", "admin": "Admin", "system": "CareerCenter (automatic)",
               "webhook": "Stripe (payment)"}


def page_words() -> dict[str, Any]:
    """The label tables the admin templates read (`state_labels.get(value, value)` and the like)."""
    return {"state_labels": STATE_LABELS, "actor_kinds": ACTOR_KINDS, "work_modes": WORK_MODES,
            "pay_units": PAY_UNITS}


async def with_names(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add `employer_name`, `listing_title` and `coder_email` (audit entries about a coder account carry its id in
    `after.user`) to each entry; one statement per kind that occurs. Missing rows leave the name empty."""
    employer_ids = {e["employer_id"] for e in entries if e.get("employer_id")}
    listing_ids = {e["listing_id"] for e in entries if e.get("listing_id")}
    user_ids = {_coder_id(e) for e in entries} - {None}
    employers = {r["id"]: r["name"] for r in await Employer.select(Employer.id, Employer.name).where(
        Employer.id.is_in(sorted(employer_ids)))} if employer_ids else {}
    titles = {r["id"]: r["title"] for r in await Listing.select(Listing.id, Listing.title).where(
        Listing.id.is_in(sorted(listing_ids)))} if listing_ids else {}
    emails = {r["id"]: r["email"] for r in await User.select(User.id, User.email).where(
        User.id.is_in(sorted(user_ids)))} if user_ids else {}
    for e in entries:
        e["employer_name"] = employers.get(e.get("employer_id"), "")
        e["listing_title"] = titles.get(e.get("listing_id"), "")
        e["coder_id"] = _coder_id(e)
        e["coder_email"] = emails.get(e["coder_id"], "")
    return entries


def _coder_id(entry: dict[str, Any]) -> int | None:
    after = entry.get("after")
    if isinstance(after, dict) and str(entry.get("action", "")).startswith("coder ") and isinstance(
            after.get("user"), int):
        return after["user"]
    return None
