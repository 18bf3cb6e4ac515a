"""One-click apply from search results: who may (a coder whose profile is ready to send as it is) and which of the
shown jobs they already applied to. Two statements for a page of results, whatever its size."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from careers.core import db


async def one_click_ids(user: Any, hits: list[dict[str, Any]]) -> set[int]:
    """The shown listings one click can apply to: none unless the coder's email is confirmed and their profile has a
    name, a ZIP code, at least one credential and a resume (what employers sort applicants by); then every hit but
    remote jobs closed to the coder's state (the apply would be refused)."""
    if not hits or getattr(user, "role", None) != "coder" or not getattr(user, "email_confirmed", False):
        return set()
    rows = await db.fetch(
        "SELECT p.name, p.zip, p.state, p.resume_key, "
        "(SELECT COUNT(*) FROM coder_credentials c WHERE c.profile = p.id) AS n "
        'FROM coder_profiles p WHERE p."user" = {}', user.id)
    if not rows or not all((rows[0]["name"], rows[0]["zip"], rows[0]["resume_key"], int(rows[0]["n"] or 0))):
        return set()
    state = rows[0]["state"]
    return {int(h["id"]) for h in hits if not (h.get("work_mode") == "remote" and h.get("remote_states")
                                               and state not in h["remote_states"])}


async def applied_listing_ids(user_id: int, listing_ids: Iterable[int]) -> set[int]:
    """Which of these listings the coder has applied to (one statement)."""
    ids = sorted({int(i) for i in listing_ids})
    if not ids:
        return set()
    rows = await db.fetch("SELECT listing FROM applications WHERE coder = {} AND listing IN ("
                          + ", ".join(["{}"] * len(ids)) + ")", user_id, *ids)
    return {int(r["listing"]) for r in rows}
