"""Which of a coder's credentials are verified today, read inside another statement (a page's statement budget).

A correlated subquery gives the verified checks as "code@expiry" pairs; the expiry is judged here against the kernel
clock (one SQL text for SQLite and PostgreSQL). The rule itself is `credentials.is_verified`: state verified and
expiry today or later.
"""

from __future__ import annotations

from careers.coders.tables import CredentialCheckState
from careers.core import clock, db


def verified_pairs_sql(user_expression: str) -> str:
    """A scalar subquery: the verified checks of the coder whose user id is `user_expression`, as "code@expiry"."""
    return ("(SELECT " + db.comma_list("ck.credential || '@' || COALESCE(CAST(ck.expires_on AS TEXT), '')")
            + " FROM credential_checks ck JOIN coder_profiles vp ON vp.id = ck.profile"
            f" WHERE vp.\"user\" = {user_expression} AND ck.state = '{CredentialCheckState.VERIFIED.value}')")


def verified_today(joined: str | None) -> set[str]:
    """The codes of "code@expiry" pairs whose expiry is today or later."""
    today = clock.now().date().isoformat()
    out = set()
    for pair in (joined or "").split(","):
        code, _, expires = pair.partition("@")
        if code and (not expires or expires[:10] >= today):
            out.add(code)
    return out
