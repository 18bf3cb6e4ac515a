"""Coder pages: profile and resume, applying, my applications, saved jobs, job alerts and my data.

`ROUTES` is picked up by careers.app. Dashboards under /account answer anonymous
visitors with a redirect to /login and other roles with 404; object routes (a
resume, an application) answer 404 to everyone not allowed to see the object.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Stream, Template

from careers.accounts.auth import requires_role
from careers.accounts.service import AccountError
from careers.coders import alerts, applications, privacy, profiles, saved, screening, service
from careers.core import filters, ratelimit
from careers.core.config import Settings
from careers.core.errors import back_to, upload_form
from careers.core.proxies import request_client_address
from careers.core.web import SESSION_COOKIE, form_str, found, read_form, redirect, render, safe_next
from listings import sources as listing_sources
from listings.service import is_public
from listings.tables import Listing
from listings.vocabulary import CODE_SETS, PAY_UNITS, SETTINGS, SPECIALTIES, US_STATES, WORK_MODES, ListingState

coder_only = [requires_role("coder")]


def _download(resume: profiles.ResumeFile) -> Response:
    """An attachment with its real content type, streamed from storage chunk by chunk; the app adds
    X-Content-Type-Options: nosniff to every answer."""
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._- ") else "_" for ch in resume.filename)
    disposition = f"attachment; filename=\"{ascii_name or 'resume'}\"; filename*=UTF-8''{quote(resume.filename)}"
    return Stream(resume.body, media_type=resume.content_type or "application/octet-stream",
                  headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store",
                           "Content-Length": str(resume.body.size)})


def _profile_form(details: dict[str, Any]) -> dict[str, Any]:
    """The profile as the form's kept input."""
    return {
        **{k: details.get(k, "") for k in ("handle", "name", "headline", "tools", "zip", "desired_work_mode",
                                             "desired_pay_min", "desired_pay_unit", "summary_md", "member_number")},
        "years_experience": str(details.get("years_experience") or ""),
        "visible": details.get("visible"),
        "credentials": [c["code"] for c in details.get("credentials", [])],
        "years": {c["code"]: str(c["year_earned"] or "") for c in details.get("credentials", [])},
        "settings": details.get("settings", []),
        "specialties": details.get("specialties", []),
        "code_sets": details.get("code_sets", []),
        "remote_states": details.get("remote_states", []),
    }


def _posted_form(form: dict[str, Any]) -> dict[str, Any]:
    def many(key: str) -> list[str]:
        value = form.get(key)
        return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v]

    credentials = many("credentials")
    return {
        **{k: form_str(form, k, 10000) for k in ("handle", "name", "headline", "tools", "zip", "desired_work_mode",
                                                   "desired_pay_min", "desired_pay_unit", "summary_md", "member_number",
                                                   "years_experience")},
        "visible": bool(form_str(form, "visible", 5)),
        "credentials": credentials,
        "years": {c: form_str(form, f"year_{c}", 10) for c in credentials},
        "settings": many("settings"),
        "specialties": many("specialties"),
        "code_sets": many("code_sets"),
        "remote_states": many("remote_states"),
    }


async def _profile_page(request: Request, form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                        resume_error: str | None = None, status_code: int = 200,
                        resume_notice: str | None = None) -> Template:
    profile = await service.get_or_create_profile(request.user.id)
    details = await profiles.profile_details(profile)
    return render(request, "coders/profile.html", {
        "details": details,
        "form": form if form is not None else _profile_form(details),
        "errors": errors or {},
        "resume_error": resume_error,
        "resume_notice": resume_notice,
        "completeness": profiles.completeness(details),
        "credentials": await profiles.active_credentials(),
        "vocab": {"settings": SETTINGS, "specialties": SPECIALTIES, "code_sets": CODE_SETS, "states": US_STATES,
                  "work_modes": WORK_MODES, "pay_units": PAY_UNITS},
        "resume_max_mb": profiles.RESUME_MAX_BYTES // (1024 * 1024),
        "screening_answers": screening.profile_section(profile.screening_answers, profile.state or None),
    }, status_code=status_code)


_GONE_STATES = (ListingState.EXPIRED, ListingState.CLOSED, ListingState.REMOVED)


async def _listing_or_404(listing_id: int, *, saved_by: Any = None) -> dict[str, Any]:
    """A listing the public may know of (published or gone, not hidden), else 404: a draft's title and slug must
    not leak through the login redirect or a flash. `saved_by`: a coder may still unsave a listing they saved."""
    listing = await Listing.select(Listing.id, Listing.slug, Listing.title, Listing.status, Listing.hidden,
                                   Listing.paused).where(Listing.id == listing_id).first()
    if listing is None:
        raise NotFoundException()
    if not (is_public(listing) or (listing["status"] in _GONE_STATES and not listing["hidden"])):
        if getattr(saved_by, "role", None) != "coder" or not await saved.saved_listing_ids(saved_by.id, [listing_id]):
            raise NotFoundException()
    return listing


async def _bookmark(request: Request, listing_id: int, *, keep: bool) -> Redirect:
    """Save (`keep`) or unsave a listing for the signed-in coder, then back to `next` or the listing."""
    listing = await _listing_or_404(listing_id, saved_by=None if keep else request.user)
    back = service.listing_path(listing_id, listing["slug"])
    login = _coder_or_login(request, back)
    if login is not None:
        return login
    if keep:
        await saved.save_job(request.user.id, listing_id)
        message = f"Saved “{listing['title']}”."
    else:
        await saved.unsave_job(request.user.id, listing_id)
        message = f"Removed “{listing['title']}” from your saved jobs."
    form = await read_form(request)
    return redirect(request, safe_next(form_str(form, "next", 2000), back), message)


def _coder_or_login(request: Request, back: str) -> Redirect | None:
    """POSTs from listing pages: anonymous visitors go to log in (then back), other roles get 404."""
    user = request.user
    if user is None:
        return Redirect(path="/login?next=" + quote(back, safe="/"), status_code=303)
    if user.role != "coder":
        raise NotFoundException()
    return None


class CoderAccountController(Controller):
    """The coder's own pages under /account."""

    include_in_schema = False
    guards = coder_only

    @get("/account/profile")
    async def profile_page(self, request: Request) -> Template:
        return await _profile_page(request)

    @post("/account/profile")
    async def save_profile(self, request: Request) -> Template | Redirect:
        form = await read_form(request)
        data, errors = await profiles.validate_profile(request.user.id, form)
        if data is None:
            return await _profile_page(request, _posted_form(form), errors, status_code=400)
        await profiles.save_profile(request.user.id, data)
        return redirect(request, "/account/profile", "Your profile is saved.", "success")

    @post("/account/profile/answers", opt=back_to("/account/profile#screener-answers"))
    async def save_answers(self, request: Request) -> Redirect:
        await screening.save_profile_answers(request.user.id, await read_form(request))
        return redirect(request, "/account/profile#screener-answers", "Your screener answers are saved.", "success")

    @post("/account/profile/resume", opt=upload_form(
        "/account/profile#resume", f"resumes can be at most {profiles.RESUME_MAX_BYTES // (1024 * 1024)} MB"))
    async def upload_resume(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        form = await read_form(request)
        upload = form.get("resume")
        # Sent from the profile form (its fields come along): the page comes back with them as typed, not saved.
        kept = _posted_form(form) if "handle" in form else None
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await _profile_page(request, kept, resume_error="Choose a resume file to upload.", status_code=400)
        data = await upload.read(profiles.RESUME_MAX_BYTES + 1)
        try:
            await profiles.store_resume(request.user.id, upload.filename or "", data, settings)
        except service.CoderError as exc:
            return await _profile_page(request, kept, resume_error=exc.message, status_code=400)
        if kept is None:
            return redirect(request, "/account/profile#resume", "Your resume is uploaded.", "success")
        return await _profile_page(request, kept, resume_notice="Your resume is uploaded. Your other changes on this "
                                   "page are not saved yet: press “Save my profile” to keep them.")

    @post("/account/profile/resume/delete")
    async def delete_resume(self, request: Request, settings: NamedDependency[Settings]) -> Redirect:
        await profiles.remove_resume(request.user.id, settings)
        return redirect(request, "/account/profile#resume", "Your resume is removed from your profile.")

    @get("/account/resume")
    async def own_resume(self, request: Request, settings: NamedDependency[Settings]) -> Response:
        return _download(await profiles.own_resume(request.user.id, settings))

    @get("/account/applications")
    async def applications(self, request: Request) -> Template:
        return render(request, "coders/applications.html",
                      {"applications": await applications.my_applications(request.user.id)})

    @post("/account/applications/{application_id:int}/withdraw", opt=back_to("/account/applications"))
    async def withdraw(self, request: Request, application_id: FromPath[int]) -> Redirect:
        await applications.withdraw(application_id, request.user.id)
        return redirect(request, f"/account/applications#application-{application_id}",
                        "Your application is withdrawn. The employer sees that you withdrew it.")

    @get("/account/saved")
    async def saved(self, request: Request) -> Template:
        return render(request, "coders/saved.html", {"saved": await saved.saved_jobs(request.user.id)})

    @get("/account/alerts")
    async def alerts_page(self, request: Request) -> Template:
        return render(request, "coders/alerts.html", {"alerts": await alerts.user_alerts(request.user.id)})

    @post("/account/alerts/{alert_id:int}/delete")
    async def delete_alert(self, request: Request, alert_id: FromPath[int]) -> Redirect:
        if not await alerts.delete_alert(alert_id, request.user.id):
            raise NotFoundException()
        return redirect(request, "/account/alerts", "The alert is deleted.")

    @get("/account/data")
    async def data_page(self, request: Request) -> Template:
        return render(request, "coders/data.html", {"rule": privacy.RULE, "errors": {}})

    @get("/account/data/export")
    async def export(self, request: Request, settings: NamedDependency[Settings]) -> Response:
        content = await privacy.export(request.user.id, settings)
        return Response(content=content, media_type="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="careercenter-my-data.zip"',
                                 "Cache-Control": "private, no-store"})

    @post("/account/data/delete")
    async def delete_account(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        form = await read_form(request)
        if form_str(form, "confirm", 20) != "yes":
            return render(request, "coders/data.html", {"rule": privacy.RULE, "errors": {
                "confirm": "Tick the box to confirm that you want to delete your account."}}, status_code=400)
        try:
            await privacy.delete_account(request.user.id, form_str(form, "password", 1000), settings)
        except AccountError as exc:
            return render(request, "coders/data.html", {"rule": privacy.RULE, "errors": {exc.field or "__all__": exc.message}},
                          status_code=400)
        response = redirect(request, "/", "Your account is deleted. " + privacy.RULE)
        response.cookies.append(Cookie(key=SESSION_COOKIE, value="", path="/", max_age=0))
        return response


def _to_apply_form(request: Request, back: str, title: str) -> Response:
    """A one-click apply to a listing whose must-meet screener questions the coder has not answered yet: open the
    listing's apply form instead (a full-page move also when htmx sent the click)."""
    message = f"“{title}” asks screener questions you have not answered yet: answer them, then apply."
    response = redirect(request, back + "#apply", message)
    if request.headers.get("HX-Request"):  # htmx follows a 303 itself and would swap the page in: tell it to navigate
        return Response(content=b"", status_code=200, headers={"HX-Redirect": back + "#apply"},
                        cookies=response.cookies)
    return response


class CoderJobActionsController(Controller):
    """Applying and saving, from listing pages and search results."""

    include_in_schema = False

    @post("/jobs/{listing_id:int}/apply")
    async def apply(self, request: Request, settings: NamedDependency[Settings],
                    listing_id: FromPath[int]) -> Template | Redirect:
        listing = await _listing_or_404(listing_id)
        back = service.listing_path(listing_id, listing["slug"])
        login = _coder_or_login(request, back)
        if login is not None:
            return login
        form = await read_form(request)
        if form_str(form, "one_click", 5) == "1" and await screening.needs_the_form(listing_id, request.user.id):
            return _to_apply_form(request, back, listing["title"])
        try:
            await ratelimit.hit("apply-account", str(request.user.id), settings.apply_rate)
        except ratelimit.RateLimited as exc:
            return render(request, "coders/apply_refused.html", {"listing": listing, "back": back, "message": str(exc)},
                          status_code=429)
        try:
            result = await applications.apply(listing_id, request.user, form_str(form, "cover_note", 100000), settings,
                                              answers=form, source=listing_sources.arrival_source(request))
        except service.CoderError as exc:
            # A too-long cover note comes back in the form, kept, so the coder can shorten it instead of retyping.
            return render(request, "coders/apply_refused.html", {
                "listing": listing, "back": back, "message": exc.message, "field": exc.field,
                "cover_note": form_str(form, "cover_note", 100000), "cover_note_max": applications.COVER_NOTE_MAX,
                "answers": screening.submitted_fields(form),  # sent again with the shortened note
            }, status_code=400)
        target = f"/account/applications#application-{result.application_id}"
        target = safe_next(form_str(form, "next", 2000), target)  # a results card's one click comes back to the results
        if not result.created:
            when = filters.date(result.created_at) or "earlier"
            return redirect(request, target, f"You already applied to “{listing['title']}” on {when}; "
                                             "here is that application.")
        if result.screened_out:
            return redirect(request, target, f"Your application to “{listing['title']}” is sent. The employer has been "
                                             "told. It does not meet this employer's must-meet screener questions, "
                                             "so it is marked “Not selected”; we mailed you the reason.")
        return redirect(request, target, f"Your application to “{listing['title']}” is sent. "
                                         "The employer has been told.", "success")

    @post("/jobs/{listing_id:int}/answers", opt=back_to("/jobs/{listing_id}"))
    async def save_answers(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        """Keep the screener answers on the profile and show the verdict, without applying."""
        listing = await _listing_or_404(listing_id)
        back = service.listing_path(listing_id, listing["slug"])
        login = _coder_or_login(request, back)
        if login is not None:
            return login
        verdict = await screening.save_answers(listing_id, request.user.id, await read_form(request))
        message = ("Your answers are saved. You would be screened out: " + "; ".join(verdict["reasons"]) + "."
                   if verdict["screened_out"] else "Your answers are saved. You meet every must-meet question.")
        return redirect(request, back + "#screening-verdict", message,
                        "info" if verdict["screened_out"] else "success")

    @post("/jobs/{listing_id:int}/save")
    async def save(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        return await _bookmark(request, listing_id, keep=True)

    @post("/jobs/{listing_id:int}/unsave")
    async def unsave(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        return await _bookmark(request, listing_id, keep=False)


class CoderPublicController(Controller):
    include_in_schema = False

    @get("/coders/{handle:str}")
    async def public_profile(self, request: Request, handle: FromPath[str]) -> Template:
        return render(request, "coders/public_profile.html", {"p": found(await profiles.public_profile(handle))})

    @get("/applications/{application_id:int}/resume")
    async def application_resume(self, request: Request, settings: NamedDependency[Settings],
                                 application_id: FromPath[int]) -> Response:
        user = request.user
        return _download(await applications.application_resume(application_id, user.id if user else None, settings))


def _invalid_link(request: Request, what: str) -> Template:
    """A confirmation or unsubscribe link that is not (or no longer) valid: 404 with a plain message."""
    return render(request, "coders/alert_message.html", {
        "title": "Link not valid", "message": f"This {what} link is not valid or the alert was removed."},
        status_code=404)


class JobAlertController(Controller):
    """Saving a search as an alert (account or guest), confirming, managing and unsubscribing."""

    include_in_schema = False

    @post("/alerts")
    async def create(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        form = await read_form(request)
        query = form_str(form, "query", 2000)
        frequency = form_str(form, "frequency", 10) or "daily"
        user = request.user
        jobs_url = "/jobs" + ("?" + alerts.normalise_query(query) if alerts.normalise_query(query) else "")
        try:
            key = str(user.id) if user else request_client_address(request)
            await ratelimit.hit("alert-create", key, settings.register_rate)
            alert, needs_confirmation = await alerts.create_alert(query, frequency, settings, user=user,
                                                                  email=form_str(form, "email", 320))
        except ratelimit.RateLimited as exc:
            return render(request, "coders/alert_form_page.html", {"query": query, "frequency": frequency,
                                                                   "email": form_str(form, "email", 320),
                                                                   "errors": {"__all__": str(exc)}}, status_code=429)
        except alerts.AlertError as exc:
            return render(request, "coders/alert_form_page.html", {"query": query, "frequency": frequency,
                                                                   "email": form_str(form, "email", 320),
                                                                   "errors": {exc.field or "__all__": exc.message}},
                          status_code=400)
        if needs_confirmation:
            return render(request, "coders/alert_message.html", {
                "title": "Check your mail",
                "message": f"We sent a link to {alert.email}. Open it to start your {alert.frequency} alert; "
                           "until then we send nothing.",
                "back": jobs_url})
        target = "/account/alerts" if user is not None and user.role == "coder" else jobs_url
        return redirect(request, target, f"Your {alert.frequency} alert is saved. New matching jobs will be mailed "
                                         f"to {alert.email}.", "success")

    @get("/alerts/new")
    async def new(self, request: Request,
                  search_query: Annotated[str, QueryParameter(name="query")] = "") -> Template:
        return render(request, "coders/alert_form_page.html", {"query": alerts.normalise_query(search_query), "frequency": "daily",
                                                               "email": "", "errors": {}})

    @get("/alerts/confirm")
    async def confirm_page(self, request: Request, settings: NamedDependency[Settings],
                           token: FromQuery[str] = "") -> Template:
        alert = await alerts.alert_for_token(token, settings.secret_key, "confirm")
        if alert is None or not alert.active:
            return _invalid_link(request, "confirmation")
        return render(request, "coders/alert_confirm.html", {"alert": alerts.alert_view(alert), "token": token})

    @post("/alerts/confirm")
    async def confirm(self, request: Request, settings: NamedDependency[Settings]) -> Template:
        form = await read_form(request)
        alert = await alerts.confirm(form_str(form, "token", 200), settings)
        if alert is None:
            return _invalid_link(request, "confirmation")
        return render(request, "coders/alert_message.html", {
            "title": "Your alert is on",
            "message": f"We will mail new jobs matching {alerts.describe_query(alert.query)} to {alert.email}, "
                       f"{alert.frequency}. Every mail has a link to stop it."})

    @get("/alerts/manage")
    async def manage(self, request: Request, settings: NamedDependency[Settings],
                     token: FromQuery[str] = "") -> Template:
        alert = await alerts.alert_for_token(token, settings.secret_key)
        if alert is None:
            raise NotFoundException()
        return render(request, "coders/alert_manage.html", {"alert": alerts.alert_view(alert), "token": token,
                                                            "frequencies": alerts.FREQUENCY_LABELS})

    @post("/alerts/manage")
    async def change(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        form = await read_form(request)
        token = form_str(form, "token", 200)
        alert = await alerts.alert_for_token(token, settings.secret_key)
        if alert is None or not alert.active:
            raise NotFoundException()
        try:
            await alerts.set_frequency(alert.id, form_str(form, "frequency", 10))
        except alerts.AlertError as exc:
            return render(request, "coders/alert_manage.html", {"alert": alerts.alert_view(alert), "token": token,
                                                                "frequencies": alerts.FREQUENCY_LABELS,
                                                                "errors": {"frequency": exc.message}}, status_code=400)
        return redirect(request, "/alerts/manage?token=" + quote(token), "Your alert is updated.", "success")

    @get("/alerts/unsubscribe")
    async def unsubscribe_page(self, request: Request, settings: NamedDependency[Settings],
                               token: FromQuery[str] = "") -> Template:
        """Mail scanners follow links: a GET only asks; the button POSTs."""
        alert = await alerts.alert_for_token(token, settings.secret_key)
        if alert is None:
            return _invalid_link(request, "unsubscribe")
        return render(request, "coders/alert_unsubscribe.html", {"alert": alerts.alert_view(alert), "token": token})

    @post("/alerts/unsubscribe")
    async def unsubscribe(self, request: Request, settings: NamedDependency[Settings],
                          token: FromQuery[str] = "") -> Template:
        """RFC 8058 one-click unsubscribe: exempt from CSRF, authenticated by the signed token."""
        if not token:
            form = await read_form(request)
            token = form_str(form, "token", 200)
        alert = await alerts.unsubscribe(token, settings)
        if alert is None:
            return _invalid_link(request, "unsubscribe")
        return render(request, "coders/alert_message.html", {
            "title": "You are unsubscribed",
            "message": f"We will not mail {alert.email} about {alerts.describe_query(alert.query)} again."})


ROUTES = [CoderAccountController, CoderJobActionsController, CoderPublicController, JobAlertController]
