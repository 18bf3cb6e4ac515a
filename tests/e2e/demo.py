"""The demo board the accessibility, Lighthouse and no-JavaScript checks look at (the `demo_board` fixture in
conftest.py): `careers seed-demo` fills the board (employers, 120 listings, coders with applications), a demo
employer sends one listing to review and leaves another at the checkout, a demo coder applies once."""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from tests.conftest import skip_or_fail
from tests.e2e.conftest import AXE_JS, Browsers
from tests.e2e.people import pay_for_listing, post_job

DEMO_PASSWORD = "demo-password-2026"  # listings/commands.py, seed-demo
DEMO_EMPLOYER = "hr@lakesideortho.example.com"  # an unverified demo employer: its paid listing waits for review
DEMO_CODER = "coder01@demo.example.com"
APPLYING_CODER = "coder02@demo.example.com"  # applies once in the demo board, for the "apply done" page
REVIEW_TITLE = "Orthopedic Surgery Coder (CPC) — accessibility check"


def log_in(browsers: Browsers, email: str, password: str = DEMO_PASSWORD) -> Page:
    page = browsers.page(bypass_csp=True)
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    return page


def seed_demo_board(site, browser_thread) -> dict:
    """Seed the demo board once; sign in a demo employer and coder; put one listing in the review queue."""
    if not AXE_JS.is_file():
        reason = f"axe-core is not installed at {AXE_JS} (run `make install`; it needs npm)"
        if os.environ.get("CI") != "true":
            print(f"\nSKIPPED LOUDLY: {reason}", file=sys.stderr)
        skip_or_fail(reason)
    seeded = site.cli("seed-demo")
    assert seeded.returncode == 0, f"seed-demo failed:\n{seeded.stdout}\n{seeded.stderr}"

    def prepare() -> dict:
        browsers = browser_thread.browsers
        employer = log_in(browsers, DEMO_EMPLOYER)
        listing_id = post_job(employer, title=REVIEW_TITLE,
                              description="Code orthopedic surgery with CPT and ICD-10-CM; 95% accuracy.",
                              credential="CPC", work_mode="Hybrid", zip_code="60601", pay=("27", "33"))
        pay_for_listing(employer, listing_id)
        employer.goto("/employer")
        applicants = None
        for row in employer.get_by_role("region", name="Applicants", exact=True).get_by_role("row").all()[1:]:
            cells = row.get_by_role("cell").all_inner_texts()  # listing, views, apply clicks, applications, ...
            if int(cells[3]) > 0:
                applicants = row.get_by_role("link").get_attribute("href")
                break
        assert applicants, "no demo listing of this employer has applicants (seed-demo makes some)"
        browsers.remember("demo-employer", employer)
        coder = log_in(browsers, DEMO_CODER)
        browsers.remember("demo-coder", coder)
        coder.goto("/jobs?credential=CPC")
        listing = coder.locator("#results .job-card h3 a").first.get_attribute("href")
        payment = start_payment(employer)
        applying = log_in(browsers, APPLYING_CODER)
        browsers.remember("applying-coder", applying)
        apply_done = apply_somewhere(applying)
        browsers.close_contexts()
        manage = applicants.removesuffix("/applicants")  # a published listing of the demo employer
        return {"applicants": applicants, "listing": listing, "listing_form": "/employer/listings/new",
                "payment": payment, "apply_done": apply_done, "manage": manage, "listing_edit": manage + "/edit",
                "listing_preview": manage + "/preview"}

    return browser_thread.call(prepare)


def start_payment(employer: Page) -> str:
    """A second job, taken to the checkout and left there: the payment page's address."""
    listing_id = post_job(employer, title="Coding Auditor (CCS) — checkout check", description="Audit inpatient coding.",
                          credential="CCS", work_mode="Remote", pay=("30", "36"))
    employer.goto(f"/employer/listings/{listing_id}")
    employer.get_by_role("link", name="Publish: choose a plan").click()
    employer.get_by_label(re.compile(r"30 days — \$199\.00")).check()
    employer.get_by_role("button", name="Continue to payment").click()
    expect(employer.get_by_role("heading", name="Checkout")).to_be_visible()
    return urlsplit(employer.url).path


def apply_somewhere(coder: Page) -> str:
    """The coder applies to the first job they qualify for; the page that answers is the "apply done" page."""
    coder.goto("/jobs?qualified=true&sort=newest")
    return apply_to_a_result(coder)


def apply_to_a_result(coder: Page) -> str:
    """From a results page: open each result until one takes the application; the address of the answer."""
    links = coder.locator("#results .job-card h3 a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    for href in links:
        coder.goto(href)
        button = coder.get_by_role("button", name="Apply with my profile")
        if button.count():
            button.click()
            expect(coder.get_by_text("is sent. The employer has been told.")).to_be_visible()
            return urlsplit(coder.url).path
    raise AssertionError("the demo coder qualifies for no listing they may apply to")
