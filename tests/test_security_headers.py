"""Security headers on every page: a Content-Security-Policy of our own origin only (plus the configured Stripe.js
origin where payment happens), nosniff, a Referrer-Policy, no framing; HSTS in production only.

Every GET route of the app is walked as an anonymous visitor, a coder, an employer and an admin (routes with an
object id get an id that may not exist: error pages are pages too).
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import httpx

from careers.app import create_app
from tests.billing_helpers import employer_with_draft, pay_page, start_order
from tests.conftest import Browser, create_admin, register_coder, register_employer

PLAIN_SOURCES = {"'self'", "'none'"}
REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


def directives(csp: str) -> dict[str, list[str]]:
    parsed = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            parsed[words[0].lower()] = words[1:]
    return parsed


def stripe_origin(settings) -> str:
    js = urlparse(settings.stripe_js_url)
    return f"{js.scheme}://{js.netloc}"


def get_paths(app) -> dict[str, bool]:
    """Every GET path (object ids filled in) -> whether its handler loads Stripe.js (opt={"stripe": True})."""
    paths = {}
    for route in app.routes:
        for handler in route.route_handlers:
            if "GET" not in handler.http_methods:
                continue
            path = re.sub(r"\{[^}:]+:int\}", "1", route.path)
            path = re.sub(r"\{[^}:]+:(str|path)\}", "style.css" if route.path.startswith("/static") else "x", path)
            paths[path] = bool(handler.opt.get("stripe"))
    # Answers of the router itself: no route (404), a POST-only route (405), an id that is not a number.
    paths.update({"/no-such-page": False, "/logout": False, "/jobs/not-a-number/x/y": False})
    return dict(sorted(paths.items()))


def assert_common_headers(response: httpx.Response, where: str) -> dict[str, list[str]]:
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") in REFERRER_POLICIES, (where, headers.get("referrer-policy"))
    csp = headers.get("content-security-policy")
    assert csp, f"{where}: no Content-Security-Policy"
    policy = directives(csp)
    assert policy.get("default-src") == ["'self'"], (where, csp)
    assert policy.get("frame-ancestors") == ["'none'"], (where, csp)
    assert policy.get("object-src") == ["'none'"], (where, csp)
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, (where, csp)
    assert "strict-transport-security" not in headers, f"{where}: HSTS outside production"
    return policy


async def people(make_browser) -> dict[str, Browser]:
    anonymous, coder, employer, admin = (make_browser() for _ in range(4))
    await register_coder(coder)
    await register_employer(employer)
    await create_admin(admin)
    return {"anonymous": anonymous, "coder": coder, "employer": employer, "admin": admin}


async def test_every_page_allows_only_our_own_origin_and_carries_nosniff_referrer_policy_and_no_framing(
        app, make_browser, settings):
    paths = get_paths(app)
    assert len(paths) > 50 and "/" in paths and "/admin/review" in paths
    assert [path for path, stripe in paths.items() if stripe] == ["/billing/orders/1/pay"]
    stripe = stripe_origin(settings)
    statuses = set()
    for role, client in (await people(make_browser)).items():
        for path, payment in paths.items():
            response = await client.get(path)
            statuses.add(response.status_code)
            where = f"GET {path} as {role} ({response.status_code})"
            policy = assert_common_headers(response, where)
            for name, sources in policy.items():
                allowed = PLAIN_SOURCES | ({"data:"} if name == "img-src" else set())
                if payment and name in ("script-src", "connect-src", "frame-src"):
                    allowed = allowed | {stripe}
                assert set(sources) <= allowed, f"{where}: {name} {' '.join(sources)} (only 'self' is allowed here)"
    assert {200, 303, 404, 405} <= statuses  # pages, redirects to log in and error pages alike


async def test_the_payment_page_adds_only_the_configured_stripe_js_origin(browser, settings):
    _, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    page = await pay_page(browser, order_id)
    policy = assert_common_headers(page, "the payment page")
    stripe = stripe_origin(settings)
    assert policy["script-src"] == ["'self'", stripe]
    assert policy["connect-src"] == ["'self'", stripe]
    assert policy["frame-src"] == [stripe]  # the emulator's stand-in; real Stripe adds hooks.stripe.com
    for name in ("default-src", "style-src", "img-src", "form-action", "base-uri"):
        assert stripe not in policy.get(name, []), (name, policy[name])
    # The order's status page (no Stripe.js) keeps the plain policy.
    status = await browser.get(f"/billing/orders/{order_id}")
    assert stripe not in status.headers["content-security-policy"]


async def test_live_stripe_keys_allow_stripe_frames_and_api_on_the_payment_page_only(settings, database):
    live = settings.replace(stripe_secret_key="sk_test_not_the_emulator", stripe_api_base="",
                            stripe_js_url="https://js.stripe.com/v3/")
    app = create_app(live)
    from careers.app import content_security_policy

    payment = directives(content_security_policy(live, stripe=True))
    assert payment["script-src"] == ["'self'", "https://js.stripe.com"]
    assert set(payment["frame-src"]) == {"https://js.stripe.com", "https://hooks.stripe.com"}
    assert set(payment["connect-src"]) == {"'self'", "https://js.stripe.com", "https://api.stripe.com"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        home = await client.get("/")
    assert "stripe.com" not in home.headers["content-security-policy"]


async def test_hsts_is_sent_in_production_only(settings, database):
    production = create_app(settings.replace(env="production", base_url="https://careers.example.org"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=production),
                                 base_url="https://careers.example.org") as client:
        for path in ("/healthz", "/", "/jobs", "/login", "/static/style.css", "/no-such-page"):
            response = await client.get(path)
            hsts = response.headers.get("strict-transport-security", "")
            match = re.search(r"max-age=(\d+)", hsts)
            assert match and int(match.group(1)) >= 180 * 24 * 3600, (path, hsts)
            assert response.headers.get("x-content-type-options") == "nosniff", path
            assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", ""), path
    development = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=development), base_url="http://testserver") as client:
        for path in ("/healthz", "/"):
            assert "strict-transport-security" not in (await client.get(path)).headers, path
