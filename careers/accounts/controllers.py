"""Account pages: log in and out, register (the choice), confirm email, reset and change password,
and the admins' second factor (TOTP enrolment, the code after the password, recovery codes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter
from litestar.response import Redirect, Template

from careers.accounts import service
from careers.accounts.auth import (
    ACCOUNT_SECOND_STEP,
    ADMIN_SECOND_STEP,
    requires_full_second_step,
    requires_login,
    requires_second_step,
)
from careers.core import ratelimit
from careers.core.config import Settings
from careers.core.errors import back_to
from careers.core.proxies import request_client_address
from careers.core.web import SESSION_COOKIE, form_str, read_form, redirect, render, safe_next, settings_of


def client_key(request: Request) -> str:
    """The rate-limit key of an anonymous client: its address, read through TRUSTED_PROXIES only."""
    return request_client_address(request)


def session_cookie(request: Request, token: str) -> Cookie:
    settings = settings_of(request)
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=int(service.SESSION_CAP.total_seconds()),  # the server ends it sooner (idle, admins, logout)
    )


def home_for(user) -> str:
    return {"employer": "/employer", "admin": "/admin"}.get(user.role, "/account")


async def log_in(request: Request, user_id: int, next_url: str, message: str | None = None, *,
                 second_factor_ok: bool = False) -> Redirect:
    """End the visitor's old session (if any) and start a new one: the session id changes at login.

    `second_factor_ok=True` only when the login is complete (`after_password` decides for a password login).
    """
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await service.end_session(old)
    token = await service.start_session(user_id, settings_of(request), second_factor_ok=second_factor_ok)
    response = redirect(request, next_url, message)
    response.cookies.append(session_cookie(request, token))
    return response


async def after_password(request: Request, user, next_url: str, message: str = "You are logged in.") -> Redirect:
    """Log in someone who gave the right password: a complete login, or for admins and everyone with two-step login
    on, a session that reaches only the second step (the code, or an admin's first enrolment)."""
    if user.role != "admin" and not user.totp_secret_sealed:
        return await log_in(request, user.id, next_url or home_for(user), message, second_factor_ok=True)
    base = ADMIN_SECOND_STEP if user.role == "admin" else ACCOUNT_SECOND_STEP
    enrolled = bool(user.totp_secret_sealed)
    step = _with_next(base if enrolled else base + "/setup", next_url or None)
    return await log_in(request, user.id, step, "Enter the code from your authenticator app." if enrolled else
                        "Set up your authenticator app to finish logging in.")


async def register_account(request: Request, settings: Settings, template: str, fields: dict[str, int],
                           create: Callable[[dict[str, str], str], Awaitable[int]], next_url: str,
                           welcome: str, check: Callable[[dict[str, str]], dict[str, str]] | None = None,
                           ) -> Template | Redirect:
    """A sign-up form's POST (coder or employer): the two passwords must match and the client's register rate
    applies; `create(kept, password)` makes the account and returns its user id (an AccountError is shown at each
    field it names), then the person is signed in. `fields` are the form fields kept on the page, with their length
    caps; `check(kept)` gives the form's own field errors, so that every error shows at once."""
    form = await read_form(request)
    kept = {name: form_str(form, name, cap) for name, cap in fields.items()}
    errors: dict[str, str] = {}
    password = form_str(form, "password", 1000)
    if password != form_str(form, "password_confirm", 1000):
        errors["password_confirm"] = "The two passwords differ."
    try:
        await ratelimit.hit("register-ip", client_key(request), settings.register_rate)
        await ratelimit.hit("register-account", service.limit_key(kept["email"]), settings.register_rate)
    except ratelimit.RateLimited as exc:
        return render(request, template, {"form": kept, "errors": {"__all__": str(exc)}}, status_code=429)
    if errors:  # nothing is created: say what else is wrong too
        errors = await service.account_errors(kept["email"], password, kept.get("display_name", "")) | errors
        errors |= check(kept) if check else {}
    else:
        try:
            user_id = await create(kept, password)
        except service.AccountError as exc:
            errors = exc.fields or {exc.field or "__all__": exc.message}
    if errors:
        order = [*fields, "password", "password_confirm"]  # the summary lists them as the form asks
        errors = dict(sorted(errors.items(), key=lambda e: order.index(e[0]) if e[0] in order else -1))
        return render(request, template, {"form": kept, "errors": errors}, status_code=400)
    return await log_in(request, user_id, next_url, welcome, second_factor_ok=True)  # no second step yet: complete


class AccountController(Controller):
    include_in_schema = False

    @get("/login")
    async def login_page(self, request: Request, next_url: Annotated[str | None, QueryParameter(name="next")] = None) -> Template:
        return render(request, "accounts/login.html", {"next": safe_next(next_url, ""), "form": {}, "errors": {}})

    @post("/login")
    async def login(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        form = await read_form(request)
        email = form_str(form, "email", 320)
        next_url = safe_next(form_str(form, "next"), "")
        context = {"next": next_url, "form": {"email": email}, "errors": {}}
        try:
            await ratelimit.hit("login-ip", client_key(request), settings.login_rate)
            await ratelimit.hit("login-account", service.limit_key(email), settings.login_account_rate)
        except ratelimit.RateLimited as exc:
            context["errors"] = {"__all__": str(exc)}
            return render(request, "accounts/login.html", context, status_code=429)
        try:
            user = await service.authenticate(email, form_str(form, "password", 1000))
        except service.AccountError as exc:
            context["errors"] = {"__all__": exc.message}
            return render(request, "accounts/login.html", context, status_code=400)
        return await after_password(request, user, next_url)

    @post("/logout")
    async def logout(self, request: Request) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await service.end_session(token)
        response = redirect(request, "/", "You are logged out.")
        response.cookies.append(Cookie(key=SESSION_COOKIE, value="", path="/", max_age=0))
        return response

    @get("/register")
    async def register_choice(self, request: Request) -> Template:
        return render(request, "accounts/register_choice.html")

    @get("/account", guards=[requires_login])
    async def account(self, request: Request) -> Template:
        return render(request, "accounts/account.html", {"two_step": await service.has_totp(request.user.id)})

    @get("/account/confirm")
    async def confirm_page(self, request: Request, token: FromQuery[str] = "") -> Template:
        """The mailed link opens a page; only its button (a POST) confirms, so a link scanner confirms nothing."""
        return render(request, "accounts/confirm_email.html", {"token": token})

    @post("/account/confirm")
    async def confirm(self, request: Request) -> Template | Redirect:
        token = form_str(await read_form(request), "token", 200)
        try:
            await service.confirm_email(token)
        except service.AccountError as exc:
            return render(request, "accounts/message.html", {"title": "Link not valid", "message": exc.message}, status_code=400)
        return redirect(request, "/account" if request.user else "/login", "Your email address is confirmed.", "success")

    @post("/account/confirm/resend", guards=[requires_login], opt=back_to("/account"))
    async def resend_confirmation(self, request: Request, settings: NamedDependency[Settings]) -> Redirect:
        user = request.user
        await ratelimit.hit("confirm-resend", str(user.id), settings.reset_rate)
        if not user.email_confirmed:
            from careers.accounts.tables import User

            async with service.db.transaction():
                await service.send_confirmation(await User.objects().get(User.id == user.id), settings)
        return redirect(request, "/account", "We sent a new confirmation link to your email address.")

    @get("/password/reset")
    async def reset_request_page(self, request: Request) -> Template:
        return render(request, "accounts/reset_request.html", {"form": {}, "errors": {}})

    @post("/password/reset")
    async def reset_request(self, request: Request, settings: NamedDependency[Settings]) -> Template:
        form = await read_form(request)
        email = form_str(form, "email", 320)
        try:
            await ratelimit.hit("reset-ip", client_key(request), settings.reset_rate)
            await ratelimit.hit("reset-account", service.limit_key(email), settings.reset_rate)
        except ratelimit.RateLimited as exc:
            return render(
                request, "accounts/reset_request.html", {"form": {"email": email}, "errors": {"__all__": str(exc)}}, status_code=429
            )
        await service.request_password_reset(email, settings)
        return render(
            request,
            "accounts/message.html",
            {"title": "Check your mail", "message": "If an account exists for that address, we sent it a link to choose a new password. The link works once, for one hour."},
        )

    @get("/password/reset/confirm")
    async def reset_confirm_page(self, request: Request, token: FromQuery[str] = "") -> Template:
        return render(request, "accounts/reset_confirm.html", {"token": token, "errors": {}})

    @post("/password/reset/confirm")
    async def reset_confirm(self, request: Request) -> Template | Redirect:
        form = await read_form(request)
        token = form_str(form, "token", 200)
        password = form_str(form, "password", 1000)
        if password != form_str(form, "password_confirm", 1000):
            return render(request, "accounts/reset_confirm.html", {"token": token, "errors": {"password_confirm": "The two passwords differ."}}, status_code=400)
        try:
            await service.reset_password(token, password)
        except service.AccountError as exc:
            return render(request, "accounts/reset_confirm.html", {"token": token, "errors": {exc.field or "__all__": exc.message}}, status_code=400)
        response = redirect(request, "/login", "Your password is changed. Log in with the new one.", "success")
        response.cookies.append(Cookie(key=SESSION_COOKIE, value="", path="/", max_age=0))
        return response

    @get("/account/password", guards=[requires_login])
    async def change_password_page(self, request: Request) -> Template:
        return render(request, "accounts/change_password.html", {"errors": {}})

    @post("/account/password", guards=[requires_login])
    async def change_password(self, request: Request) -> Template | Redirect:
        form = await read_form(request)
        new = form_str(form, "new_password", 1000)
        if new != form_str(form, "new_password_confirm", 1000):
            return render(request, "accounts/change_password.html", {"errors": {"new_password_confirm": "The two new passwords differ."}}, status_code=400)
        try:
            await service.change_password(request.user.id, request.user.session_id, form_str(form, "current_password", 1000), new)
        except service.AccountError as exc:
            field = "new_password" if exc.field == "password" else (exc.field or "__all__")
            return render(request, "accounts/change_password.html", {"errors": {field: exc.message}}, status_code=400)
        return redirect(request, "/account", "Your password is changed. Your other sessions were logged out.", "success")


def qr_svg_data_uri(text: str) -> str:
    """A QR code of `text` as an SVG data URI, drawn on the server (no script, allowed by our CSP's img-src)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def _with_next(path: str, next_url: str | None) -> str:
    return path + ("?next=" + quote(next_url, safe="/") if next_url else "")


class SecondFactorController(Controller):
    """Two-step login for admins (required; everyone else gets 404). The code and set-up pages work before the
    session has its second factor; managing it needs the whole login. AccountSecondFactorController serves the
    same pages to coders and employers, who may turn it on."""

    path = ADMIN_SECOND_STEP
    home = "/admin"
    include_in_schema = False

    @get("/", guards=[requires_second_step])
    async def code_page(self, request: Request,
                        next_url: Annotated[str | None, QueryParameter(name="next")] = None) -> Template | Redirect:
        target = safe_next(next_url, self.home)
        if request.user.second_factor_ok:
            return redirect(request, target)
        if not await service.has_totp(request.user.id):
            return redirect(request, _with_next(self.path + "/setup", target if next_url else None))
        return render(request, "admin/2fa_code.html", {"next": target, "errors": {}, "base": self.path})

    @post("/", guards=[requires_second_step])
    async def submit_code(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        form = await read_form(request)
        target = safe_next(form_str(form, "next"), self.home)
        context = {"next": target, "base": self.path}
        try:
            await ratelimit.hit("second-factor", str(request.user.id), settings.login_account_rate)
            used = await service.verify_second_factor(request.user.id, form_str(form, "code", 50), settings)
        except (ratelimit.RateLimited, service.AccountError) as exc:
            status = 429 if isinstance(exc, ratelimit.RateLimited) else 400
            return render(request, "admin/2fa_code.html", context | {"errors": {"code": exc.message}}, status_code=status)
        message = "You are logged in."
        if used == "recovery":
            left = await service.recovery_codes_left(request.user.id)
            message = f"You used a recovery code; {left} left. Make new ones on the two-step page if you are running low."
        return await log_in(request, request.user.id, target, message, second_factor_ok=True)

    @get("/setup", guards=[requires_second_step])
    async def setup_page(self, request: Request, settings: NamedDependency[Settings],
                         next_url: Annotated[str | None, QueryParameter(name="next")] = None) -> Template | Redirect:
        user = request.user
        enrolled = await service.has_totp(user.id)
        if enrolled and not user.second_factor_ok:
            # Replacing an enrolled app needs the current factor first.
            return redirect(request, _with_next(self.path, next_url))
        secret = await service.totp_setup_secret(user.session_id, settings)
        return render(request, "admin/2fa_setup.html", self._setup_context(user, secret, safe_next(next_url, self.home),
                                                                           enrolled))

    @post("/setup", guards=[requires_second_step])
    async def setup(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        user = request.user
        enrolled = await service.has_totp(user.id)
        if enrolled and not user.second_factor_ok:
            return redirect(request, self.path)
        form = await read_form(request)
        target = safe_next(form_str(form, "next"), self.home)
        try:
            await ratelimit.hit("second-factor", str(user.id), settings.login_account_rate)
            if user.second_factor_ok:  # changing a complete login's second step: the password and the current code
                await self._authorise_change(user.id, form, settings)
            codes = await service.enrol_totp(user.id, user.session_id, form_str(form, "code", 50), settings)
        except (ratelimit.RateLimited, service.AccountError) as exc:
            field = getattr(exc, "field", None) or "code"
            secret = await service.totp_setup_secret(user.session_id, settings)
            context = self._setup_context(user, secret, target, enrolled)
            context["errors"] = {field: exc.message}
            return render(request, "admin/2fa_setup.html", context, status_code=400)
        response = await log_in(request, user.id, target, None, second_factor_ok=True)
        page = render(request, "admin/2fa_recovery_codes.html", {"codes": codes, "next": target, "enrolled": True})
        page.cookies.extend(c for c in response.cookies if c.key == SESSION_COOKIE)
        return page

    @post("/recovery-codes", guards=[requires_full_second_step])
    async def new_recovery_codes(self, request: Request, settings: NamedDependency[Settings]) -> Template:
        form = await read_form(request)
        try:
            codes = await service.regenerate_recovery_codes(request.user.id, form_str(form, "password", 1000),
                                                            form_str(form, "code", 50), settings)
        except service.AccountError as exc:
            return await self._manage(request, {exc.field or "code": exc.message}, 400)
        return render(request, "admin/2fa_recovery_codes.html", {"codes": codes, "next": self.home, "enrolled": False})

    @get("/manage", guards=[requires_full_second_step])
    async def manage(self, request: Request) -> Template | Redirect:
        if not await service.has_totp(request.user.id):
            return redirect(request, self.path + "/setup")
        return await self._manage(request, {}, 200)

    async def _manage(self, request: Request, errors: dict, status: int) -> Template:
        left = await service.recovery_codes_left(request.user.id)
        return render(request, "admin/2fa_manage.html", {"left": left, "base": self.path, "errors": errors,
                                                         "can_turn_off": request.user.role != "admin"},
                      status_code=status)

    @staticmethod
    async def _authorise_change(user_id: int, form: dict, settings: Settings) -> None:
        try:
            await service.check_password_and_factor(user_id, form_str(form, "password", 1000),
                                                    form_str(form, "current_code", 50), settings)
        except service.AccountError as exc:  # the current code has its own field on the set-up form
            raise service.AccountError(exc.message, "current_code" if exc.field == "code" else exc.field) from None

    def _setup_context(self, user, secret: str, target: str, enrolled: bool) -> dict:
        uri = service.totp_uri(secret, user.email)
        spaced = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
        return {"secret": secret, "secret_spaced": spaced, "qr": qr_svg_data_uri(uri), "uri": uri, "next": target,
                "errors": {}, "base": self.path, "ask_password": user.second_factor_ok, "ask_current_code": enrolled}


class AccountSecondFactorController(SecondFactorController):
    """Optional two-step login for coders and employers, from their account page (`/account/2fa*`)."""

    path = ACCOUNT_SECOND_STEP
    home = "/account"

    @post("/off", guards=[requires_full_second_step])
    async def turn_off(self, request: Request, settings: NamedDependency[Settings]) -> Template | Redirect:
        form = await read_form(request)
        try:
            await service.turn_off_totp(request.user.id, form_str(form, "off_password", 1000),
                                        form_str(form, "off_code", 50), settings)
        except service.AccountError as exc:
            return await self._manage(request, {"off_" + (exc.field or "code"): exc.message}, 400)
        return redirect(request, "/account", "Two-step login is off. You log in with your password alone.")
