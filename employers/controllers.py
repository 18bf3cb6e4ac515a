"""Employer pages: registration and the dashboard."""

from __future__ import annotations

import datetime as dt

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from careers.accounts.auth import requires_role
from careers.accounts.controllers import register_account
from careers.core import clock
from careers.core.config import Settings
from careers.core.web import render
from employers import dashboard, service
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

        fields = dict.fromkeys(("org_name", "website", "display_name", "email"), 500)  # the form's order
        return await register_account(
            request, settings, "employers/register.html", fields, create,
            "/employer", "Welcome! Confirm your email address with the link we sent before posting a job.",
            check=lambda kept: service.organisation_errors(kept["org_name"], kept["website"]))


class EmployerDashboardController(Controller):
    path = "/employer"
    include_in_schema = False
    guards = [requires_role("employer")]

    @get("/")
    async def dashboard(self, request: Request) -> Template:
        from employers.applicants import dashboard_applicants  # records this visit

        member, employer = await dashboard.membership_with_employer(request.user.id)
        applicant_summary = await dashboard_applicants(request.user.id, member=member) if member else None
        groups: list[dict] = []
        activity = None
        if applicant_summary is not None:
            today = clock.now().astimezone(dt.timezone.utc).date()
            counts = await dashboard.daily_counts(member.employer, today)
            rows = sorted(applicant_summary.figures, key=lambda r: r["updated_at"] or r["id"], reverse=True)
            rows = dashboard.cards(rows, counts, listings.STATE_LABELS)
            for status in DASHBOARD_ORDER:
                members = [r for r in rows if r["status"] == status]
                if members:
                    groups.append({"status": status, "label": listings.STATE_LABELS[status], "listings": members})
            if rows:
                activity = dashboard.chart(dashboard.series(list(counts.values()), today))
                activity["live"] = sum(r["status"] == ListingState.PUBLISHED for r in rows)
        shown = [(r["id"], r["title"], r["sources"]) for group in groups for r in group["listings"]]
        return render(request, "employers/dashboard.html", {
            "employer": employer, "groups": groups, "applicant_summary": applicant_summary, "activity": activity,
            **listing_sources.report_context(shown)})


# Listing groups on the dashboard, most urgent first.
DASHBOARD_ORDER = (ListingState.PUBLISHED, ListingState.IN_REVIEW, ListingState.AWAITING_PAYMENT, ListingState.DRAFT,
                   ListingState.EXPIRED, ListingState.CLOSED, ListingState.REJECTED, ListingState.REMOVED)
