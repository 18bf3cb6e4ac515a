"""Employer pages: registration and the dashboard."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from careers.accounts.auth import requires_role
from careers.accounts.controllers import register_account
from careers.coders.tables import Application
from careers.core.config import Settings
from careers.core.web import render
from employers import service
from listings import service as listings
from listings.tables import Listing
from listings.vocabulary import ListingState


class EmployerRegistrationController(Controller):
    include_in_schema = False

    @get("/register/employer")
    async def page(self, request: Request) -> Template:
        return render(request, "employers/register.html", {"form": {}, "errors": {}})

    @post("/register/employer")
    async def register(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        async def create(kept: dict[str, str], password: str) -> int:
            user, _ = await service.register_employer(
                kept["email"], password, kept["display_name"], kept["org_name"], kept["website"], settings)
            return user.id

        fields = dict.fromkeys(("email", "display_name", "org_name", "website"), 500)
        return await register_account(
            request, settings, "employers/register.html", fields, create,
            "/employer", "Welcome! Confirm your email address with the link we sent before posting a job.")


class EmployerDashboardController(Controller):
    path = "/employer"
    include_in_schema = False
    guards = [requires_role("employer")]

    @get("/")
    async def dashboard(self, request: Request) -> Template:
        employer = await service.employer_for_user(request.user.id)
        groups: list[dict] = []
        if employer is not None:
            rows = await Listing.select(
                Listing.id, Listing.title, Listing.status, Listing.hidden, Listing.views, Listing.apply_clicks,
                Listing.expires_at, Listing.updated_at,
            ).where(Listing.employer == employer.id).order_by(Listing.updated_at, ascending=False)
            counts = await _application_counts([r["id"] for r in rows])
            for row in rows:
                row["applications"] = counts.get(row["id"], 0)
            for status in DASHBOARD_ORDER:
                members = [r for r in rows if r["status"] == status]
                if members:
                    groups.append({"status": status, "label": listings.STATE_LABELS[status], "listings": members})
        from employers.applicants import dashboard_applicants  # records this visit for "new since your last visit"

        applicant_summary = await dashboard_applicants(request.user.id)
        return render(request, "employers/dashboard.html",
                      {"employer": employer, "groups": groups, "applicant_summary": applicant_summary})


# Listing groups on the dashboard, most urgent first.
DASHBOARD_ORDER = (ListingState.PUBLISHED, ListingState.IN_REVIEW, ListingState.AWAITING_PAYMENT, ListingState.DRAFT,
                   ListingState.EXPIRED, ListingState.CLOSED, ListingState.REJECTED, ListingState.REMOVED)


async def _application_counts(listing_ids: list[int]) -> dict[int, int]:
    """Applications per listing (the coders domain owns applications)."""
    if not listing_ids:
        return {}
    from piccolo.query.functions.aggregate import Count

    rows = await Application.select(Application.listing, Count(Application.id, alias="n")).where(
        Application.listing.is_in(listing_ids)
    ).group_by(Application.listing)
    return {r["listing"]: r["n"] for r in rows}
