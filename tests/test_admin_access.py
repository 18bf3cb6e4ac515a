"""Every /admin route answers 404 to coders, employers, anonymous visitors and half-signed-in admins, and changes nothing.

The routes are collected from the assembled app, so a route added later is walked automatically.
"""

from __future__ import annotations

import re

from careers.core import db
from careers.core.tables import OutboxRow
from tests.conftest import ON_POSTGRES, create_admin, login, register_coder, register_employer
from tests.test_moderation_support import make_employer, make_listing

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
FORM = {"reason": "walking the routes", "note": "walking the routes", "code": "123456", "secret": "A" * 32,
        "email": "walker@example.org", "status": "paid", "price_cents": "1", "active": "on"}
UNCHANGING_TABLES_EXCLUDED = {"rate_limit_hits", "piccolo_migration"}


def admin_routes(app) -> list[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if route.path == "/admin" or route.path.startswith("/admin/"):
            for method in getattr(route, "methods", ()):
                if method in METHODS:
                    found.add((method, route.path))
    return sorted(found)


def concrete(path: str, ids: dict[str, int], fallback: int) -> str:
    """Fill path parameters with the ids of real objects, so a missing guard would really act on something."""

    def fill(match: re.Match) -> str:
        name, kind = match.group(1), match.group(2) or "str"
        if kind == "int":
            return str(ids.get(name, fallback))
        return "x"

    return re.sub(r"\{(\w+)(?::(\w+))?\}", fill, path)


async def database_state() -> dict[str, list]:
    if ON_POSTGRES:
        names = [r["name"] for r in await db.fetch("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'")]
    else:
        names = [r["name"] for r in await db.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    state = {}
    for name in sorted(set(names) - UNCHANGING_TABLES_EXCLUDED):
        rows = await db.fetch(f'SELECT * FROM "{name}"')
        state[name] = sorted(repr(sorted(r.items())) for r in rows)
    return state


async def test_every_admin_route_answers_404_to_everyone_but_a_fully_signed_in_admin(app, browser, make_browser):
    routes = admin_routes(app)
    paths = {path for _, path in routes}
    assert {"/admin", "/admin/review", "/admin/reports", "/admin/employers", "/admin/audit"} <= {
        p.rstrip("/") or "/" for p in paths}, paths
    assert len(routes) >= 20

    # real objects behind the ids: an employer with an in-review and a published listing, a failed outbox row
    employer = await make_employer(browser, "owner@walk.org", "Walk Health", "https://walk.org")
    waiting = await make_listing(employer, title="Waiting", status="in_review")
    await make_listing(employer, title="Live", status="published")
    row = OutboxRow(kind="mail", payload='{"to": "x@example.org", "subject": "s", "text": "t"}', status="failed",
                    last_error="boom")
    await row.save()
    ids = {"listing_id": waiting.id, "employer_id": employer.id, "row_id": row.id}

    coder = make_browser()
    await register_coder(coder, "walker-coder@example.org")
    employer_browser = make_browser()
    await register_employer(employer_browser, "walker-employer@walk2.org", org="Walk Two", website="https://walk2.org")
    anonymous = make_browser()
    await anonymous.get("/login")  # a CSRF cookie, so POSTs reach the guard instead of the CSRF check
    half_admin = make_browser()
    from careers.accounts.service import create_admin as make_admin

    await make_admin("half@careercenter.org", "correct horse battery")
    assert (await login(half_admin, "half@careercenter.org")).status_code == 303  # password only, no second factor

    before = await database_state()
    for who, client in (("coder", coder), ("employer", employer_browser), ("anonymous", anonymous),
                        ("admin without second factor", half_admin)):
        for method, path in routes:
            if who == "admin without second factor" and path.startswith("/admin/2fa"):
                continue  # the second-factor pages are exactly what this session may see
            url = concrete(path, ids, waiting.id)
            if method == "GET":
                response = await client.get(url)
            else:
                data = dict(FORM, _csrf_token=client.cookies.get("cc_csrf"))
                response = await client.request(method, url, data=data)
            assert response.status_code == 404, f"{who} {method} {url} -> {response.status_code}"
    assert await database_state() == before

    # the same walk's GET pages do answer a fully signed-in admin
    admin = make_browser()
    await create_admin(admin)
    for method, path in routes:
        if method == "GET" and "{" not in path:
            response = await admin.get(path)
            assert response.status_code in (200, 303), f"admin GET {path} -> {response.status_code}"
