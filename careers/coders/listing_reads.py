"""What a listing page and an apply need to know about the coder, in one statement.

Kept apart so both `applications.apply` and `panel` import it without a cycle.
"""

from __future__ import annotations

from typing import Any

from careers.core import clock, db


def _statement() -> str:
    return (
        'SELECT (SELECT state FROM coder_profiles WHERE "user" = {}) AS home_state, '
        "(SELECT " + db.comma_list("cc.credential") + " FROM coder_credentials cc "
        'JOIN coder_profiles p ON p.id = cc.profile WHERE p."user" = {}) AS held, '
        # verified checks as "code@expiry" (the date is judged in Python: one statement on both engines)
        "(SELECT " + db.comma_list("ck.credential || '@' || COALESCE(CAST(ck.expires_on AS TEXT), '')")
        + " FROM credential_checks ck JOIN coder_profiles p ON p.id = ck.profile "
        "WHERE p.\"user\" = {} AND ck.state = 'verified') AS verified, "
        "a.id AS application_id, a.stage AS application_stage, a.created_at AS application_created_at, "
        "(SELECT COUNT(*) FROM saved_jobs WHERE user_listing = {}) AS saved "
        "FROM (SELECT 1 AS one) AS base LEFT JOIN applications a ON a.listing_coder = {}"
    )


def _verified_today(joined: str | None) -> set[str]:
    """The codes of "code@expiry" pairs whose expiry is today or later (the verified badge's date rule)."""
    today = clock.now().date().isoformat()
    out = set()
    for pair in (joined or "").split(","):
        code, _, expires = pair.partition("@")
        if code and (not expires or expires[:10] >= today):
            out.add(code)
    return out


async def coder_side(user_id: int, listing_id: int) -> dict[str, Any]:
    """The coder's home state and held credentials (the qualification rule's inputs), their application to this
    listing (id, stage, created_at) or None, whether they saved it, and their verified credentials — one round
    trip."""
    row = (await db.fetch(_statement(), user_id, user_id, user_id, f"{user_id}:{listing_id}",
                          f"{listing_id}:{user_id}"))[0]
    application = None
    if row["application_id"]:
        application = {"id": row["application_id"], "stage": row["application_stage"],
                       "created_at": row["application_created_at"]}
    return {
        "home_state": row["home_state"] or None,
        "held": {c for c in (row["held"] or "").split(",") if c},
        "verified": _verified_today(row["verified"]),
        "application": application,
        "saved": bool(row["saved"]),
    }
