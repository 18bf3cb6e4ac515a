"""Trust where a person sees it (issue 18), in a real browser: a coder sends a credential for verification, an admin
approves it, the employer sees "Verified" on the applicant and filters on it; a coder turns a kind of mail off and
the page keeps it. (The dashboard's reconfirm button needs a listing 14 days old: test_trust_demo.py, on the demo
board.)"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import in_browser_thread, save_screenshot
from tests.e2e.people import (
    coder_with_profile,
    confirm_email,
    post_job,
    publish_without_payment,
    register_coder,
    register_employer,
)

pytestmark = pytest.mark.browser

TITLE = "Pro-fee Coder (CPC), verified applicants"


def _apply(coder, listing_id: int) -> None:
    coder.goto(f"/jobs/{listing_id}")
    coder.get_by_role("button", name="Apply with my profile").click()
    expect(coder.get_by_text(f"Your application to “{TITLE}” is sent.", exact=False)).to_be_visible()


@in_browser_thread
def test_a_credential_verified_by_an_admin_shows_to_the_employer_and_can_be_filtered_on(browsers):
    employer = register_employer(browsers, "Riverbend Clinic", "https://riverbendclinic.org", "Ria Hiring",
                                 "ria@riverbendclinic.org")
    confirm_email(browsers, employer, "ria@riverbendclinic.org")
    listing_id = post_job(employer, title=TITLE, description="Code E/M visits with CPT and ICD-10-CM.",
                          credential="CPC", work_mode="Remote", pay=("28", "34"))
    publish_without_payment(browsers, listing_id)

    # The coder enters the certificate number and expiry, then applies; a second coder applies unverified.
    coder = coder_with_profile(browsers, "Vera Verified", "vera@codermail.org", "vera-verified", credential="CPC")
    coder.goto("/account/credentials")
    expect(coder.get_by_role("heading", level=1, name="Your credentials")).to_be_visible()
    card = coder.get_by_role("region", name=re.compile(r"^CPC — "))
    card.get_by_label(re.compile(r"^Member or certificate number")).fill("01234567")
    card.get_by_label(re.compile(r"^Expiry date")).fill("2028-12-31")
    card.get_by_role("button", name="Send for verification").click()
    expect(coder.get_by_text("Your CPC is sent for verification.")).to_be_visible()
    expect(card.get_by_text("Number 01234567", exact=False)).to_be_visible()
    _apply(coder, listing_id)
    other = coder_with_profile(browsers, "Una Unverified", "una@codermail.org", "una-unverified", credential="CPC")
    _apply(other, listing_id)

    # An admin checks the number against the registry link and approves it.
    admin = browsers.admin_page()
    admin.goto("/admin/credentials")
    expect(admin.get_by_role("heading", level=1, name="Credential verification")).to_be_visible()
    check = admin.get_by_role("region", name="CPC — Vera Verified")
    expect(check.get_by_text("01234567")).to_be_visible()
    expect(check.get_by_role("link", name=re.compile("registry"))).to_have_attribute("href", re.compile(r"^https://"))
    save_screenshot(admin, "trust-admin-credentials")
    check.get_by_role("button", name="Approve: the registry shows it").click()
    expect(admin.get_by_text("CPC verified.")).to_be_visible()
    expect(admin.get_by_role("region", name="CPC — Vera Verified")).to_have_count(0)
    admin.goto("/admin/audit")
    expect(admin.get_by_text("credential verified").first).to_be_visible()

    # The coder sees the badge; the employer sees "Verified" on the applicant and filters on it.
    coder.goto("/account/credentials")
    expect(coder.get_by_role("region", name=re.compile(r"^CPC — ")).get_by_text("Verified", exact=True)).to_be_visible()
    employer.goto(f"/employer/listings/{listing_id}/applicants")
    vera = employer.get_by_role("row").filter(has=employer.get_by_role("link", name="Vera Verified", exact=True))
    expect(vera.get_by_text("Verified: CPC")).to_be_visible()
    una = employer.get_by_role("row").filter(has=employer.get_by_role("link", name="Una Unverified", exact=True))
    expect(una.get_by_text(re.compile("Verified"))).to_have_count(0)
    employer.get_by_label("Credential match").select_option(label="Verified credentials only")
    employer.get_by_role("button", name="Show applicants").click()
    expect(employer.get_by_role("link", name="Vera Verified", exact=True)).to_be_visible()
    expect(employer.get_by_role("link", name="Una Unverified", exact=True)).to_have_count(0)
    save_screenshot(employer, "trust-verified-applicants")
    employer.get_by_role("link", name="Vera Verified", exact=True).click()
    expect(employer.get_by_text("Verified", exact=True).first).to_be_visible()


@in_browser_thread
def test_a_coder_turns_a_kind_of_mail_off_and_the_page_keeps_it(browsers):
    page = register_coder(browsers, "Mel Mailwise", "mel@codermail.org")
    confirm_email(browsers, page, "mel@codermail.org")
    page.goto("/account/mail")
    expect(page.get_by_role("heading", level=1, name="Mail preferences")).to_be_visible()
    notices = page.get_by_label(re.compile(r"^No-response notices"))
    digests = page.get_by_label(re.compile(r"^Job alert digests"))
    expect(notices).to_be_checked()  # every kind is on until the person turns it off
    notices.uncheck()
    page.get_by_role("button", name="Save mail preferences").click()
    expect(page.get_by_text("Your mail preferences are saved.")).to_be_visible()
    page.goto("/account/mail")  # a fresh load: the choice is kept, not just left in the form
    expect(page.get_by_label(re.compile(r"^No-response notices"))).not_to_be_checked()
    expect(digests).to_be_checked()
    expect(page.get_by_label(re.compile(r"^Credential expiry reminders"))).to_be_checked()
