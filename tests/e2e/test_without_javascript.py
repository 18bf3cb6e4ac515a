"""Search → listing → apply with JavaScript switched off: every step is a plain link or form (htmx only enhances)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browsers, in_browser_thread
from tests.e2e.demo import DEMO_PASSWORD, apply_to_a_result

pytestmark = pytest.mark.browser

NO_JS_CODER = "coder03@demo.example.com"


@in_browser_thread
def test_search_listing_and_apply_work_without_javascript(browsers: Browsers, demo_board):
    context = browsers.browser.new_context(base_url=browsers.site.url, java_script_enabled=False,
                                           viewport={"width": 390, "height": 844})
    browsers.contexts.append(context)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Email address").fill(NO_JS_CODER)
    page.get_by_label(re.compile(r"^Password")).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()

    page.goto("/jobs")
    page.get_by_role("link", name=re.compile(r"^Filters")).click()  # the drawer opens by its anchor, no script
    page.locator("#filters").get_by_label("Only jobs I qualify for (from my profile)").check()
    page.locator("#filters").get_by_role("button", name="Show results").click()
    expect(page).to_have_url(re.compile(r"qualified=true"))
    apply_to_a_result(page)
    expect(page.get_by_role("heading", name="Your applications")).to_be_visible()
