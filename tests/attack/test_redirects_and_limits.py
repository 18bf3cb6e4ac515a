"""Attack: open redirects through every `next=`, login brute force, and the session cookie's flags."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import httpx
import pyotp
import pytest

from careers.accounts.tables import User
from careers.app import create_app
from tests.conftest import Browser
from tests.reliability.conftest import PASSWORD, make_coders, make_employer, make_published, signed_in_browsers

HOSTILE_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "https:evil.example",
    "http://testserver@evil.example/",
    "javascript:alert(1)",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/%09/evil.example/",
    " //evil.example/",
    "\x00//evil.example/",
    "data:text/html,<script>alert(1)</script>",
]


def same_site(location: str) -> bool:
    """Where a browser would go from http://testserver/ (it strips tabs and newlines first, as WHATWG URL does)."""
    cleaned = re.sub(r"[\t\n\r]", "", location)
    if cleaned.startswith(("//", "/\\", "\\")) or not cleaned.startswith("/"):
        return False
    target = urlparse(urljoin("http://testserver/", cleaned))
    return target.scheme == "http" and target.netloc == "testserver"


class _Hidden(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""


def hidden_next(html: str) -> str:
    parser = _Hidden()
    parser.feed(html)
    return parser.values.get("next", "")


async def test_login_never_redirects_off_site_whatever_next_says(make_browser):
    [coder_id] = await make_coders(1, "redirect")
    for target in HOSTILE_NEXT:
        browser = make_browser()
        page = await browser.get("/login", params={"next": target})
        assert page.status_code == 200
        kept = hidden_next(page.text)
        assert kept == "" or same_site(kept), f"login form keeps next={kept!r} for {target!r}"
        response = await browser.submit("/login", {"email": "redirect0@example.org", "password": PASSWORD,
                                                  "next": target})
        assert response.status_code == 303, response.text[:300]
        assert same_site(response.headers["location"]), f"{target!r} -> {response.headers['location']!r}"
    # and a same-site next is honoured
    browser = make_browser()
    response = await browser.submit("/login", {"email": "redirect0@example.org", "password": PASSWORD,
                                              "next": "/account/saved"})
    assert response.headers["location"] == "/account/saved"


async def test_save_and_unsave_never_redirect_off_site(make_browser, settings):
    employer_id, _ = await make_employer("Redirect Health")
    listing = await make_published(employer_id, "Redirect coder")
    [coder_id] = await make_coders(1, "saver")
    [browser] = await signed_in_browsers(make_browser, [coder_id], settings)
    for target in HOSTILE_NEXT:
        for action in ("save", "unsave"):
            response = await browser.post(f"/jobs/{listing}/{action}",
                                          data={"next": target, "_csrf_token": browser.csrf})
            assert response.status_code == 303
            assert same_site(response.headers["location"]), f"{action} {target!r} -> {response.headers['location']!r}"


async def test_the_admin_second_step_never_redirects_off_site(make_browser, settings):
    from careers.accounts import service as accounts

    secret = pyotp.random_base32()
    admin = await accounts.create_admin("redirect-admin@careercenter.org", PASSWORD)
    await User.update({User.totp_secret_sealed: accounts.seal_totp_secret(secret, settings)}).where(User.id == admin.id)
    browser = make_browser()
    await browser.get("/login")
    browser.cookies.set("cc_session", await accounts.start_session(admin.id, settings, second_factor_ok=False))
    for target in HOSTILE_NEXT:
        page = await browser.get("/admin/2fa", params={"next": target})
        assert page.status_code == 200
        kept = hidden_next(page.text)
        assert same_site(kept), f"2FA form keeps next={kept!r} for {target!r}"
        wrong = await browser.submit("/admin/2fa", {"code": "000000", "next": target})
        assert wrong.status_code in (400, 429) and same_site(hidden_next(wrong.text) or "/admin")
    response = await browser.submit("/admin/2fa", {"code": pyotp.TOTP(secret).now(), "next": "//evil.example/"})
    assert response.status_code == 303 and same_site(response.headers["location"]), response.headers.get("location")


# ---- login brute force --------------------------------------------------------------------------------------


@pytest.fixture
def strict_app(frozen_clock, settings, database):
    """The app with the production-like login limits of the settings' defaults, scaled down for speed."""
    return create_app(settings.replace(login_rate=(8, 300), login_account_rate=(5, 900)))


async def test_guessing_one_accounts_password_hits_the_rate_limit_and_then_even_the_right_password_waits(strict_app):
    await make_coders(1, "victim")
    async with Browser(transport=httpx.ASGITransport(app=strict_app), base_url="http://testserver") as attacker:
        answers = [(await attacker.submit("/login", {"email": "victim0@example.org", "password": f"guess-{n}-xyz"}))
                   .status_code for n in range(7)]
        assert answers[:5] == [400] * 5 and answers[5:] == [429, 429], answers
        right = await attacker.submit("/login", {"email": "victim0@example.org", "password": PASSWORD})
        assert right.status_code == 429 and "cc_session" not in right.cookies


async def test_spraying_many_accounts_from_one_address_hits_the_address_limit_whatever_headers_say(strict_app):
    async with Browser(transport=httpx.ASGITransport(app=strict_app), base_url="http://testserver") as attacker:
        answers = []
        for n in range(10):
            response = await attacker.submit("/login", {"email": f"someone{n}@example.org", "password": "guess-xyz-1"})
            answers.append(response.status_code)
            attacker.headers["X-Forwarded-For"] = f"203.0.113.{n}"  # rotating a spoofable header changes nothing
        assert answers[:8] == [400] * 8 and answers[8:] == [429, 429], answers


# ---- the session cookie ------------------------------------------------------------------------------------


def set_cookie(response: httpx.Response, name: str) -> str:
    headers = [v for k, v in response.headers.multi_items() if k.lower() == "set-cookie" and v.startswith(name + "=")]
    assert headers, f"no Set-Cookie for {name}"
    return headers[-1]


@pytest.mark.parametrize("production", [False, True])
async def test_session_cookie_is_httponly_lax_and_secure_in_production(settings, database, production):
    own = settings.replace(env="production", base_url="https://careers.example") if production else settings
    await make_coders(1, "cookie")
    app = create_app(own)
    base = "https://careers.example" if production else "http://testserver"
    async with Browser(transport=httpx.ASGITransport(app=app), base_url=base) as browser:
        await browser.get("/login")
        browser.cookies.set("cc_session", "planted-by-an-attacker")
        response = await browser.submit("/login", {"email": "cookie0@example.org", "password": PASSWORD})
        assert response.status_code == 303
        header = set_cookie(response, "cc_session")
        flags = {part.strip().lower() for part in header.split(";")[1:]}
        assert "httponly" in flags and "samesite=lax" in flags and "path=/" in flags
        assert ("secure" in flags) is production
        token = header.split(";")[0].split("=", 1)[1]
        assert token != "planted-by-an-attacker" and len(token) >= 32  # a fresh id at login: no fixation
        csrf = set_cookie(await Browser(transport=httpx.ASGITransport(app=app), base_url=base).get("/login"), "cc_csrf")
        assert ("secure" in csrf.lower()) is production
        # Logging out ends the session on the server: the old cookie is worthless afterwards.
        browser.cookies.set("cc_session", token)
        assert (await browser.get("/account")).status_code == 200
        await browser.submit("/logout", {})
        thief = Browser(transport=httpx.ASGITransport(app=app), base_url=base)
        thief.cookies.set("cc_session", token)
        stolen = await thief.get("/account")
        assert stolen.status_code == 303 and stolen.headers["location"].startswith("/login")


async def test_an_expired_session_is_refused(make_browser, settings):
    from careers.accounts import service as accounts
    from careers.accounts.tables import Session

    [coder_id] = await make_coders(1, "expired")
    token = await accounts.start_session(coder_id, settings, second_factor_ok=True)
    await Session.update({Session.expires_at: dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)}).where(
        Session.user == coder_id)
    browser = make_browser()
    browser.cookies.set("cc_session", token)
    response = await browser.get("/account")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
