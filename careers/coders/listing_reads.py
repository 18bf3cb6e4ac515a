"""What a listing page and an apply need to know about the coder, in one statement.

Kept apart so both `applications.apply` and `panel` import it without a cycle.
"""

from __future__ import annotations

from typing import Any

from careers.coders.verified import verified_pairs_sql, verified_today
from careers.core import db


def _statement() -> str:
    return (
        'SELECT p0.state AS home_state, p0.years_experience AS years, p0.desired_work_mode AS desired_work_mode, '
        "p0.screening_answers AS screening_answers, "
        "(SELECT " + db.comma_list("cc.credential") + " FROM coder_credentials cc "
        'JOIN coder_profiles p ON p.id = cc.profile WHERE p."user" = {}) AS held, '
        + verified_pairs_sql("{}") + " AS verified, "
        "a.id AS application_id, a.stage AS application_stage, a.created_at AS application_created_at, "
        "(SELECT COUNT(*) FROM saved_jobs WHERE user_listing = {}) AS saved "
        "FROM (SELECT 1 AS one) AS base LEFT JOIN applications a ON a.listing_coder = {} "
        'LEFT JOIN coder_profiles p0 ON p0."user" = {}'
    )


async def coder_side(user_id: int, listing_id: int) -> dict[str, Any]:
    """The coder's home state and held credentials (the qualification rule's inputs), years of experience and the
    work mode they want (shown beside it), their screener answers, their application to this listing (id, stage,
    created_at) or None, whether they saved it, and their verified credentials — one round trip."""
    row = (await db.fetch(_statement(), user_id, user_id, f"{user_id}:{listing_id}", f"{listing_id}:{user_id}",
                          user_id))[0]
    application = None
    if row["application_id"]:
        application = {"id": row["application_id"], "stage": row["application_stage"],
                       "created_at": row["application_created_at"]}
    return {
        "home_state": row["home_state"] or None,
        "held": {c for c in (row["held"] or "").split(",") if c},
        "verified": verified_today(row["verified"]),
        "application": application,
        "saved": bool(row["saved"]),
        "screening_answers": row["screening_answers"] or "{}",  # careers.coders.screening.saved_answers reads it
        "years": int(row["years"]) if row["years"] is not None else None,
        "desired_work_mode": row["desired_work_mode"] or "",
    }
