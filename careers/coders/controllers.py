"""Coder pages: registration (profile, applications, saved jobs and alerts grow here)."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from careers.accounts.controllers import register_account
from careers.coders import service
from careers.core.config import Settings
from careers.core.web import render


class CoderRegistrationController(Controller):
    include_in_schema = False

    @get("/register/coder")
    async def page(self, request: Request) -> Template:
        return render(request, "accounts/register_coder.html", {"form": {}, "errors": {}})

    @post("/register/coder")
    async def register(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        async def create(kept: dict[str, str], password: str) -> int:
            return (await service.register_coder(kept["email"], password, kept["display_name"], settings)).id

        return await register_account(
            request, settings, "accounts/register_coder.html", {"display_name": 200, "email": 320}, create,
            "/account", "Welcome! We sent you a link to confirm your email address; confirm it before applying.")
