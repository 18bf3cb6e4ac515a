"""Small helpers every controller uses: render a page, redirect with a flash, read a form."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, TypeVar
from urllib.parse import quote, urlparse

from litestar import Request
from litestar.datastructures import Cookie
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

FLASH_COOKIE = "cc_flash"
SESSION_COOKIE = "cc_session"
CSRF_COOKIE = "cc_csrf"


class LoginRequired(Exception):
    """Raised by guards for anonymous visitors of a dashboard; answered with a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


def _sign(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()[:32]


def encode_flash(secret: str, messages: list[tuple[str, str]]) -> str:
    data = base64.urlsafe_b64encode(json.dumps(messages).encode())
    return data.decode() + "." + _sign(secret, data)


def decode_flash(secret: str, value: str | None) -> list[tuple[str, str]]:
    if not value or "." not in value:
        return []
    data, sig = value.rsplit(".", 1)
    if not hmac.compare_digest(sig, _sign(secret, data.encode())):
        return []
    try:
        return [tuple(m) for m in json.loads(base64.urlsafe_b64decode(data.encode()))][:5]
    except (ValueError, TypeError):
        return []


def settings_of(request: Request):
    return request.app.state.settings


def safe_next(target: str | None, default: str = "/account") -> str:
    """Only same-site relative paths are honoured as `next` (no scheme, no host, no `//`, no backslash)."""
    if not target:
        return default
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(ch) < 32 for ch in target):
        return default
    return target


def login_url_for(request: Request) -> str:
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return "/login?next=" + quote(path, safe="/")


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> Template:
    """Render a page with the signed-in user, flashes and settings in the context."""
    settings = settings_of(request)
    flashes = decode_flash(settings.secret_key, request.cookies.get(FLASH_COOKIE))
    ctx = {"user": request.user if "user" in request.scope else None, "flashes": flashes, "settings": settings}
    ctx.update(context or {})
    cookies = [Cookie(key=FLASH_COOKIE, value="", max_age=0, path="/")] if flashes else []
    return Template(template_name=template, context=ctx, status_code=status_code, cookies=cookies)


T = TypeVar("T")


def found(value: T | None) -> T:
    """`value`, or the 404 page (the same as an unknown address) when a lookup found nothing."""
    if value is None:
        raise NotFoundException()
    return value


def redirect(request: Request, url: str, message: str | None = None, category: str = "info") -> Redirect:
    """A 303 See Other (the right answer after a POST), optionally with a flash message."""
    cookies = []
    if message:
        settings = settings_of(request)
        cookies.append(
            Cookie(
                key=FLASH_COOKIE,
                value=encode_flash(settings.secret_key, [(category, message)]),
                path="/",
                httponly=True,
                samesite="lax",
                secure=settings.secure_cookies,
                max_age=120,
            )
        )
    return Redirect(path=url, status_code=303, cookies=cookies)


async def read_form(request: Request) -> dict[str, Any]:
    """The submitted form as a dict; repeated fields become lists (`getall`)."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key in form.keys():
        values = form.getall(key)
        data[key] = values if len(values) > 1 else values[0]
    return data


def form_list(form: dict[str, Any], key: str) -> list[str]:
    value = form.get(key)
    if value is None or value == "":
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str) and v != ""]


def form_str(form: dict[str, Any], key: str, max_length: int = 10000) -> str:
    value = form.get(key, "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.strip()[:max_length] if isinstance(value, str) else ""


def not_found() -> NotFoundException:
    return NotFoundException()
