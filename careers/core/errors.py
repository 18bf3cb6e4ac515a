"""One family of domain errors, and the Litestar handlers that answer them (and HTTP errors) as pages or JSON.

Services raise a kind — `NotFound`, `Conflict`, `Invalid`, `Forbidden`, `RateLimited` — or a domain's own
subclass of one (`ListingNotFound(ListingError, NotFound)`); controllers let them through and
`domain_error_handler`, registered once on the app, answers from the kind:

- the JSON API (paths under `/api/`): `{"error": title, "detail": message, "fields": {field: message}}`
  with 404 / 409 / 400 / 403 / 429 (+ `Retry-After`), the shape of every other API error;
- pages: the error page (`errors/error.html`), or — when the route declares `opt=back_to(...)` — a 303 back
  to the page the form came from, with the message flashed (the usual answer to a refused button).

A form page that re-renders with messages and the person's input may still catch `Invalid` (or the domain's
error) itself.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from careers.core.web import LoginRequired, redirect, render

log = logging.getLogger("careers.app")

ERROR_TITLES = {400: "Bad request", 403: "Forbidden", 404: "Page not found", 405: "Method not allowed",
                409: "Conflict", 410: "Gone", 413: "File too large", 429: "Too many requests", 500: "Something went wrong",
                503: "Unavailable"}
BACK_TO = "back_to"  # the route `opt` key read by domain_error_handler
TOO_LARGE = "too_large"  # the route `opt` key with the message for a request body over the size limit (413)
TOO_LARGE_PAGE = ("What you sent is larger than the board accepts. Go back, choose a smaller file "
                  "(or send the form without it) and try again.")


# ---- the kinds ----------------------------------------------------------------------------------------


class DomainError(Exception):
    """A rule of the domain refused the request. `message` is fit to show the person; `field` names the form field
    it belongs to and `fields` maps every such field to its message. An error of no kind below is answered as a
    conflict with the current state (409)."""

    status_code: ClassVar[int] = 409

    def __init__(self, message: str = "", field: str | None = None, *, fields: dict[str, str] | None = None) -> None:
        self.fields: dict[str, str] = dict(fields or ({field: message} if field else {}))
        if not message and self.fields:
            field, message = next(iter(self.fields.items()))
        self.message = message
        self.field = field
        super().__init__(message)


class NotFound(DomainError):
    """The object does not exist for this person (pages never say which: the plain 404 page)."""

    status_code = 404


class Conflict(DomainError):
    """The object's current state refuses the action (already paid, not in review, …)."""

    status_code = 409


class Invalid(DomainError):
    """The input is wrong; `fields` names each wrong field (the API answers 400, as for every invalid parameter)."""

    status_code = 400


class Forbidden(DomainError):
    """The person may see the object but not do this to it."""

    status_code = 403


class RateLimited(DomainError):
    """Too many attempts; `retry_after` seconds until the next window (sent as `Retry-After`)."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


def back_to(path: str, prefix: str = "", *, not_found_too: bool = False) -> dict[str, Any]:
    """Route `opt`: a DomainError on this page answers a 303 to `path` flashing `prefix + message` (both formatted
    with the path parameters, e.g. "/employer/listings/{listing_id}"). NotFound still answers the 404 page unless
    `not_found_too`."""
    return {BACK_TO: (path, prefix, not_found_too)}


def upload_form(path: str, limit: str) -> dict[str, Any]:
    """Route `opt` of a file upload: a body over the size limit (refused before the handler has the form) and a
    DomainError answer a 303 back to the form at `path` flashing what went wrong; `limit` is the rule in words
    ("resumes can be at most 5 MB")."""
    return {**back_to(path), TOO_LARGE: f"That file is too large to upload: {limit}. Choose a smaller file."}


# ---- the handlers -------------------------------------------------------------------------------------


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def domain_error_handler(request: Request, exc: DomainError) -> Response:
    """Answer a DomainError from its kind: JSON for the API, a redirect with a flash or the error page for pages."""
    status = exc.status_code
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    if wants_json(request):
        detail = exc.message or ERROR_TITLES.get(status, "Error")
        if isinstance(exc, Invalid) and exc.fields:  # every wrong parameter, named, as the API has always said
            detail = " ".join(f"{name}: {message}" for name, message in exc.fields.items())
        return http_exception_handler(request, HTTPException(status_code=status, detail=detail, headers=headers,
                                                             extra={"fields": exc.fields}))
    back = request.route_handler.opt.get(BACK_TO) if "route_handler" in request.scope else None
    if back is not None and (not isinstance(exc, NotFound) or back[2]):
        path, prefix, _ = back
        params = request.path_params
        response = redirect(request, path.format(**params), prefix.format(**params) + exc.message, "error")
        if headers:
            response.headers.update(headers)
        return response
    if isinstance(exc, NotFound):
        return http_exception_handler(request, NotFoundException())  # the same page as any unknown address
    page = http_exception_handler(request, HTTPException(status_code=status, detail=exc.message))
    page.headers.update(headers or {})
    return page


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if wants_json(request):
        extra = exc.extra if isinstance(exc.extra, dict) else {}
        fields = extra.get("fields") or {}
        return Response(
            content={"error": ERROR_TITLES.get(status, "Error"), "detail": exc.detail, "fields": fields},
            status_code=status,
            headers=exc.headers,
        )
    detail = exc.detail if status < 500 else None
    if status == 413:  # a 20 MB resume: back to the form that sent it, with the limit, not a bare status line
        route = request.scope.get("route_handler")
        message = route.opt.get(TOO_LARGE) if route is not None else None
        if message:
            return redirect(request, route.opt[BACK_TO][0].format(**request.path_params), message, "error")
        detail = TOO_LARGE_PAGE
    if status == 403 and "CSRF" in str(exc.detail):
        detail = "Your form expired or was sent from another site. Go back, reload the page and try again."
    return render(request, "errors/error.html", {"status": status, "title": ERROR_TITLES.get(status, "Error"),
                                                 "detail": detail}, status_code=status)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if wants_json(request):
        return Response(content={"error": "Internal server error", "detail": "Something went wrong on our side.",
                                 "fields": {}}, status_code=500)
    detail = repr(exc) if request.app.state.settings.debug else None
    try:
        return render(request, "errors/error.html", {"status": 500, "title": ERROR_TITLES[500], "detail": detail},
                      status_code=500)
    except Exception:
        return Response(content="Something went wrong.", status_code=HTTP_500_INTERNAL_SERVER_ERROR,
                        media_type=MediaType.TEXT)


def login_required_handler(request: Request, exc: LoginRequired) -> Response:
    return Redirect(path=exc.next_url, status_code=303)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequired: login_required_handler,
    DomainError: domain_error_handler,
    HTTPException: http_exception_handler,
    NotFoundException: http_exception_handler,
    Exception: internal_error_handler,
}
