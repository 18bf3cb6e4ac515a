"""Live listings on the demo board (issue 18), in a real browser. `careers seed-demo` leaves Mercy Ridge Health
with listings due for reconfirmation (16 days and more), one paused at 23 days and one expired two days ago. Its
employer confirms one from the dashboard button and sees "Confirmed active today"; the mails' one-time links
(reconfirm, "how did it end?") open pages with one button per answer that pass the accessibility check at both
widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import in_browser_thread, save_screenshot
from tests.e2e.demo import log_in
from tests.e2e.people import mail_link
from tests.e2e.test_accessibility import look_at

pytestmark = pytest.mark.browser

MERCY_RIDGE = "hr@mercyridge.example.com"  # listings/liveness/demo.py: its three listings show the three states
CONFIRM = "Confirm it's still open"


def _listings(page):
    """The dashboard's listing entries, whether a table row or a card."""
    return page.get_by_role("row").or_(page.get_by_role("article"))


@in_browser_thread
def test_employer_confirms_a_listing_is_still_open_from_the_dashboard(browsers, demo_board):
    page = log_in(browsers, MERCY_RIDGE)
    page.goto("/employer")
    due = _listings(page).filter(has=page.get_by_role("button", name=CONFIRM)).filter(
        has_not=page.get_by_text("Paused", exact=False)).first  # DEMO-009 and others published 14+ days ago
    link = due.get_by_role("link").first
    title, manage = link.inner_text(), link.get_attribute("href")
    save_screenshot(page, "trust-dashboard-due")
    due.get_by_role("button", name=CONFIRM).click()
    expect(page.get_by_text(f"“{title}” is confirmed active today.")).to_be_visible()
    entry = _listings(page).filter(has=page.locator(f'a[href="{manage}"]'))  # demo titles repeat; its address does not
    expect(entry.get_by_role("button", name=CONFIRM)).to_have_count(0)
    # The paused ones (DEMO-017 and the ghost-risk listing) still ask, with their label.
    paused = _listings(page).filter(has=page.get_by_text("Paused — confirm it's still open"))
    expect(paused).to_have_count(2)
    expect(paused.get_by_role("button", name=CONFIRM)).to_have_count(2)
    save_screenshot(page, "trust-dashboard-confirmed")
    page.goto(manage)
    expect(page.get_by_role("region", name="Still open?").get_by_text("Confirmed active today.", exact=False)).to_be_visible()


@in_browser_thread
def test_the_reminder_mails_one_time_link_opens_an_accessible_page_with_one_button(browsers, demo_board):
    # The worker's live-listing pass runs every minute; the deadline allows for a busy machine.
    link = mail_link(browsers, MERCY_RIDGE, "still open?", "/listings/reconfirm", timeout=150)
    page = browsers.page(bypass_csp=True)
    page.goto(link)
    look_at(page, "listing-reconfirm", re.compile(r"^Is “.+” still open\?$"))
    expect(page.get_by_role("main").get_by_role("button")).to_have_count(1)  # one answer, nothing else to choose
    expect(page.get_by_role("button", name="Yes, it is still open")).to_be_visible()


@in_browser_thread
def test_the_expiry_mails_one_time_link_asks_how_the_job_ended_on_an_accessible_page(browsers, demo_board):
    link = mail_link(browsers, MERCY_RIDGE, "how did it end?", "/listings/ended", timeout=150)
    page = browsers.page(bypass_csp=True)
    page.goto(link)
    look_at(page, "listing-ended", re.compile(r"^How did “.+” end\?$"))
    answers = page.get_by_role("list", name="How it ended")
    expect(answers.get_by_role("button")).to_have_count(4)
    answers.get_by_role("button", name="Hired through CareerCenter").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    expect(page.get_by_text("Your answer is saved.", exact=False)).to_be_visible()
