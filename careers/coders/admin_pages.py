"""The admin's coder accounts page (/admin/coders): find, suspend, reinstate."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import quote

from litestar import Request, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from careers.accounts.auth import AdminPages
from careers.coders import accounts_admin as service
from careers.core.errors import back_to
from careers.core.web import form_str, read_form, redirect, render

BACK = back_to("/admin/coders?q={user_id}", not_found_too=True)


class CodersAdminController(AdminPages):
    path = "/admin/coders"

    @get("/")
    async def index(self, request: Request, q: FromQuery[str] = "",
                    page: Annotated[int, QueryParameter(ge=1)] = 1) -> Template:
        rows, total = await service.find(q, page)
        return render(request, "coders/admin_coders.html", {
            "rows": rows, "q": q, "page": page, "total": total, "pages": max(1, math.ceil(total / service.PAGE_SIZE))})

    async def _act(self, request: Request, user_id: int, suspend: bool) -> Redirect:
        form = await read_form(request)
        back = form_str(form, "q", 200)
        if suspend:
            await service.suspend(user_id, request.user, form_str(form, "reason", 2000))
        else:
            await service.reinstate(user_id, request.user, form_str(form, "reason", 2000))
        message = "Suspended: this coder cannot log in and their sessions have ended." if suspend else \
            "Reinstated: this coder can log in again."
        return redirect(request, "/admin/coders" + (f"?q={quote(back)}" if back else ""), message, "success")

    @post("/{user_id:int}/suspend", opt=BACK)
    async def suspend(self, request: Request, user_id: FromPath[int]) -> Redirect:
        return await self._act(request, user_id, True)

    @post("/{user_id:int}/reinstate", opt=BACK)
    async def reinstate(self, request: Request, user_id: FromPath[int]) -> Redirect:
        return await self._act(request, user_id, False)


ROUTES = [CodersAdminController]
