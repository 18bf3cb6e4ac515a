"""Coder pages: registration (profile, applications, saved jobs and alerts grow here)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from careers.accounts.controllers import client_key, log_in
from careers.accounts.service import AccountError, limit_key
from careers.coders import service
from careers.core import ratelimit
from careers.core.config import Settings
from careers.core.web import form_str, read_form, render


class CoderRegistrationController(Controller):
    include_in_schema = False

    @get("/register/coder")
    async def page(self, request: Request) -> Template:
        return render(request, "accounts/register_coder.html", {"form": {}, "errors": {}})

    @post("/register/coder")
    async def register(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        form = await read_form(request)
        kept = {"email": form_str(form, "email", 320), "display_name": form_str(form, "display_name", 200)}
        errors: dict[str, str] = {}
        password = form_str(form, "password", 1000)
        if password != form_str(form, "password_confirm", 1000):
            errors["password_confirm"] = "The two passwords differ."
        try:
            await ratelimit.hit("register-ip", client_key(request), settings.register_rate)
            await ratelimit.hit("register-account", limit_key(kept["email"]), settings.register_rate)
        except ratelimit.RateLimited as exc:
            return render(request, "accounts/register_coder.html", {"form": kept, "errors": {"__all__": str(exc)}}, status_code=429)
        if not errors:
            try:
                user = await service.register_coder(kept["email"], password, kept["display_name"], settings)
            except AccountError as exc:
                errors[exc.field or "__all__"] = exc.message
        if errors:
            return render(request, "accounts/register_coder.html", {"form": kept, "errors": errors}, status_code=400)
        return await log_in(
            request, user.id, "/account", "Welcome! We sent you a link to confirm your email address; confirm it before applying.",
            second_factor_ok=True,
        )
