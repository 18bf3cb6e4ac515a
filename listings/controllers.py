"""Listing pages: the employer's posting forms and manage page, the public listing page, the admin list,
and the JSON API for one listing.

Controllers parse, authorise, call one service function and render or redirect; the rules live in
`listings.service`.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careers.accounts.auth import requires_admin, requires_role
from careers.coders import panel as coders_panel
from careers.core import ratelimit
from careers.core.config import Settings
from careers.core.errors import back_to
from careers.core.web import form_list, form_str, read_form, redirect, render
from employers.dependencies import current_employer
from employers.response_record import record_of
from employers.tables import Employer
from listings import jobposting, page_data, pay, pay_transparency, readiness, screening, service, sources, stats
from listings import vocabulary as vocab
from listings.liveness import service as liveness
from listings.schemas import (
    CHECKBOX_FIELDS,
    LIST_FIELDS,
    LISTING_FIELDS,
    ApiError,
    EmployerRef,
    EmployerResponse,
    ListingOut,
    ScreeningQuestion,
)
from listings.tables import Listing
from search import service as search_service

FORM_TEXT_MAX = 25_000


# ---- shared helpers ---------------------------------------------------------------------------


def kept_form(form: dict[str, Any]) -> dict[str, Any]:
    """The submitted listing form as the person typed it (lists for multi-valued fields)."""
    kept: dict[str, Any] = {}
    for field in LISTING_FIELDS:
        if field in LIST_FIELDS:
            kept[field] = form_list(form, field)
        elif field in CHECKBOX_FIELDS:
            kept[field] = "1" if form_str(form, field) else ""
        elif field == screening.FIELD:  # the form sends one row of flat fields per question
            kept.update(screening.kept_rows(form))
        else:
            kept[field] = form_str(form, field, FORM_TEXT_MAX)
    return kept


def form_from_values(values: dict[str, Any]) -> dict[str, Any]:
    """A stored listing in the form's shape (strings and lists of strings)."""
    form: dict[str, Any] = {}
    for field in LISTING_FIELDS:
        value = values.get(field)
        if field in LIST_FIELDS:
            form[field] = list(value or [])
        elif field in CHECKBOX_FIELDS:
            form[field] = "1" if value else ""
        elif field == screening.FIELD:
            form.update(screening.form_rows(value or []))
        elif value is None:
            form[field] = ""
        elif hasattr(value, "isoformat"):
            form[field] = value.isoformat()
        else:
            form[field] = str(value)
    return form


async def form_context(form: dict[str, Any], errors: dict[str, str], **extra: Any) -> dict[str, Any]:
    employer = extra.get("employer")
    return {
        "form": form,
        "errors": errors,
        "credentials": await service.credential_choices(),
        "vocab": vocab,
        "google_findings": readiness.for_form(form, employer) if employer is not None else [],
        "screening": screening,
        **extra,
    }


async def _own_listing(request: Request, listing_id: int) -> Listing:
    """The listing if the signed-in employer user's organisation owns it; 404 for everyone else."""
    listing = await service.listing_for_member(listing_id, request.user.id)
    if listing is None:
        raise NotFoundException()
    return listing


async def listing_page_context(request: Request, settings: Settings, listing: Listing, *, preview: bool,
                               employer: Employer | None = None,
                               details: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Everything the listing page (and its preview) shows; the public page passes the employer and details it
    read with the listing (`listings.page_data`), so the page costs one statement plus the coder panel's one."""
    if employer is None or details is None:
        employer = await Employer.objects().get(Employer.id == listing.employer)
        details = await service.listing_details(listing.id)
    view = service.listing_view(listing, details, employer, await service.credential_names())
    context: dict[str, Any] = {
        "listing": listing,
        "listing_view": view,
        "details": details,
        "employer": employer,
        "employer_response": record_of(employer),  # stored by the worker (employers/response.py)
        "preview": preview,
        "canonical_url": settings.base_url.rstrip("/") + view["path"],
        "jsonld": None,
        "pay_comparison": pay.comparison_link(details, listing.work_mode, listing.state),  # a link only: no query
        "pay_transparency": pay_transparency.check_listing(listing, details),  # from the rows read: no query
    }
    if not preview:
        posting = jobposting.job_posting(listing, details, employer, settings.base_url)
        context["jsonld"] = jobposting.script_json(posting)
    else:  # the "Google for Jobs" panel: what the posting will lack once published
        context["google_findings"] = readiness.for_listing(listing, details, employer, settings.base_url)
        editable = listing.status in service.EDITABLE_STATES
        context["google_fix_url"] = f"/employer/listings/{listing.id}/edit" if editable else ""

    # ---- extra context from other domains ---------------------------------------------------
    # Other domains add what the listing page shows about the visitor here, as a plain dict merge, within the
    # page's budget of three statements (session, listing, coder panel): cache, or read with one statement.
    # The coders domain: apply state, saved job, qualification match (`{% block coder_panel %}`).
    if not preview:
        context.update(await coders_panel.listing_panel(request.user, listing, details))
        context["similar_jobs"] = await similar_jobs(settings, listing, details)
    return context


async def similar_jobs(settings: Settings, listing: Listing, details: dict[str, list[str]]) -> list[dict]:
    """Search's "similar jobs" for the listing page: one Meilisearch request, no database query."""
    credentials = [*details["credentials_required"], *details["credentials_any_of"], *details["credentials_preferred"]]
    origin = (listing.lat, listing.lng) if listing.lat is not None and listing.lng is not None else None
    return await search_service.similar_listings(listing.id, credentials, details["settings"], settings,
                                                 work_mode=listing.work_mode, origin=origin)


# ---- the employer's listings ----------------------------------------------------------------


class EmployerListingsController(Controller):
    path = "/employer/listings"
    include_in_schema = False
    guards = [requires_role("employer")]

    async def _form_page(self, request: Request, template_ctx: dict[str, Any], status_code: int = 200) -> Template:
        return render(request, "listings/form.html", template_ctx, status_code=status_code)

    @get("/new")
    async def new(self, request: Request) -> Template:
        employer = await current_employer(request)
        form = form_from_values({"work_mode": "remote", "employment_type": "full_time", "pay_unit": "hour"})
        return await self._form_page(request, await form_context(form, {}, employer=employer, listing=None))

    @post("/new")
    async def create(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        employer = await current_employer(request)
        form = kept_form(await read_form(request))
        ctx = dict(employer=employer, listing=None)
        user = request.user
        if not user.email_confirmed:
            errors = {"__all__": "Confirm your email address before posting a job: open the link we mailed you."}
            return await self._form_page(request, await form_context(form, errors, **ctx), 403)
        if employer.suspended:
            errors = {"__all__": "Your organisation is suspended, so it cannot post jobs. Contact support."}
            return await self._form_page(request, await form_context(form, errors, **ctx), 403)
        try:
            data = await service.validate_listing(form)
            await ratelimit.hit("listing-post", f"user:{user.id}", settings.post_rate)
            listing = await service.create_listing(employer.id, data, created_by=user.id)
        except service.ListingInvalid as exc:
            return await self._form_page(request, await form_context(form, exc.errors, **ctx), 400)
        except ratelimit.RateLimited as exc:
            return await self._form_page(request, await form_context(form, {"__all__": str(exc)}, **ctx), 429)
        return redirect(request, f"/employer/listings/{listing.id}",
                        "Draft saved. Preview it, then choose a plan to publish it.", "success")

    @get("/{listing_id:int}")
    async def manage(self, request: Request, listing_id: FromPath[int]) -> Template:
        listing = await _own_listing(request, listing_id)
        employer = await Employer.objects().get(Employer.id == listing.employer)
        return render(request, "listings/manage.html", {
            "listing": listing,
            "employer": employer,
            "status_label": service.STATE_LABELS.get(listing.status, listing.status),
            "state_labels": service.STATE_LABELS,
            "events": await service.listing_events(listing.id),
            "actor_labels": EVENT_ACTORS,
            "editable": listing.status in service.EDITABLE_STATES,
            "public_path": service.listing_path(listing),
            "is_live": service.is_public(listing),
            "counts": (await stats.totals([listing.id]))[listing.id],
            "close_reasons": liveness.CLOSE_REASONS,
            "pay_transparency": pay_transparency.check_listing(listing, await service.listing_details(listing.id)),
            **await sources.listing_report_context(listing.id, listing.title),
        })

    @get("/{listing_id:int}/edit")
    async def edit(self, request: Request, listing_id: FromPath[int]) -> Template | Redirect:
        listing = await _own_listing(request, listing_id)
        if listing.status not in service.EDITABLE_STATES:
            return redirect(request, f"/employer/listings/{listing.id}",
                            "This listing can no longer be edited; clone it into a new draft instead.", "error")
        employer = await Employer.objects().get(Employer.id == listing.employer)
        details = await service.listing_details(listing.id)
        form = form_from_values(service.listing_values(listing, details))
        return await self._form_page(request, await form_context(
            form, {}, employer=employer, listing=listing,
            pay_transparency=pay_transparency.check_listing(listing, details)))

    @post("/{listing_id:int}/edit")
    async def save(self, request: Request, listing_id: FromPath[int]) -> Template | Redirect:
        listing = await _own_listing(request, listing_id)
        employer = await Employer.objects().get(Employer.id == listing.employer)
        form = kept_form(await read_form(request))
        ctx = dict(employer=employer, listing=listing)
        try:
            data = await service.validate_listing(form)
            saved = await service.update_listing(listing.id, data, actor_kind="employer", actor_id=request.user.id)
        except service.ListingInvalid as exc:
            return await self._form_page(request, await form_context(form, exc.errors, **ctx), 400)
        except service.ListingError as exc:
            return await self._form_page(request, await form_context(form, {"__all__": exc.message}, **ctx), 409)
        message = "Changes saved."
        if listing.status == service.PUBLISHED and saved.status == service.IN_REVIEW:
            message = ("Changes saved. Because what an admin approved changed (such as the title, description, pay or "
                       "screener questions), the listing is off the site "
                       "until an admin approves it again.")
        elif saved.status == service.PUBLISHED:
            message = "Changes saved and live."
        return redirect(request, f"/employer/listings/{listing.id}", message, "success")

    @get("/{listing_id:int}/preview")
    async def preview(self, request: Request, settings: NamedDependency[Settings],
                      listing_id: FromPath[int]) -> Template:
        listing = await _own_listing(request, listing_id)
        context = await listing_page_context(request, settings, listing, preview=True)
        return render(request, "listings/page.html", context)

    @post("/{listing_id:int}/close", opt=back_to("/employer/listings/{listing_id}"))
    async def close(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        listing = await _own_listing(request, listing_id)
        form = await read_form(request)
        reason = "filled" if form_str(form, "reason") != "closed" else "closed by the employer"
        answer = form_str(form, "close_reason", 32)
        if answer:  # the manage page's form always asks why; the answer is kept on the listing
            reason = liveness.CLOSE_REASONS[liveness.check_close_reason(answer)]
        await service.close_listing(listing.id, actor_id=request.user.id, reason=reason, close_reason=answer)
        return redirect(request, f"/employer/listings/{listing.id}",
                        "The listing is closed and has left the site and search.", "success")

    @post("/{listing_id:int}/clone", opt=back_to("/employer/listings/{listing_id}"))
    async def clone(self, request: Request, settings: NamedDependency[Settings], listing_id: FromPath[int]) -> Redirect:
        listing = await _own_listing(request, listing_id)
        user = request.user
        if not user.email_confirmed:
            return redirect(request, f"/employer/listings/{listing.id}",
                            "Confirm your email address before posting a job.", "error")
        await ratelimit.hit("listing-post", f"user:{user.id}", settings.post_rate)
        copy = await service.clone_listing(listing.id, actor_id=user.id)
        return redirect(request, f"/employer/listings/{copy.id}/edit",
                        f"Copied into a new draft (#{copy.id}). Review it and save.", "success")


# Who moved a listing, in the employer's words (the history table on the manage page).
EVENT_ACTORS = {"employer": "Your team", "admin": "CareerCenter staff", "webhook": "Payment confirmed by Stripe",
                "system": "CareerCenter (automatic)"}


# ---- admin --------------------------------------------------------------------------------------


class AdminListingsController(Controller):
    """Admins find listings and publish a draft without payment (the review queue lives in moderation)."""

    path = "/admin/listings"
    include_in_schema = False
    guards = [requires_admin]

    @get("/")
    async def index(
        self,
        request: Request,
        status: Annotated[str | None, QueryParameter(name="status")] = None,
        q: Annotated[str | None, QueryParameter(name="q")] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        query = Listing.select(
            Listing.id, Listing.title, Listing.status, Listing.hidden, Listing.paused, Listing.slug, Listing.created_at,
            Listing.expires_at, Listing.employer.name.as_alias("employer_name"),
        )
        status = status if status in service.STATE_LABELS else None
        if status:
            query = query.where(Listing.status == status)
        q = (q or "").strip()[:200]
        if q:
            if q.isdigit():
                query = query.where(Listing.id == int(q))
            else:
                query = query.where(Listing.normalised_title.like(f"%{service.normalise_title(q)}%"))
        rows = await query.order_by(Listing.id, ascending=False).limit(50).offset((page - 1) * 50)
        return render(request, "listings/admin_list.html", {
            "rows": rows, "status": status or "", "q": q, "page": page, "state_labels": service.STATE_LABELS,
        })

    @post("/{listing_id:int}/publish", opt=back_to("/admin/listings", "Listing #{listing_id}: "))
    async def publish(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        from listings.moderation import service as moderation

        listing = await moderation.publish_without_payment(listing_id, request.user)
        return redirect(request, "/admin/listings",
                        f"Listing #{listing.id} is published without payment: {service.listing_path(listing)}", "success")

    @post("/{listing_id:int}/show", opt=back_to("/admin/listings?q={listing_id}", "Listing #{listing_id}: "))
    async def show_again(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        """Clear the hidden flag a dispute or reports set (reports are better dismissed at /admin/reports)."""
        from listings.moderation import service as moderation

        form = await read_form(request)
        await moderation.show_again(listing_id, request.user, form_str(form, "reason", 2000))
        return redirect(request, f"/admin/listings?q={listing_id}", f"Listing #{listing_id} is shown again.", "success")


# ---- the public listing page ------------------------------------------------------------------


def _may_show(listing: Listing | None) -> bool:
    """The public may ask for a visible listing or a gone one (expired, closed, removed), never a hidden or paused
    one (a paused listing answers 404 until its employer reconfirms it)."""
    return listing is not None and (service.is_public(listing)
                                    or (listing.status in service.GONE_STATES and not listing.hidden))


async def _public_listing(listing_id: int) -> Listing:
    """A listing the public may see; else 404."""
    listing = await Listing.objects().where(Listing.id == listing_id).first()
    if not _may_show(listing):
        raise NotFoundException()
    return listing


class ListingPageController(Controller):
    path = "/jobs"
    include_in_schema = False

    @get("/{listing_id:int}")
    async def bare(self, listing_id: FromPath[int]) -> Redirect:
        listing = await _public_listing(listing_id)
        return Redirect(path=service.listing_path(listing), status_code=301)

    @get("/{listing_id:int}/{slug:str}")
    async def page(self, request: Request, settings: NamedDependency[Settings], listing_id: FromPath[int],
                   slug: FromPath[str]) -> Template | Redirect:
        found = await page_data.listing_with_employer(listing_id)  # one statement: listing, employer, details
        if found is None or not _may_show(found.listing):
            raise NotFoundException()
        listing = found.listing
        if slug != listing.slug:  # the query (utm_source of an old feed or mail link) goes along
            query = request.url.query
            return Redirect(path=service.listing_path(listing) + (f"?{query}" if query else ""), status_code=301)
        if listing.status in service.GONE_STATES:
            return render(request, "listings/gone.html", {
                "listing": listing, "employer": found.employer, "removed": listing.status == service.REMOVED,
            }, status_code=410)
        source = sources.visit_source(request, settings.base_url)
        stats.count_view(listing.id, source)  # in memory; flushed to listing_daily_stats every few seconds
        context = await listing_page_context(request, settings, listing, preview=False, employer=found.employer,
                                             details=found.details)
        page = render(request, "listings/page.html", context)
        page.cookies.extend(sources.remember(source, request, settings.secure_cookies))
        return page

    @get("/{listing_id:int}/external-apply")
    async def external_apply(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        """Counts the apply click, then sends the coder to the employer's own applicant system."""
        listing = await _public_listing(listing_id)
        if not service.is_public(listing) or not listing.apply_url:
            raise NotFoundException()
        stats.count_apply_click(listing.id, sources.arrival_source(request))
        return Redirect(path=listing.apply_url, status_code=303)


# ---- JSON API -------------------------------------------------------------------------------------


def listing_out(listing: Listing, details: dict[str, list[str]], employer: Employer, base_url: str) -> ListingOut:
    values = service.listing_values(listing, details)
    return ListingOut(
        id=listing.id,
        url=base_url.rstrip("/") + service.listing_path(listing),
        status=listing.status,
        title=listing.title,
        description=listing.description_md,
        description_html=listing.description_html,
        employer=EmployerRef(name=employer.name, slug=employer.slug, verified=bool(employer.verified),
                             response=EmployerResponse(**record_of(employer).api())),
        credentials_required=values["credentials_required"],
        credentials_any_of=values["credentials_any_of"],
        credentials_preferred=values["credentials_preferred"],
        settings=values["settings"],
        specialties=values["specialties"],
        code_sets=values["code_sets"],
        work_mode=listing.work_mode,
        zip=listing.zip or None,
        city=listing.city or None,
        state=listing.state or None,
        lat=listing.lat,
        lng=listing.lng,
        remote_states=values["remote_states"],
        employment_type=listing.employment_type,
        min_years=listing.min_years,
        entry_level_ok=bool(listing.entry_level_ok),
        pay_min=float(values["pay_min"]),
        pay_max=float(values["pay_max"]),
        pay_unit=listing.pay_unit,
        pay_annual_min=listing.pay_annual_min,
        pay_annual_max=listing.pay_annual_max,
        benefits=listing.benefits,
        application_deadline=listing.application_deadline,
        apply_url=listing.apply_url or None,
        requisition_id=listing.requisition_id or None,
        published_at=listing.published_at,
        expires_at=listing.expires_at,
        pay_transparency=pay_transparency.check_listing(listing, details),
        screening_questions=[ScreeningQuestion(**q) for q in values["screening_questions"]],
    )


class ListingApiController(Controller):
    path = "/api/v1/listings"
    include_in_schema = True
    tags = ["listings"]

    @get(
        "/{listing_id:int}",
        summary="One published listing",
        description="A published, visible listing in the shared field vocabulary; 404 for any other listing.",
        responses={404: ResponseSpec(data_container=ApiError, description="No published listing has this id.")},
    )
    async def get_listing(self, settings: NamedDependency[Settings], listing_id: FromPath[int]) -> ListingOut:
        found = await page_data.listing_with_employer(listing_id)  # one statement
        if found is None or not service.is_public(found.listing):
            raise NotFoundException(detail="No published listing has this id.")
        return listing_out(found.listing, found.details, found.employer, settings.base_url)


ROUTES = [EmployerListingsController, AdminListingsController, ListingPageController, ListingApiController]
