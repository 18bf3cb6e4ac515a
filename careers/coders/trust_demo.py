"""`careers seed-demo`'s trust states (issue 18): an employer with a "Responds quickly" record, the others below 5
counted applications ("Not enough applications yet": demo applications are fresh and unanswered), a verified and a
pending credential. Idempotent: a second run adds nothing."""

from __future__ import annotations

import datetime as dt
import json

from careers.coders import profiles, service
from careers.coders.tables import (
    Application,
    ApplicationStage,
    CoderCredential,
    CoderProfile,
    CredentialCheck,
    CredentialCheckState,
)
from careers.core import clock, db
from employers import response
from employers.tables import Employer
from listings import service as listings_service
from listings.tables import Listing

QUICK_EMPLOYER_SLUG = "mercy-ridge-health"  # the first demo employer gets the quick record
QUICK_APPLICATIONS = 6


async def seed_trust_demo(user_ids: list[int], now: dt.datetime | None = None) -> None:
    """Seed the response record and credential states the demo shows, then store every employer's record."""
    now = now or clock.now()
    employer = await Employer.objects().where(Employer.slug == QUICK_EMPLOYER_SLUG).first()
    if employer is not None:
        await _quick_record(employer.id, user_ids, now)
    await _credential_states(user_ids, now)
    for row in await Employer.select(Employer.id):
        await response.refresh_employer(row["id"], now)


async def _quick_record(employer_id: int, user_ids: list[int], now: dt.datetime) -> None:
    listing = await Listing.select(Listing.id).where(
        (Listing.employer == employer_id) & listings_service.public_where()).order_by(Listing.id).first()
    if listing is None:
        return
    snapshots = [json.dumps(await profiles.profile_details(await service.get_or_create_profile(user_id)), default=str)
                 for user_id in user_ids[:QUICK_APPLICATIONS]]
    async with db.transaction():
        for n, (user_id, snapshot) in enumerate(zip(user_ids, snapshots)):
            applied = now - dt.timedelta(days=20 + 3 * n)
            await Application.insert(Application(
                listing=listing["id"], coder=user_id, listing_coder=f"{listing['id']}:{user_id}",
                stage=ApplicationStage.NOT_SELECTED if n % 2 else ApplicationStage.REVIEWED, profile_snapshot=snapshot,
                cover_note="Demo application answered within a day.", created_at=applied, updated_at=applied,
                viewed_at=applied + dt.timedelta(hours=12),
                first_employer_action_at=applied + dt.timedelta(days=1 if n % 3 else 2),
            )).on_conflict(target=Application.listing_coder, action="DO NOTHING")
            # an application that existed already keeps its own times; answer it for the demo's record
            await Application.update({Application.first_employer_action_at: applied + dt.timedelta(days=1),
                                      Application.created_at: applied}).where(
                (Application.listing_coder == f"{listing['id']}:{user_id}")
                & Application.first_employer_action_at.is_null())


async def _credential_states(user_ids: list[int], now: dt.datetime) -> None:
    """The first demo coder's first credential verified, the second's pending (each with a number and expiry)."""
    for user_id, state in zip(user_ids[:2], (CredentialCheckState.VERIFIED, CredentialCheckState.PENDING)):
        profile = await CoderProfile.objects().where(CoderProfile.user == user_id).first()
        held = profile and await CoderCredential.select(CoderCredential.credential).where(
            CoderCredential.profile == profile.id).order_by(CoderCredential.credential).first()
        if not held:
            continue
        key = f"{profile.id}:{held['credential']}"
        await CredentialCheck.insert(CredentialCheck(
            profile=profile.id, credential=held["credential"], profile_credential=key,
            member_number=f"DEMO-{user_id:06d}", expires_on=(now + dt.timedelta(days=300)).date(), state=state,
            submitted_at=now - dt.timedelta(days=3),
            decided_at=now - dt.timedelta(days=2) if state == CredentialCheckState.VERIFIED else None,
            reason="Demo: checked against the registry." if state == CredentialCheckState.VERIFIED else "",
        )).on_conflict(target=CredentialCheck.profile_credential, action="DO NOTHING")
