"""Coders: registration (profiles, applications, saved jobs and alerts grow here)."""

from __future__ import annotations

from careers.accounts import service as accounts
from careers.core import db
from careers.core.config import Settings


async def register_coder(email: str, password: str, display_name: str, settings: Settings):
    """Create a coder account and mail the confirmation link, in one transaction."""
    if not display_name.strip():
        raise accounts.AccountError("Enter your name.", "display_name")
    async with db.transaction():
        user = await accounts.create_user(email, password, "coder", display_name)
        await accounts.send_confirmation(user, settings)
    return user
