"""The coder's panel on a listing page (qualification match, application, saved) from ONE statement.

The listing's side of the match comes from what the page already read (`listings.page_data`); the coder's side
— home state, held credentials, an application to this listing, whether it is saved — is one query.
"""

from __future__ import annotations

from typing import Any

from careers.coders import screening
from careers.coders.applications import COVER_NOTE_MAX, STAGE_LABELS
from careers.coders.listing_reads import coder_side
from careers.coders.service import is_public, is_withheld, listing_notice, qualification_match
from listings.vocabulary import WORK_MODES


def experience_and_mode(years: int | None, desired_mode: str, listing: Any) -> list[dict[str, Any]]:
    """The match beyond the qualification rule, for the coder to judge (never a reason to refuse an apply): years of
    experience against the listing's minimum, and the work mode against the one the coder wants.
    Each row: `ok` (True ✓, False ✗, None – for "not required"), `label`, `text`."""
    rows = []
    minimum = int(getattr(listing, "min_years", 0) or 0)
    have = years or 0
    if minimum:
        enough = have >= minimum
        rows.append({"ok": enough if enough or not listing.entry_level_ok else None,
                     "label": f"At least {minimum} year{'s' if minimum != 1 else ''} of experience",
                     "text": f"you have {have}" + ("" if enough or not listing.entry_level_ok
                                                   else "; entry-level candidates are welcome")})
    mode = WORK_MODES.get(listing.work_mode, listing.work_mode)
    if not desired_mode:
        rows.append({"ok": True, "label": f"Work mode: {mode}", "text": "you accept any work mode"})
    else:
        wanted = WORK_MODES.get(desired_mode, desired_mode)
        rows.append({"ok": desired_mode == listing.work_mode, "label": f"Work mode: {mode}",
                     "text": "the one you want" if desired_mode == listing.work_mode else f"you want {wanted.lower()}"})
    return rows


async def listing_panel(user: Any, listing: Any, details: dict[str, list[str]]) -> dict[str, Any]:
    """`{"coder_panel": …}` for templates/coders/_listing_panel.html, as `careers.coders.applications.listing_panel`
    answers it, without reading the listing again."""
    if user is None or getattr(user, "role", None) != "coder":
        return {"coder_panel": {"signed_in": user is not None, "is_coder": False, "listing_id": listing.id}}
    coder = await coder_side(user.id, listing.id)
    application = coder["application"]
    if application is not None:
        application = {**application, "stage_label": STAGE_LABELS.get(application["stage"], application["stage"])}
    match = qualification_match(coder["held"], coder["home_state"], {"work_mode": listing.work_mode, **details})
    blockers: list[str] = []
    if not is_public(listing):
        blockers.append(listing_notice(listing.status, is_withheld(listing)) + " It no longer accepts applications.")
    if not user.email_confirmed:
        blockers.append("Confirm your email address before applying (see your account page).")
    if match["state_eligible"] is False:
        blockers.append(match["reasons"][-1] + " You cannot apply to it.")
    return {"coder_panel": {
        "signed_in": True,
        "is_coder": True,
        "listing_id": listing.id,
        "match": match,
        "verified": coder["verified"] & coder["held"],  # credentials verified by CareerCenter (issue 18)
        "fit": experience_and_mode(coder["years"], coder["desired_work_mode"], listing),
        "application": application,
        "saved": coder["saved"],
        "can_apply": not blockers and application is None,
        "blockers": blockers,
        "cover_note_max": COVER_NOTE_MAX,
        "screening": screening.panel(listing.screening_questions, coder["screening_answers"], coder["home_state"]),
    }}
