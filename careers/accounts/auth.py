"""Who is asking: the session middleware and the role guards."""

from __future__ import annotations

from litestar import Controller
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from careers.accounts.service import load_session
from careers.core.web import SESSION_COOKIE, LoginRequired, login_url_for

ADMIN_SECOND_STEP = "/admin/2fa"
ACCOUNT_SECOND_STEP = "/account/2fa"


def reaches_half_logged_in(path: str) -> bool:
    """The only pages a session without its second factor sees as signed in: the second step itself and logout."""
    return path == "/logout" or any(path == base or path.startswith(base + "/")
                                    for base in (ADMIN_SECOND_STEP, ACCOUNT_SECOND_STEP))


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    """Loads the signed-in user from the `cc_session` cookie; anonymous visitors get `user=None`.

    A session that gave the password but not yet the code is anonymous everywhere but `reaches_half_logged_in`.
    """

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(SESSION_COOKIE)
        user = await load_session(token, connection.app.state.settings.session_days) if token else None
        if user is not None and not user.second_factor_ok and not reaches_half_logged_in(connection.scope["path"]):
            user = None
        return AuthenticationResult(user=user, auth=token if user else None)


def _user(connection: ASGIConnection):
    return connection.scope.get("user")


def requires_login(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if _user(connection) is None:
        raise LoginRequired(login_url_for(connection))  # type: ignore[arg-type]


def requires_role(*roles: str):
    """Anonymous visitors go to /login?next=...; signed-in users of another role get 404."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = _user(connection)
        if user is None:
            raise LoginRequired(login_url_for(connection))  # type: ignore[arg-type]
        if user.role not in roles:
            raise NotFoundException()

    return guard


def requires_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Every /admin route answers 404 to anyone who is not a signed-in admin."""
    user = _user(connection)
    if user is None or user.role != "admin" or not user.second_factor_ok:
        raise NotFoundException()


class AdminPages(Controller):
    """The base of every /admin page controller: out of the API schema, 404 to anyone but a signed-in admin."""

    include_in_schema = False
    guards = [requires_admin]  # noqa: RUF012 - Litestar reads the class attribute


def requires_second_step(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The second-factor pages of the visitor's own kind: /admin/2fa for admins (404 to all others),
    /account/2fa for coders and employers (anonymous visitors go to the login page), also before the code."""
    user = _user(connection)
    admin_area = connection.scope["path"].startswith(ADMIN_SECOND_STEP)
    if user is None and not admin_area:
        raise LoginRequired(login_url_for(connection))  # type: ignore[arg-type]
    if user is None or (user.role == "admin") != admin_area:
        raise NotFoundException()


def requires_full_second_step(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Managing two-step login: the second-factor pages, once the login is complete."""
    requires_second_step(connection, handler)
    if not _user(connection).second_factor_ok:
        raise NotFoundException()
