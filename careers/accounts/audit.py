"""The audit log: every admin action and every automated moderation decision, written once.

There is deliberately no function here (or anywhere in the app) that updates or deletes an
entry: the log is append-only as far as the board is concerned.
"""

from __future__ import annotations

import json
from typing import Any

from careers.accounts.tables import AuditEntry, User

SYSTEM = "system"


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=str, sort_keys=True)


async def record(
    action: str,
    *,
    actor: Any = None,
    reason: str = "",
    employer_id: int | None = None,
    listing_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> int:
    """Write one entry; `actor` is the signed-in admin (anything with `.id` and `.email`) or None for the system.

    Call inside the transaction of the change it describes, so the entry exists exactly when the change does.
    """
    actor_id = getattr(actor, "id", None) if actor is not None else None
    label = getattr(actor, "email", None) if actor is not None else SYSTEM
    entry = AuditEntry(
        actor=actor_id,
        actor_label=(label or SYSTEM)[:320],
        action=action[:64],
        employer_id=employer_id,
        listing_id=listing_id,
        reason=(reason or "")[:4000],
        before=_json(before),
        after=_json(after),
    )
    await entry.save()
    return entry.id


async def entries(
    *,
    actor: str | None = None,
    employer_id: int | None = None,
    listing_id: int | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict]:
    """Newest first. `actor` is an admin's email or "system"."""
    query = AuditEntry.select().order_by(AuditEntry.id, ascending=False).limit(limit).offset(offset)
    conditions = []
    if actor:
        conditions.append(AuditEntry.actor_label == actor.strip().lower())
    if employer_id is not None:
        conditions.append(AuditEntry.employer_id == employer_id)
    if listing_id is not None:
        conditions.append(AuditEntry.listing_id == listing_id)
    if action:
        conditions.append(AuditEntry.action == action)
    for condition in conditions:
        query = query.where(condition)
    rows = await query.output(load_json=True)
    return rows


async def actors() -> list[str]:
    """Everyone who appears in the log (for the filter's choices)."""
    rows = await AuditEntry.select(AuditEntry.actor_label).distinct().order_by(AuditEntry.actor_label)
    return [r["actor_label"] for r in rows]


async def admin_emails() -> list[str]:
    rows = await User.select(User.email).where((User.role == "admin") & (User.login_disabled == False))  # noqa: E712
    return [r["email"] for r in rows]
