"""Employer organisation pages: settings, team and invitations, the public page and its logo."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from careers.accounts import service as accounts
from careers.accounts.auth import requires_role
from careers.accounts.controllers import after_password, client_key, log_in
from careers.core import ratelimit
from careers.core.config import Settings
from careers.core.errors import back_to, upload_form
from careers.core.storage import storage_for
from careers.core.web import form_str, found, read_form, redirect, render
from employers import service
from employers.dependencies import EMPLOYER, NoOrganisation
from employers.tables import Employer

LOGO_CACHE = "public, max-age=3600"


def _no_organisation(request: Request, _: NoOrganisation) -> Template:
    """A removed member (or an employer account never attached) sees this instead of organisation pages."""
    return render(request, "employers/no_organisation.html", status_code=404)


async def _uploaded_bytes(value, limit: int) -> bytes | None:
    """The uploaded file's bytes (at most limit + 1, enough to tell it is too big), or None if none was chosen."""
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    data = await value.read(limit + 1)
    return data or None


class OrganisationController(Controller):
    """The signed-in employer's own organisation: /employer/organisation and /employer/team."""

    include_in_schema = False
    guards = [requires_role("employer")]
    dependencies = EMPLOYER
    exception_handlers = {NoOrganisation: _no_organisation}

    async def _organisation_page(self, request: Request, employer, form: dict, errors: dict, status: int = 200):
        return render(
            request,
            "employers/organisation.html",
            {
                "employer": employer,
                "form": form,
                "errors": errors,
                "trust": await service.trust_signals(employer),
                "has_logo": service.logo_content_type(employer.logo_path) is not None,
                "logo_max_mb": service.LOGO_MAX_BYTES // (1024 * 1024),
            },
            status_code=status,
        )

    @get("/employer/organisation")
    async def organisation(self, request: Request, employer: NamedDependency[Employer]) -> Template:
        return await self._organisation_page(request, employer, service.organisation_form(employer), {})

    @post("/employer/organisation", opt=upload_form(
        "/employer/organisation", f"logos can be at most {service.LOGO_MAX_BYTES // (1024 * 1024)} MB"))
    async def save_organisation(self, request: Request, settings: NamedDependency[Settings],
                                employer: NamedDependency[Employer]) -> Template | Redirect:
        form = await read_form(request)
        kept = {
            "name": form_str(form, "name", 500),
            "website": form_str(form, "website", 1000),
            "about": form_str(form, "about", service.ABOUT_MAX + 1000),
            "hq_zip": form_str(form, "hq_zip", 20),
        }
        logo = await _uploaded_bytes(form.get("logo"), service.LOGO_MAX_BYTES)
        try:
            await service.update_organisation(
                employer.id,
                **kept,
                logo=logo,
                remove_logo=form_str(form, "remove_logo") == "1",
                storage=storage_for(settings),
            )
        except service.OrganisationInvalid as exc:
            errors = dict(exc.errors)
            if logo is not None and "logo" not in errors:
                errors["logo"] = "Your logo was fine, but files are not kept when the form has other errors: choose it again."
            return await self._organisation_page(request, employer, kept, errors, status=400)
        return redirect(request, "/employer/organisation", "Your organisation's page is saved.", "success")

    async def _team_page(self, request: Request, employer, form: dict, errors: dict, status: int = 200):
        members = await service.team_members(employer.id)
        me = next((m for m in members if m["user_id"] == request.user.id), None)
        owners = sum(1 for m in members if m["role"] == "owner")
        is_owner = me is not None and me["role"] == "owner"
        for m in members:
            m["removable"] = is_owner and m["user_id"] != request.user.id and (m["role"] != "owner" or owners > 1)
        return render(
            request,
            "employers/team.html",
            {
                "employer": employer,
                "members": members,
                "invites": await service.pending_invites(employer.id),
                "is_owner": is_owner,
                "form": form,
                "errors": errors,
            },
            status_code=status,
        )

    @get("/employer/team")
    async def team(self, request: Request, employer: NamedDependency[Employer]) -> Template:
        return await self._team_page(request, employer, {}, {})

    @post("/employer/team/invite")
    async def invite(self, request: Request, settings: NamedDependency[Settings],
                     employer: NamedDependency[Employer]) -> Template | Redirect:
        form = await read_form(request)
        email = form_str(form, "email", 320)
        try:
            await ratelimit.hit("employer-invite", str(request.user.id), settings.invite_rate)
        except ratelimit.RateLimited as exc:
            return await self._team_page(request, employer, {"email": email}, {"__all__": str(exc)}, status=429)
        try:
            invite = await service.invite_colleague(employer.id, request.user.id, email, settings)
        except accounts.AccountError as exc:
            return await self._team_page(request, employer, {"email": email}, {exc.field or "__all__": exc.message},
                                         status=400)
        return redirect(request, "/employer/team", f"We sent an invitation to {invite.email}. It works for 7 days.",
                        "success")

    @post("/employer/team/members/{member_id:int}/remove", opt=back_to("/employer/team"))
    async def remove(self, request: Request, employer: NamedDependency[Employer], member_id: FromPath[int]) -> Redirect:
        await service.remove_member(employer.id, request.user.id, member_id)
        return redirect(request, "/employer/team", "The member is removed. They no longer have access.", "success")

    @post("/employer/team/invites/{invite_id:int}/revoke")
    async def revoke(self, request: Request, employer: NamedDependency[Employer], invite_id: FromPath[int]) -> Redirect:
        await service.revoke_invite(employer.id, invite_id)
        return redirect(request, "/employer/team", "The invitation is withdrawn; its link no longer works.")


class InvitationController(Controller):
    """Accepting an emailed invitation: open to everyone holding the link; the service decides what is offered."""

    include_in_schema = False

    def _page(self, request: Request, token: str, situation, form: dict, errors: dict, status: int = 200) -> Template:
        return render(
            request,
            "employers/invite_accept.html",
            {"token": token, "situation": situation, "form": form, "errors": errors},
            status_code=status,
        )

    def _invalid(self, request: Request, message: str) -> Template:
        return render(request, "accounts/message.html", {"title": "Invitation not valid", "message": message},
                      status_code=400)

    @get("/employer/invites/accept")
    async def accept_page(self, request: Request, token: FromQuery[str] = "") -> Template:
        try:
            situation = await service.invite_situation(token, request.user)
        except service.EmployerError as exc:
            return self._invalid(request, exc.message)
        status = 409 if situation.action == "refuse" else 200
        return self._page(request, token, situation, {}, {}, status)

    @post("/employer/invites/accept")
    async def accept(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        form = await read_form(request)
        token = form_str(form, "token", 200)
        try:
            situation = await service.invite_situation(token, request.user)
        except service.EmployerError as exc:
            return self._invalid(request, exc.message)
        welcome = f"Welcome to {situation.employer_name}. You can now manage its listings with your colleagues."
        try:
            if situation.action == "already":
                return redirect(request, "/employer/organisation", situation.message)
            if situation.action == "join":
                await service.accept_invite(token, request.user.id)
                return redirect(request, "/employer/organisation", welcome, "success")
            if situation.action == "login":
                try:
                    await ratelimit.hit("login-ip", client_key(request), settings.login_rate)
                    await ratelimit.hit("login-account", accounts.limit_key(situation.email), settings.login_account_rate)
                except ratelimit.RateLimited as exc:
                    return self._page(request, token, situation, {}, {"__all__": str(exc)}, 429)
                user = await accounts.authenticate(situation.email, form_str(form, "password", 1000))
                await service.accept_invite(token, user.id)
                return await after_password(request, user, "/employer/organisation", welcome)
            if situation.action == "create":
                kept = {"display_name": form_str(form, "display_name", 200)}
                password = form_str(form, "password", 1000)
                if password != form_str(form, "password_confirm", 1000):
                    return self._page(request, token, situation, kept,
                                      {"password_confirm": "The two passwords differ."}, 400)
                try:
                    user = await service.accept_invite_with_new_account(token, kept["display_name"], password)
                except accounts.AccountError as exc:
                    return self._page(request, token, situation, kept, {exc.field or "__all__": exc.message}, 400)
                return await log_in(request, user.id, "/employer/organisation", welcome, second_factor_ok=True)
        except accounts.AccountError as exc:
            return self._page(request, token, situation, {}, {exc.field or "__all__": exc.message}, 400)
        return self._page(request, token, situation, {}, {}, 409)


class EmployerPublicController(Controller):
    """The public organisation page and its logo; a suspended or unknown organisation answers 404."""

    include_in_schema = False

    @get("/employers/{slug:str}")
    async def page(self, request: Request, slug: FromPath[str]) -> Template:
        return render(request, "employers/public.html", {"page": found(await service.public_page(slug))})

    @get("/employers/{slug:str}/logo")
    async def logo(self, request: Request, settings: NamedDependency[Settings], slug: FromPath[str]) -> Response:
        found = await service.logo_for(slug, storage_for(settings))
        if found is None:
            raise NotFoundException()
        data, content_type, key = found
        etag = '"' + key.rsplit("/", 1)[-1].split(".")[0] + '"'
        headers = {
            "Cache-Control": LOGO_CACHE,
            "ETag": etag,
            "Content-Disposition": "inline; filename=logo" + key[key.rfind("."):],
            # nosniff is also set on every response by the app's security headers.
        }
        if request.headers.get("if-none-match") == etag:
            return Response(content=b"", status_code=304, headers=headers)
        return Response(content=data, media_type=content_type, headers=headers)


ROUTES = [OrganisationController, InvitationController, EmployerPublicController]
