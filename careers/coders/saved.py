"""Saved jobs: a coder's bookmarks of listings."""

from __future__ import annotations

from typing import Any

from careers.coders.service import NotAllowed, is_public, is_withheld, listing_notice, listing_path
from careers.coders.tables import Application, SavedJob
from listings.tables import Listing
from listings.vocabulary import WORK_MODES


async def save_job(user_id: int, listing_id: int) -> None:
    """Bookmark a live listing (saving twice changes nothing)."""
    listing = await Listing.select(Listing.status, Listing.hidden, Listing.paused).where(
        Listing.id == listing_id).first()
    if listing is None or not is_public(listing):
        raise NotAllowed()
    await SavedJob.insert(SavedJob(user=user_id, listing=listing_id, user_listing=f"{user_id}:{listing_id}")).on_conflict(
        target=SavedJob.user_listing, action="DO NOTHING")


async def unsave_job(user_id: int, listing_id: int) -> None:
    await SavedJob.delete().where(SavedJob.user_listing == f"{user_id}:{listing_id}")


async def saved_listing_ids(user_id: int, listing_ids: list[int] | None = None) -> set[int]:
    """Which of these listings (all, when None) the coder saved — for save/unsave buttons on result cards."""
    query = SavedJob.select(SavedJob.listing).where(SavedJob.user == user_id)
    if listing_ids is not None:
        if not listing_ids:
            return set()
        query = query.where(SavedJob.listing.is_in(listing_ids))
    return {r["listing"] for r in await query}


async def saved_jobs(user_id: int) -> list[dict[str, Any]]:
    """Saved jobs, newest first; jobs that expired or closed since are kept and marked."""
    rows = await SavedJob.select(
        SavedJob.created_at, SavedJob.listing.id.as_alias("listing_id"), SavedJob.listing.title.as_alias("title"),
        SavedJob.listing.slug.as_alias("slug"), SavedJob.listing.status.as_alias("status"),
        SavedJob.listing.hidden.as_alias("hidden"), SavedJob.listing.paused.as_alias("paused"),
        SavedJob.listing.city.as_alias("city"),
        SavedJob.listing.state.as_alias("state"), SavedJob.listing.work_mode.as_alias("work_mode"),
        SavedJob.listing.expires_at.as_alias("expires_at"),
        SavedJob.listing.employer.name.as_alias("employer_name"),
    ).where(SavedJob.user == user_id).order_by(SavedJob.created_at, ascending=False).order_by(SavedJob.id, ascending=False)
    applied = {r["listing"] for r in await Application.select(Application.listing).where(Application.coder == user_id)}
    return [{**r, "listing_url": listing_path(r["listing_id"], r["slug"]),
             "notice": listing_notice(r["status"], is_withheld(r)),
             "work_mode_label": WORK_MODES.get(r["work_mode"], r["work_mode"]), "applied": r["listing_id"] in applied}
            for r in rows]
