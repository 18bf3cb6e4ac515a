"""Attack: cross-site request forgery on every unsafe route, walked from the app's own route table.

Each POST/PUT/PATCH/DELETE is sent by the person it would act for (so a missing check would
act), once without a token and once with a forged one. Only the Stripe webhook (signature) and
the one-click unsubscribe (RFC 8058, token in the body) are exempt, and nothing changes.
"""

from __future__ import annotations

from tests.attack.conftest import UNSAFE, app_routes, changed_tables, database_fingerprint, fill

EXEMPT = {"/billing/stripe/webhook", "/alerts/unsubscribe"}


def path_values(world) -> dict:
    return {"listing_id": world.listing_a, "application_id": world.application_a, "alert_id": world.alert_a,
            "order_id": world.order_a, "invite_id": world.invite_a, "member_id": world.member_a,
            "employer_id": world.employer_a.employer_id, "plan_id": world.plan_id, "row_id": world.outbox_row,
            "handle": world.handle_a, "slug": world.employer_slug_a, "code": "cpc", "st": "tx",
            "file_path": "style.css", "path": "openapi.json", "check_id": 1, "user_id": world.coder_a.user_id}


def actor(world, path: str):
    if path.startswith(("/employer", "/billing")):
        return world.employer_a.browser
    if path.startswith("/admin"):
        return world.admin.browser
    if path.startswith(("/login", "/register", "/password")):
        return world.anonymous
    return world.coder_a.browser


async def test_every_unsafe_route_refuses_a_request_without_a_valid_csrf_token_and_changes_nothing(world, app):
    unsafe = [(m, p) for m, p in app_routes(app) if m in UNSAFE]
    assert len(unsafe) > 40, f"the route walk found only {len(unsafe)} unsafe routes"
    values = path_values(world)
    before = await database_fingerprint()
    wrong = []
    for method, template in unsafe:
        url = fill(template, values)
        browser = actor(world, template)
        assert "cc_csrf" in browser.cookies
        for data in ({"reason": "forged"}, {"reason": "forged", "_csrf_token": "forged-token"}):
            response = await browser.request(method, url, data=data)
            if template in EXEMPT:
                if response.status_code == 403 or response.status_code >= 500:
                    wrong.append(f"{method} {url}: {response.status_code} (exempt route)")
            elif response.status_code != 403:
                wrong.append(f"{method} {url} {sorted(data)}: {response.status_code}")
        forged_header = await browser.request(method, url, data={"reason": "forged"},
                                              headers={"X-CSRFToken": "forged-token"})
        if template not in EXEMPT and forged_header.status_code != 403:
            wrong.append(f"{method} {url} (forged header): {forged_header.status_code}")
    assert wrong == []
    assert changed_tables(before, await database_fingerprint()) == []
    assert EXEMPT <= {p for _, p in unsafe}, "an exempt route no longer exists: update CSRF_EXEMPT"


async def test_the_exempt_routes_are_exactly_the_webhook_and_one_click_unsubscribe():
    from careers.app import CSRF_EXEMPT

    assert set(CSRF_EXEMPT) == EXEMPT


async def test_a_valid_token_from_one_browser_does_not_work_with_another_browsers_cookie(world):
    """The double-submit token must match this browser's own cookie: a token read from elsewhere is useless."""
    attacker_token = world.coder_b.browser.cookies["cc_csrf"]
    victim = world.coder_a.browser
    if victim.cookies["cc_csrf"] == attacker_token:  # the world shares one cookie only when made that way
        victim.cookies.delete("cc_csrf")
        await victim.get("/login")
    before = await database_fingerprint()
    response = await victim.post(f"/account/alerts/{world.alert_a}/delete", data={"_csrf_token": attacker_token})
    assert response.status_code == 403
    assert changed_tables(before, await database_fingerprint()) == []


async def test_the_read_only_api_is_the_only_prefix_without_csrf_and_takes_no_unsafe_method(app):
    """/api/ answers skip the CSRF cookie (they take no form); an unsafe route there would go unprotected."""
    from careers.app import CSRF_EXEMPT_PREFIXES

    assert CSRF_EXEMPT_PREFIXES == ["/api/"]
    under = [(m, p) for m, p in app_routes(app) if p.startswith(tuple(CSRF_EXEMPT_PREFIXES))]
    assert any(p == "/api/v1/listings" for _, p in under), "the route walk no longer sees the API"
    assert [(m, p) for m, p in under if m in UNSAFE] == []


async def test_api_answers_carry_no_csrf_cookie_while_pages_still_set_one(browser):
    api = await browser.get("/api/v1/listings")
    assert api.status_code == 200 and "cc_csrf" not in api.headers.get("set-cookie", "")
    page = await browser.get("/jobs")
    assert page.status_code == 200 and "cc_csrf=" in page.headers.get("set-cookie", "")
