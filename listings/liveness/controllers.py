"""Live listings' pages: the mailed one-time links (a page, then one button) and the dashboard's reconfirm button."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from careers.accounts.auth import requires_role
from careers.core.errors import back_to
from careers.core.web import form_str, read_form, redirect, render
from listings import service as listings
from listings.liveness import service

TOKEN_MAX = 200


def _not_valid(request: Request, exc: service.LivenessError) -> Template:
    return render(request, "accounts/message.html", {"title": "Link not valid", "message": exc.message},
                  status_code=400)


async def _link_page(request: Request, token: str, purpose: str, template: str, **extra: Any) -> Template:
    """The page a mailed one-time link opens (its button POSTs the token), or why the link is not valid."""
    try:
        listing = await service.link_listing(token[:TOKEN_MAX], purpose)
    except service.LivenessError as exc:
        return _not_valid(request, exc)
    return render(request, template, {"listing": listing, "token": token, **extra})


class ListingLinkPages(Controller):
    """No GET changes anything: the link opens a page, its button (a POST) reconfirms or answers."""

    path = "/listings"
    include_in_schema = False

    @get("/reconfirm")
    async def reconfirm_page(self, request: Request, token: FromQuery[str] = "") -> Template:
        return await _link_page(request, token, service.RECONFIRM, "liveness/reconfirm.html")

    @post("/reconfirm")
    async def reconfirm(self, request: Request) -> Template:
        try:
            listing = await service.reconfirm_by_link(form_str(await read_form(request), "token", TOKEN_MAX))
        except service.LivenessError as exc:
            return _not_valid(request, exc)
        return render(request, "accounts/message.html", {
            "title": "Confirmed: the job is still open",
            "message": f"Thank you. “{listing.title}” is confirmed active today and stays on CareerCenter and in "
                       f"search for the next 14 days."})

    @get("/ended")
    async def ended_page(self, request: Request, token: FromQuery[str] = "") -> Template:
        return await _link_page(request, token, service.ENDED, "liveness/ended.html", reasons=service.CLOSE_REASONS)

    @post("/ended")
    async def ended(self, request: Request) -> Template:
        form = await read_form(request)
        try:
            await service.answer_by_link(form_str(form, "token", TOKEN_MAX), form_str(form, "close_reason", 32))
        except service.LivenessError as exc:
            return _not_valid(request, exc)
        return render(request, "accounts/message.html", {
            "title": "Thank you", "message": "Your answer is saved. It helps us show coders which jobs are real."})


class EmployerReconfirmController(Controller):
    path = "/employer/listings"
    include_in_schema = False
    guards = [requires_role("employer")]

    @post("/{listing_id:int}/reconfirm", opt=back_to("/employer/listings/{listing_id}"))
    async def reconfirm(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        listing = await listings.listing_for_member(listing_id, request.user.id)
        if listing is None:
            raise NotFoundException()
        await service.reconfirm(listing.id, actor_kind="employer", actor_id=request.user.id)
        back = form_str(await read_form(request), "next", 200)
        back = back if back in ("/employer", f"/employer/listings/{listing.id}") else f"/employer/listings/{listing.id}"
        return redirect(request, back, f"“{listing.title}” is confirmed active today.", "success")


ROUTES = [ListingLinkPages, EmployerReconfirmController]
