"""What every page shares: the header for each role, flash messages, the skip link, a label on every field,
a CSRF token in every form, friendly error pages, JSON errors under /api/, no traceback outside development."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
from litestar import get

from careers.app import CSRF_EXEMPT, create_app
from tests.conftest import create_admin, login, register_coder, register_employer
from tests.test_security_headers import get_paths

UNLABELLED_TYPES = {"hidden", "submit", "button", "image", "reset"}


class PageParts(HTMLParser):
    """Links, fields with their labels, and forms with their hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.fields: list[tuple[str, dict, bool]] = []  # (tag, attrs, inside a <label>)
        self.forms: list[dict] = []
        self._label_depth = 0
        self._form: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and "href" in attrs:
            self.links.append(attrs["href"])
        elif tag == "label":
            self._label_depth += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag == "form":
            self._form = {"method": attrs.get("method", "get").lower(), "action": attrs.get("action", ""), "hidden": set()}
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and attrs.get("type", "text").lower() == "hidden":
                if self._form is not None:
                    self._form["hidden"].add(attrs.get("name", ""))
                return
            if tag == "input" and attrs.get("type", "text").lower() in UNLABELLED_TYPES:
                return
            self.fields.append((tag, attrs, self._label_depth > 0))

    def handle_endtag(self, tag):
        if tag == "label" and self._label_depth:
            self._label_depth -= 1
        elif tag == "form":
            self._form = None

    def unlabelled(self) -> list[str]:
        missing = []
        for tag, attrs, wrapped in self.fields:
            if wrapped or attrs.get("aria-label") or attrs.get("aria-labelledby"):
                continue
            if attrs.get("id") and attrs["id"] in self.label_for:
                continue
            missing.append(f"<{tag} name={attrs.get('name')!r} id={attrs.get('id')!r}>")
        return missing


def parts(html: str) -> PageParts:
    parser = PageParts()
    parser.feed(html)
    return parser


async def people(make_browser) -> dict:
    anonymous, coder, employer, admin = (make_browser() for _ in range(4))
    await register_coder(coder)
    await register_employer(employer)
    await create_admin(admin)
    return {"anonymous": anonymous, "coder": coder, "employer": employer, "admin": admin}


# ---- the header ----------------------------------------------------------------------------------------------


async def test_the_header_links_fit_each_role_and_every_page_has_a_skip_link(make_browser):
    expected = {
        "anonymous": ({"/jobs", "/login", "/register"}, {"/account", "/employer", "/admin"}),
        "coder": ({"/jobs", "/account", "/account/profile", "/account/applications"}, {"/login", "/employer", "/admin"}),
        "employer": ({"/jobs", "/employer", "/employer/organisation", "/employer/team"}, {"/login", "/admin",
                                                                                        "/account/profile"}),
        "admin": ({"/jobs", "/admin"}, {"/login", "/employer", "/account/profile"}),
    }
    for role, client in (await people(make_browser)).items():
        page = await client.get("/")
        header = page.text.split('<main id="main"')[0]
        links = set(parts(header).links)
        present, absent = expected[role]
        assert present <= links, (role, present - links)
        assert not absent & links, (role, absent & links)
        logout_forms = [f for f in parts(header).forms if f["action"] == "/logout"]
        assert bool(logout_forms) == (role != "anonymous"), role
        body = page.text.split("<body>", 1)[1].lstrip()
        assert body.startswith('<a class="skip-link" href="#main">Skip to content</a>'), role
        assert "main" in parts(page.text).ids


async def test_a_flash_message_shows_once_on_the_next_page(browser):
    await register_coder(browser, "flash@example.org")
    await browser.submit("/logout")
    response = await login(browser, "flash@example.org")
    assert response.status_code == 303
    first = await browser.get(response.headers["location"])
    assert 'class="flash flash-info" role="status">You are logged in.</p>' in first.text
    again = await browser.get(response.headers["location"])
    assert "You are logged in." not in again.text


# ---- every form on every page ------------------------------------------------------------------------------------


async def test_every_field_on_every_page_has_a_label_and_every_post_form_a_csrf_token(app, make_browser):
    from tests.test_listings import post_listing

    everyone = await people(make_browser)
    listing_id = await post_listing(everyone["employer"])
    paths = [p for p in get_paths(app) if "/1" not in p and not p.startswith("/static")]
    extra = {"employer": [f"/employer/listings/{listing_id}", f"/employer/listings/{listing_id}/edit",
                          f"/employer/listings/{listing_id}/preview"]}
    checked_fields = 0
    for role, client in everyone.items():
        for path in paths + extra.get(role, []):
            response = await client.get(path)
            if "text/html" not in response.headers.get("content-type", ""):
                continue
            page = parts(response.text)
            where = f"GET {path} as {role}"
            assert page.unlabelled() == [], where
            checked_fields += len(page.fields)
            for form in page.forms:
                if form["method"] == "post" and form["action"] not in CSRF_EXEMPT:
                    assert "_csrf_token" in form["hidden"], f"{where}: form to {form['action'] or 'itself'}"
    assert checked_fields > 100  # the walk really saw the forms (login, register, posting, profile, ...)


# ---- errors -----------------------------------------------------------------------------------------------------


def _app_that_fails(settings):
    @get("/boom", include_in_schema=False)
    async def boom() -> str:
        raise RuntimeError("secret-internal-detail in /srv/careers/thing.py")

    @get("/api/v1/boom", include_in_schema=False)
    async def api_boom() -> str:
        raise RuntimeError("secret-internal-detail in /srv/careers/thing.py")

    app = create_app(settings)
    app.register(boom)
    app.register(api_boom)
    return app


async def test_pages_get_friendly_html_errors_and_the_api_gets_json_errors(browser):
    missing = await browser.get("/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in missing.text and 'href="/"' in missing.text
    assert 'class="skip-link"' in missing.text  # the site's own layout, not a bare server page

    await register_coder(browser, "forbidden@example.org")
    assert (await browser.get("/employer")).status_code == 404  # another role's dashboard is hidden, not refused

    for path in ("/api/v1/listings/999999", "/api/v1/no-such-endpoint"):
        response = await browser.get(path)
        assert response.status_code == 404 and response.headers["content-type"].startswith("application/json"), path
        body = response.json()
        assert set(body) == {"error", "detail", "fields"}, path
        assert body["error"] == "Page not found" and isinstance(body["detail"], str) and body["fields"] == {}

    refused = await browser.post("/login", data={"email": "a@example.org", "password": "x"})
    assert refused.status_code == 403 and "<h1>Forbidden</h1>" in refused.text


async def test_a_500_never_shows_a_traceback_outside_development(settings, database):
    for env in ("production", "test"):
        app = _app_that_fails(settings.replace(env=env, base_url="https://careers.example.org"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="https://careers.example.org") as client:
            page = await client.get("/boom")
            api = await client.get("/api/v1/boom")
        assert page.status_code == 500 and "<h1>Something went wrong</h1>" in page.text, env
        assert api.status_code == 500 and set(api.json()) == {"error", "detail", "fields"}, env
        for response in (page, api):
            assert "secret-internal-detail" not in response.text and "Traceback" not in response.text, env
            assert not re.search(r"File \"[^\"]+\", line \d+", response.text), env

    development = _app_that_fails(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=development, raise_app_exceptions=False),
                                 base_url="http://testserver") as client:
        page = await client.get("/boom")
    assert page.status_code == 500 and "secret-internal-detail" in page.text  # developers see what broke
