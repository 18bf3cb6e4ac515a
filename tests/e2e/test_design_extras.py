"""The design's enhancements in a real browser: the posting form's live preview follows what the employer types,
and one-click apply on a results card swaps in place with htmx (the no-JavaScript path is a plain POST,
tests/test_one_click_apply.py)."""

from __future__ import annotations

import sqlite3

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import in_browser_thread

pytestmark = pytest.mark.browser


@in_browser_thread
def test_the_posting_preview_follows_the_form(browsers, demo_board):
    page = browsers.page(storage_state=browsers.people["demo-employer"])
    page.goto(demo_board["listing_form"])
    preview = page.locator("#posting-preview")
    expect(preview.locator("h3")).to_have_text("Job title")
    page.get_by_label("Job title").fill("Remote Cardiology Coder (CPC)")
    page.get_by_label("Hybrid").check()
    page.get_by_label("Lowest pay in dollars").fill("24")
    page.get_by_label("Pay is").select_option("year")
    expect(preview.locator("h3")).to_have_text("Remote Cardiology Coder (CPC)")
    expect(preview.locator('[data-preview="work_mode"]')).to_have_text("Hybrid")
    expect(preview.locator('[data-preview="pay_min"]')).to_have_text("24")
    expect(preview.locator('[data-preview="pay_unit"]')).to_have_text("per year")


@in_browser_thread
def test_one_click_apply_from_a_results_card_swaps_in_place(browsers, demo_board):
    page = browsers.page(storage_state=browsers.people["demo-coder"])  # a complete profile with a resume
    page.goto("/jobs?credential=CPC")
    form = page.locator("#results form.apply-form").last  # not the first result: other checks look at it
    form_id = form.get_attribute("id")
    url = page.url
    form.get_by_role("button", name="Apply now").click()
    applied = page.locator(f"#{form_id}")
    expect(applied).to_contain_text("Applied")
    expect(applied).to_have_attribute("href", "/account/applications")
    assert page.url == url  # no reload, no navigation


@in_browser_thread
def test_a_refused_one_click_apply_says_why_in_place_of_the_button(browsers, demo_board, site):
    """The job closed after the results showed it: htmx swaps the 400 answer's reason in (static/app.js)."""
    page = browsers.page(storage_state=browsers.people["demo-coder"])
    page.goto("/jobs?credential=CPC")
    form = page.locator("#results form.apply-form").first
    form_id = form.get_attribute("id")
    listing_id = int(form_id.removeprefix("apply-"))
    database = sqlite3.connect(site.data_dir / "careers.sqlite3")
    try:
        with database:  # closed behind the page's back, as if the employer had closed it a second ago
            database.execute("UPDATE listings SET status = 'closed' WHERE id = ?", (listing_id,))
        url = page.url
        form.get_by_role("button", name="Apply now").click()
        notice = page.locator(f"#{form_id}")
        expect(notice).to_contain_text("It no longer accepts applications.")
        expect(notice).to_have_attribute("role", "alert")
        assert page.url == url
    finally:
        with database:  # the other demo-board checks see the board as seeded
            database.execute("UPDATE listings SET status = 'published' WHERE id = ?", (listing_id,))
        database.close()
