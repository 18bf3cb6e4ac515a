"""Employer pages: registration and the dashboard."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from careers.accounts.auth import requires_role
from careers.accounts.controllers import register_account
from careers.core.config import Settings
from careers.core.web import render
from employers import service
from employers.tables import Employer
from listings import service as listings
from listings import sources as listing_sources
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
        from employers.applicants import current_membership, dashboard_applicants  # records this visit

        member = await current_membership(request.user.id)
        employer = await Employer.objects().where(Employer.id == member.employer).first() if member else None
        applicant_summary = await dashboard_applicants(request.user.id, member=member) if member else None
        groups: list[dict] = []
        if applicant_summary is not None:
            rows = sorted(applicant_summary.figures, key=lambda r: r["updated_at"] or r["id"], reverse=True)
            for status in DASHBOARD_ORDER:
                members = [r for r in rows if r["status"] == status]
                if members:
                    groups.append({"status": status, "label": listings.STATE_LABELS[status], "listings": members})
        shown = [(r["id"], r["title"], r["sources"]) for group in groups for r in group["listings"]]
        return render(request, "employers/dashboard.html",
                      {"employer": employer, "groups": groups, "applicant_summary": applicant_summary,
                       **listing_sources.report_context(shown)})


# Listing groups on the dashboard, most urgent first.
DASHBOARD_ORDER = (ListingState.PUBLISHED, ListingState.IN_REVIEW, ListingState.AWAITING_PAYMENT, ListingState.DRAFT,
                   ListingState.EXPIRED, ListingState.CLOSED, ListingState.REJECTED, ListingState.REMOVED)
