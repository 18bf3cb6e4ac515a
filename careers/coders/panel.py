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
        "application": application,
        "saved": coder["saved"],
        "can_apply": not blockers and application is None,
        "blockers": blockers,
        "cover_note_max": COVER_NOTE_MAX,
        "screening": screening.panel(listing.screening_questions, coder["screening_answers"], coder["home_state"]),
    }}
