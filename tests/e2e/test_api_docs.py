"""The API docs in Chromium: /schema renders the operations from our own /static under our CSP, with no violation."""

from __future__ import annotations

import os
import re
import sys

import pytest
from playwright.sync_api import expect

from careers.api_docs import SWAGGER_DIST
from careers.core.config import PROJECT_ROOT
from tests.conftest import skip_or_fail
from tests.e2e.conftest import in_browser_thread, save_screenshot

pytestmark = pytest.mark.browser

SWAGGER_JS = PROJECT_ROOT / SWAGGER_DIST.removeprefix("/") / "swagger-ui-bundle.js"
# Every violation the page reports, including ones Chromium would not print to the console.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


@pytest.fixture
def swagger_installed() -> None:
    if not SWAGGER_JS.is_file():
        reason = f"swagger-ui-dist is not installed at {SWAGGER_JS} (run `make install`; it needs npm)"
        if os.environ.get("CI") != "true":
            print(f"\nSKIPPED LOUDLY: {reason}", file=sys.stderr)
        skip_or_fail(reason)


@in_browser_thread
def test_swagger_ui_renders_the_api_operations_under_our_csp_without_a_violation(browsers, swagger_installed):
    page = browsers.page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.add_init_script(RECORD_VIOLATIONS)

    for path in ("/schema/swagger", "/schema"):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "script-src 'self';" in csp, (path, csp)
        expect(page.get_by_role("heading", name=re.compile("CareerCenter API"))).to_be_visible()
        expect(page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/listings$"))).to_be_visible()
        expect(page.get_by_text("/api/v1/listings/{listing_id}", exact=True)).to_be_visible()

    # Try an operation from the page: Swagger UI asks our own API (connect-src 'self').
    page.get_by_text("Search published listings").click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    expect(page.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("200")
    save_screenshot(page, "api-docs")

    violations = page.evaluate("window.__cspViolations")
    assert violations == [], violations
    blocked = [text for text in console if "Content Security Policy" in text]
    assert blocked == [], blocked
