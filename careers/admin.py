"""Admin pages that belong to no domain: the dashboard shell, the mail kept in the outbox, outbox retries."""

from __future__ import annotations

from litestar import Controller, Request, get, post
from typing import Annotated

from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from careers.accounts.auth import requires_admin
from careers.core import outbox
from careers.core.tables import OutboxRow
from careers.core.web import redirect, render


class AdminController(Controller):
    path = "/admin"
    include_in_schema = False
    guards = [requires_admin]

    @get("/")
    async def dashboard(self, request: Request) -> Template:
        failed = await OutboxRow.select().where(OutboxRow.status == "failed").order_by(OutboxRow.id, ascending=False).limit(50)
        retrying = await OutboxRow.select().where(
            (OutboxRow.status == "pending") & OutboxRow.last_error.is_not_null()
        ).order_by(OutboxRow.id, ascending=False).limit(50)
        return render(request, "admin/dashboard.html", {"failed": failed, "retrying": retrying})

    @get("/mail")
    async def mail(self, request: Request, page: Annotated[int, QueryParameter(ge=1)] = 1) -> Template:
        rows = await OutboxRow.select().where(OutboxRow.kind == "mail").order_by(OutboxRow.id, ascending=False).limit(50).offset(
            (page - 1) * 50
        ).output(load_json=True)
        return render(request, "admin/mail.html", {"rows": rows, "page": page})

    @post("/outbox/{row_id:int}/retry")
    async def retry(self, request: Request, row_id: FromPath[int]) -> Redirect:
        await outbox.retry(row_id)
        return redirect(request, "/admin", f"Outbox row {row_id} will be retried now.")
