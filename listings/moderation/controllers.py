"""Moderation pages: the review queue, reports (the public form and the admin side), employers, the audit log.

Every /admin route is guarded by `requires_admin` (404 to everyone else), every form posts with
CSRF, and nothing needs JavaScript.
"""

from __future__ import annotations

import math
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from billing import service as billing  # a controller may show billing's order (ARCHITECTURE.md)
from careers.accounts import audit
from careers.accounts.auth import AdminPages
from careers.core import clock, db, ratelimit
from careers.core.config import Settings
from careers.core.errors import back_to
from careers.core.proxies import request_client_address
from careers.core.web import form_str, not_found, read_form, redirect, render
from employers import trust
from employers.tables import Employer, EmployerMember
from listings.moderation import names, service
from listings.tables import Listing
from listings.vocabulary import ListingState

PAGE_SIZE = 50


# ---- the review queue -------------------------------------------------------------------------------


class ReviewController(AdminPages):
    path = "/admin/review"

    @get("/")
    async def queue(self, request: Request) -> Template:
        items = await service.review_queue()
        for item in items:
            if item.order:
                item.extra["order_amount"] = billing.money(item.order["amount_cents"], item.order["currency"])
                item.extra["order_status"] = billing.STATUS_LABELS.get(item.order["status"], item.order["status"])
        return render(request, "moderation/review.html",
                      {"items": items, "errors": {}, "form": {}, **names.page_words()})

    @post("/{listing_id:int}/approve", opt=back_to("/admin/review", not_found_too=True))
    async def approve(self, request: Request, settings: NamedDependency[Settings],
                      listing_id: FromPath[int]) -> Redirect:
        seen = form_str(await read_form(request), "version", 12)
        if not seen.isdigit():
            raise service.ModerationError("Open the review queue again and approve from there (the page you used "
                                          "did not say which version you read).")
        listing = await service.approve(listing_id, request.user, settings, version=int(seen))
        return redirect(request, "/admin/review", f"Approved and published: {listing.title}", "success")

    @post("/{listing_id:int}/reject", opt=back_to("/admin/review#listing-{listing_id}", not_found_too=True))
    async def reject(self, request: Request, settings: NamedDependency[Settings],
                     listing_id: FromPath[int]) -> Redirect:
        form = await read_form(request)
        listing = await service.reject(listing_id, request.user, form_str(form, "reason", 4000), settings)
        return redirect(request, "/admin/review",
                        f"Rejected: {listing.title}. The employer was mailed the reason; the refund is on its way.",
                        "success")

    @post("/{listing_id:int}/changes", opt=back_to("/admin/review#listing-{listing_id}", not_found_too=True))
    async def request_changes(self, request: Request, settings: NamedDependency[Settings],
                              listing_id: FromPath[int]) -> Redirect:
        form = await read_form(request)
        listing = await service.request_changes(listing_id, request.user, form_str(form, "note", 4000), settings)
        return redirect(request, "/admin/review", f"Sent back to the employer with your note: {listing.title}",
                        "success")


# ---- reports: the public form -----------------------------------------------------------------------


class ReportController(Controller):
    """Anyone may report a listing on the site; a visitor without an account confirms an address first."""

    include_in_schema = False

    @get("/jobs/{listing_id:int}/report")
    async def form(self, request: Request, listing_id: FromPath[int]) -> Template:
        listing = await service.public_listing(listing_id)
        return render(request, "moderation/report.html", {"listing": listing, "reasons": service.REPORT_REASONS,
                                                          "form": {}, "errors": {}})

    @post("/jobs/{listing_id:int}/report")
    async def submit(self, request: Request, settings: NamedDependency[Settings],
                     listing_id: FromPath[int]) -> Template:
        listing = await service.public_listing(listing_id)
        form = await read_form(request)
        kept = {"reason": form_str(form, "reason", 32), "detail": form_str(form, "detail", 4000),
                "email": form_str(form, "email", 320)}
        context = {"listing": listing, "reasons": service.REPORT_REASONS, "form": kept, "errors": {}}
        try:
            outcome = await service.submit_report(listing_id, kept["reason"], kept["detail"], settings,
                                                  user=request.user, email=kept["email"], client_ip=request_client_address(request))
        except ratelimit.RateLimited as exc:
            context["errors"] = {"__all__": str(exc)}
            return render(request, "moderation/report.html", context, status_code=429)
        except service.ModerationError as exc:
            context["errors"] = {exc.field or "__all__": exc.message}
            return render(request, "moderation/report.html", context, status_code=400)
        if outcome.confirmed:
            message = "Thank you. Your report reached our moderators."
        else:
            message = (f"Thank you. We sent a link to {kept['email']}: your report counts once you open it "
                       "(it works for 3 days).")
        return render(request, "moderation/report_done.html", {"listing": listing, "message": message})

    @get("/reports/confirm")
    async def confirm_page(self, request: Request, token: FromQuery[str] = "") -> Template:
        """The mailed link opens a page; only its button (a POST) confirms, so a link scanner confirms nothing."""
        try:
            pending = await service.pending_report(token)
        except service.ModerationError as exc:
            return render(request, "accounts/message.html", {"title": "Link not valid", "message": exc.message},
                          status_code=400)
        return render(request, "moderation/report_confirm.html", {"token": token, "report": pending})

    @post("/reports/confirm")
    async def confirm(self, request: Request, settings: NamedDependency[Settings]) -> Template:
        form = await read_form(request)
        try:
            await service.confirm_report(form_str(form, "token", 200), settings)
        except service.ModerationError as exc:
            return render(request, "accounts/message.html", {"title": "Link not valid", "message": exc.message},
                          status_code=400)
        return render(request, "accounts/message.html", {
            "title": "Report confirmed", "message": "Thank you. Your report is confirmed and reached our moderators."})


# ---- reports: the admin side ------------------------------------------------------------------------


class ReportsAdminController(AdminPages):
    path = "/admin/reports"

    @get("/")
    async def index(self, request: Request, settings: NamedDependency[Settings]) -> Template:
        return render(request, "moderation/reports.html", {"listings": await service.open_reports(settings)})

    @post("/{listing_id:int}/dismiss", opt=back_to("/admin/reports", not_found_too=True))
    async def dismiss(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        form = await read_form(request)
        await service.dismiss_reports(listing_id, request.user, form_str(form, "reason", 2000))
        return redirect(request, "/admin/reports", f"Reports on listing #{listing_id} dismissed; it is visible again.",
                        "success")

    @post("/{listing_id:int}/remove", opt=back_to("/admin/reports", not_found_too=True))
    async def remove(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        form = await read_form(request)
        await service.remove_listing(listing_id, request.user, form_str(form, "reason", 2000))
        return redirect(request, "/admin/reports", f"Listing #{listing_id} removed from the site.", "success")

    @post("/{listing_id:int}/suspend", opt=back_to("/admin/reports", not_found_too=True))
    async def suspend(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        form = await read_form(request)
        await service.suspend_reported_employer(listing_id, request.user, form_str(form, "reason", 2000))
        return redirect(request, "/admin/reports", "Employer suspended: its listings are off the site and its "
                        "members cannot log in.", "success")


# ---- employers -------------------------------------------------------------------------------------------

EMPLOYER_FILTERS = {"all": "All", "unverified": "Not verified", "verified": "Verified", "suspended": "Suspended",
                    "new": "New this week"}


BACK_TO_EMPLOYER = back_to("/admin/employers/{employer_id}")


class EmployersAdminController(AdminPages):
    path = "/admin/employers"

    @get("/")
    async def index(self, request: Request, q: FromQuery[str] = "", status: FromQuery[str] = "all",
                   page: Annotated[int, QueryParameter(ge=1)] = 1) -> Template:
        import datetime as dt

        query = Employer.select(Employer.id, Employer.name, Employer.website, Employer.created_at, Employer.verified,
                                Employer.suspended, Employer.freemail_flag)
        count = Employer.count()
        conditions = []
        if q.strip():
            pattern = f"%{q.strip()[:100]}%"
            # SQLite's LIKE already ignores ASCII case (and Piccolo warns on ILIKE there)
            conditions.append(Employer.name.like(pattern) if db.is_sqlite() else Employer.name.ilike(pattern))
        if status == "verified":
            conditions.append(Employer.verified == True)  # noqa: E712
        elif status == "unverified":
            conditions.append(Employer.verified == False)  # noqa: E712
        elif status == "suspended":
            conditions.append(Employer.suspended == True)  # noqa: E712
        elif status == "new":
            conditions.append(Employer.created_at >= clock.now() - dt.timedelta(days=7))
        for condition in conditions:
            query = query.where(condition)
            count = count.where(condition)
        total = await count
        rows = await query.order_by(Employer.id, ascending=False).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        ids = [r["id"] for r in rows]
        published: dict[int, int] = {}
        if ids:
            for r in await Listing.select(Listing.employer).where(
                Listing.employer.is_in(ids) & (Listing.status == ListingState.PUBLISHED)
            ):
                published[r["employer"]] = published.get(r["employer"], 0) + 1
        for r in rows:
            r["published"] = published.get(r["id"], 0)
        return render(request, "moderation/employers.html", {
            "rows": rows, "q": q, "status": status if status in EMPLOYER_FILTERS else "all", "filters": EMPLOYER_FILTERS,
            "page": page, "pages": max(1, math.ceil(total / PAGE_SIZE)), "total": total})

    @get("/{employer_id:int}")
    async def detail(self, request: Request, employer_id: FromPath[int]) -> Template:
        employer = await Employer.objects().where(Employer.id == employer_id).first()
        if employer is None:
            raise not_found()
        members = await EmployerMember.select(
            EmployerMember.role, EmployerMember.user.email.as_alias("email"),
            EmployerMember.user.login_disabled.as_alias("login_disabled"),
        ).where(EmployerMember.employer == employer_id).order_by(EmployerMember.id)
        listing_rows = await Listing.select(Listing.id, Listing.title, Listing.status, Listing.hidden,
                                            Listing.paused, Listing.expires_at).where(Listing.employer == employer_id).order_by(
            Listing.id, ascending=False).limit(200)
        entries = await names.with_names(await audit.entries(employer_id=employer_id, limit=20))
        return render(request, "moderation/employer.html", {"employer": employer, "members": members,
                                                            "listings": listing_rows, "entries": entries,
                                                            **names.page_words()})

    async def _act(self, request: Request, employer_id: int, action: str) -> Redirect:
        form = await read_form(request)
        reason = form_str(form, "reason", 2000)
        if action == "verify":
            await trust.set_verified(employer_id, request.user, reason, True)
            message = "Verified: this employer's paid listings now skip review."
        elif action == "unverify":
            await trust.set_verified(employer_id, request.user, reason, False)
            message = "Verification taken back: this employer's listings are reviewed again."
        elif action == "suspend":
            result = await trust.suspend(employer_id, request.user, reason)
            message = (f"Suspended: {len(result['removed_listing_ids'])} listing(s) removed, "
                       f"{len(result['members_disabled'])} member(s) locked out"
                       + (f", {len(result['orders_left_for_refund'])} paid order(s) left for refund."
                          if result["orders_left_for_refund"] else "."))
        else:
            result = await trust.reinstate(employer_id, request.user, reason)
            message = (f"Reinstated: {len(result['restored_listing_ids'])} listing(s) published again"
                       + (f", {len(result['not_restored_expired'])} expired meanwhile."
                          if result["not_restored_expired"] else "."))
        return redirect(request, f"/admin/employers/{employer_id}", message, "success")

    @post("/{employer_id:int}/verify", opt=BACK_TO_EMPLOYER)
    async def verify(self, request: Request, employer_id: FromPath[int]) -> Redirect:
        return await self._act(request, employer_id, "verify")

    @post("/{employer_id:int}/unverify", opt=BACK_TO_EMPLOYER)
    async def unverify(self, request: Request, employer_id: FromPath[int]) -> Redirect:
        return await self._act(request, employer_id, "unverify")

    @post("/{employer_id:int}/suspend", opt=BACK_TO_EMPLOYER)
    async def suspend(self, request: Request, employer_id: FromPath[int]) -> Redirect:
        return await self._act(request, employer_id, "suspend")

    @post("/{employer_id:int}/reinstate", opt=BACK_TO_EMPLOYER)
    async def reinstate(self, request: Request, employer_id: FromPath[int]) -> Redirect:
        return await self._act(request, employer_id, "reinstate")


# ---- the audit log (read-only) -------------------------------------------------------------------------


class AuditController(AdminPages):
    path = "/admin/audit"

    @get("/")
    async def log(self, request: Request, actor: FromQuery[str] = "", employer: FromQuery[str] = "",
                  listing: FromQuery[str] = "", page: Annotated[int, QueryParameter(ge=1)] = 1) -> Template:
        employer_id = int(employer) if employer.strip().isdigit() else None
        listing_id = int(listing) if listing.strip().isdigit() else None
        rows = await audit.entries(actor=actor or None, employer_id=employer_id, listing_id=listing_id,
                                   limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        rows = await names.with_names(rows[:PAGE_SIZE]) + rows[PAGE_SIZE:]
        return render(request, "moderation/audit.html", {
            "rows": rows[:PAGE_SIZE], "more": len(rows) > PAGE_SIZE, "page": page, "actors": await audit.actors(),
            "filters": {"actor": actor, "employer": employer, "listing": listing}})


ROUTES = [ReviewController, ReportController, ReportsAdminController, EmployersAdminController, AuditController]
