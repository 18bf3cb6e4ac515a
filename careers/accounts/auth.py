"""Who is asking: the session middleware and the role guards."""

from __future__ import annotations

from litestar import Controller
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from careers.accounts.service import load_session
from careers.core.web import SESSION_COOKIE, LoginRequired, login_url_for


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    """Loads the signed-in user from the `cc_session` cookie; anonymous visitors get `user=None`."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(SESSION_COOKIE)
        user = await load_session(token) if token else None
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


def requires_admin_password(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """The second-factor pages: an admin who gave the password but maybe not yet the code; others get 404."""
    user = _user(connection)
    if user is None or user.role != "admin":
        raise NotFoundException()
