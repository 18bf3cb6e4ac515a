"""Applicant tracking pages for employers: a listing's applicants (sort, filter, search, bulk move, CSV),
one application (stage moves, history, private notes).

`ROUTES` is picked up by careers.app. The controller's guard sends anonymous visitors to /login and
answers 404 to other roles; every handler then checks the object against the person's current
membership (employers.applicants), answering 404 to anyone else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from careers.accounts.auth import requires_role
from careers.core.config import Settings
from careers.core.filters import pluralize
from careers.core.web import form_list, form_str, read_form, redirect, render
from employers import applicant_screening
from employers import applicants as service


def _list_url(listing_id: int, query: service.ApplicantQuery) -> str:
    params = query.params()
    return f"/employer/listings/{listing_id}/applicants" + ("?" + urlencode(params) if params else "")


def _ids(form: dict[str, Any]) -> list[int]:
    ids = []
    for value in form_list(form, "application_id"):
        if not value.isdigit():
            raise NotFoundException()
        ids.append(int(value))
    return ids


class ApplicantController(Controller):
    path = "/employer"
    include_in_schema = False
    guards = [requires_role("employer")]

    # ---- a listing's applicants ----------------------------------------------------------------

    @get("/listings/{listing_id:int}/applicants")
    async def applicants(self, request: Request, listing_id: FromPath[int], sort: FromQuery[str] = "",
                         stage: FromQuery[str] = "", match: FromQuery[str] = "", q: FromQuery[str] = "",
                         screened: FromQuery[str] = "", answer: FromQuery[str] = "") -> Template:
        query = service.ApplicantQuery.parse(sort, stage, match, q, screened, answer)
        return await self._list_page(request, listing_id, query)

    async def _list_page(self, request: Request, listing_id: int, query: service.ApplicantQuery, *,
                         errors: dict[str, str] | None = None, kept: dict[str, Any] | None = None,
                         status_code: int = 200) -> Template:
        listing = await service.listing_for_member(listing_id, request.user.id)
        applicants, counts = await service.applicant_list(listing_id, query)
        return render(request, "employers/applicants/list.html", {
            "listing": listing,
            "applicants": applicants,
            "query": query,
            "total": sum(counts.values()),
            "counts": counts,
            "stage_labels": service.STAGE_LABELS,
            "movable": service.MOVABLE_STAGES,
            "mailed_labels": service.mailed_labels(),
            "match_filters": service.MATCH_FILTERS,
            **applicant_screening.filter_options(listing.screening_questions, service.SORTS),  # "sorts" too
            "errors": errors or {},
            "kept": kept or {},
            "line_max": service.LINE_MAX,
        }, status_code=status_code)

    @post("/listings/{listing_id:int}/applicants/move")
    async def bulk_move(self, request: Request, settings: NamedDependency[Settings],
                        listing_id: FromPath[int]) -> Template | Redirect:
        form = await read_form(request)
        query = service.ApplicantQuery.parse(form_str(form, "sort", 20), form_str(form, "stage", 20),
                                             form_str(form, "match", 20), form_str(form, "q", 100),
                                             form_str(form, "screened", 20), form_str(form, "answer", 100))
        try:
            result = await service.bulk_move(listing_id, request.user.id, _ids(form), form_str(form, "to_stage", 20),
                                             form_str(form, "note", 100000), settings)
        except service.ApplicantError as exc:
            kept = {"to_stage": form_str(form, "to_stage", 20), "note": form_str(form, "note", 100000),
                    "selected": set(form_list(form, "application_id"))}
            return await self._list_page(request, listing_id, query, errors={exc.field or "__all__": exc.message},
                                         kept=kept, status_code=400)
        label = service.STAGE_LABELS[form_str(form, "to_stage", 20)]
        parts = []
        if result.moved:
            moved = len(result.moved)
            parts.append(f"Moved {moved} {pluralize(moved, 'applicant')} to {label}.")
        if result.unchanged:
            unchanged = len(result.unchanged)
            parts.append(f"{unchanged} {pluralize(unchanged, 'applicant')} already at {label}: "
                         + ", ".join(result.unchanged) + ".")
        if result.withdrawn:
            withdrawn = len(result.withdrawn)
            parts.append(f"Skipped {withdrawn} {pluralize(withdrawn, 'withdrawn application')} (frozen by the "
                         "candidate): " + ", ".join(result.withdrawn) + ".")
        return redirect(request, _list_url(listing_id, query), " ".join(parts),
                        "success" if result.moved and not result.withdrawn else "info")

    @get("/listings/{listing_id:int}/applicants.csv")
    async def export(self, request: Request, listing_id: FromPath[int]) -> Response:
        data, filename = await service.export_csv(listing_id, request.user.id)
        ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "._-") else "-" for ch in filename)
        return Response(content=data, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "private, no-store",
        })

    # ---- one application ---------------------------------------------------------------------------

    @get("/applications/{application_id:int}")
    async def application(self, request: Request, application_id: FromPath[int]) -> Template:
        return await self._application_page(request, application_id)

    async def _application_page(self, request: Request, application_id: int, *, errors: dict[str, str] | None = None,
                                kept: dict[str, str] | None = None, status_code: int = 200) -> Template:
        page = await service.open_application(application_id, request.user.id)
        return render(request, "employers/applicants/detail.html", {
            "page": page,
            "a": page.applicant,
            "listing": page.listing,
            "stage_labels": service.STAGE_LABELS,
            "movable": service.MOVABLE_STAGES,
            "mailed_labels": service.mailed_labels(),
            "errors": errors or {},
            "kept": kept or {},
            "line_max": service.LINE_MAX,
            "note_max": service.NOTE_MAX,
        }, status_code=status_code)

    @post("/applications/{application_id:int}/move")
    async def move(self, request: Request, settings: NamedDependency[Settings],
                   application_id: FromPath[int]) -> Template | Redirect:
        form = await read_form(request)
        to_stage = form_str(form, "to_stage", 20)
        line = form_str(form, "note", 100000)
        try:
            before, _ = await service.application_for_member(application_id, request.user.id)
            await service.move(application_id, request.user.id, to_stage, line, settings)
        except service.ApplicantError as exc:
            return await self._application_page(request, application_id, errors={exc.field or "__all__": exc.message},
                                                kept={"to_stage": to_stage, "note": line}, status_code=400)
        label = service.STAGE_LABELS[to_stage]
        if before.stage == to_stage:  # the form preselects the current stage: say that nothing happened
            return redirect(request, f"/employer/applications/{application_id}",
                            f"Already at {label}: nothing changed and no mail was sent.")
        told = " The candidate has been mailed." if to_stage in service.MAILED_STAGES else ""
        return redirect(request, f"/employer/applications/{application_id}", f"Moved to {label}.{told}", "success")

    @post("/applications/{application_id:int}/notes")
    async def add_note(self, request: Request, application_id: FromPath[int]) -> Template | Redirect:
        form = await read_form(request)
        body = form_str(form, "body", 100000)
        try:
            await service.add_note(application_id, request.user.id, body)
        except service.ApplicantError as exc:
            return await self._application_page(request, application_id, errors={exc.field or "__all__": exc.message},
                                                kept={"body": body}, status_code=400)
        return redirect(request, f"/employer/applications/{application_id}#notes", "Note added.", "success")


ROUTES = [ApplicantController]
