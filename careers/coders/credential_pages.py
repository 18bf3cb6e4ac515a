"""Verified credentials' pages: the coder's /account/credentials and the admin queue /admin/credentials."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careers.accounts.auth import AdminPages, requires_role
from careers.coders import credentials
from careers.coders.pages import _download
from careers.coders.service import CoderError
from careers.coders.tables import CredentialCheckState
from careers.core.config import Settings
from careers.core.errors import Invalid, back_to
from careers.core.web import form_str, redirect, render


async def _page(request: Request, errors: dict[str, str] | None = None, code: str = "",
                form: dict[str, Any] | None = None, status_code: int = 200) -> Template:
    return render(request, "coders/credentials.html", {
        "credentials": await credentials.coder_credentials(request.user.id), "errors": errors or {},
        "error_code": code, "form": form or {}, "state_labels": credentials.STATE_LABELS,
    }, status_code=status_code)


class CoderCredentialsController(Controller):
    """A coder's credentials with their numbers, expiry dates and certificates, for verification."""

    include_in_schema = False
    guards = [requires_role("coder")]  # noqa: RUF012 - Litestar reads the class attribute

    @get("/account/credentials")
    async def page(self, request: Request) -> Template:
        return await _page(request)

    @post("/account/credentials/{code:str}")
    async def submit(self, request: Request, settings: NamedDependency[Settings],
                     code: FromPath[str]) -> Template | Redirect:
        await credentials.held(request.user.id, code)  # 404 before reading anything for a credential not held
        form = await request.form()
        kept = {"member_number": form_str(dict(form), "member_number", 200),
                "expires_on": form_str(dict(form), "expires_on", 20)}
        upload = form.get("certificate")
        certificate = None
        if isinstance(upload, UploadFile) and upload.filename:
            certificate = (upload.filename, await upload.read(credentials.RESUME_MAX_BYTES + 1))
        try:
            claim = credentials.read_claim(kept)
            await credentials.submit_claim(request.user.id, code, claim, certificate, settings)
        except (Invalid, CoderError) as exc:
            return await _page(request, exc.fields or {"__all__": exc.message}, code, kept, 400)
        return redirect(request, f"/account/credentials#credential-{code}",
                        f"Your {code} is sent for verification.", "success")

    @get("/account/credentials/{code:str}/certificate")
    async def certificate(self, request: Request, settings: NamedDependency[Settings], code: FromPath[str]) -> Response:
        return _download(await credentials.own_certificate(request.user.id, code, settings))


class AdminCredentialsController(AdminPages):
    """The verification queue: each claim with the issuing body's lookup page and the certificate."""

    path = "/admin/credentials"

    @get("/")
    async def queue(self, request: Request,
                    shown: Annotated[str | None, QueryParameter(name="state")] = None) -> Template:
        state = shown if shown in set(CredentialCheckState) else CredentialCheckState.PENDING
        return render(request, "coders/admin_credentials.html", {
            "checks": await credentials.queue(state), "state": state, "state_labels": credentials.STATE_LABELS})

    @post("/{check_id:int}/approve", opt=back_to("/admin/credentials"))
    async def approve(self, request: Request, check_id: FromPath[int]) -> Redirect:
        check = await credentials.decide(check_id, True, "", request.user)
        return redirect(request, "/admin/credentials", f"{check.credential} verified.", "success")

    @post("/{check_id:int}/reject", opt=back_to("/admin/credentials#check-{check_id}"))
    async def reject(self, request: Request, check_id: FromPath[int]) -> Redirect:
        reason = form_str(dict(await request.form()), "reason", credentials.REASON_MAX)
        check = await credentials.decide(check_id, False, reason, request.user)
        return redirect(request, "/admin/credentials", f"{check.credential} not verified; the coder is told why.")

    @get("/{check_id:int}/certificate")
    async def certificate(self, request: Request, settings: NamedDependency[Settings], check_id: FromPath[int]
                          ) -> Response:
        return _download(await credentials.certificate_for_admin(check_id, settings))


ROUTES = [CoderCredentialsController, AdminCredentialsController]
