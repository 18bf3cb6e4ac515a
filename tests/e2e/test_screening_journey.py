"""Screener questions in a real browser (issue 19): an employer asks must-meet questions in the posting form, a coder
answers them on the listing page, sees the verdict and applies; another coder who skips them is screened out and
mailed; the employer filters applicants by an answer and by "screened out"."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import in_browser_thread, save_screenshot
from tests.e2e.people import coder_with_profile, confirm_email, mail_text, publish_without_payment, register_employer

pytestmark = pytest.mark.browser

TITLE = "Inpatient DRG Coder (CCS)"
YEARS_Q = "How many years of inpatient ICD-10-PCS coding do you have?"
ENCODERS_Q = "Which encoders and EHRs have you coded in?"


def _post_job_with_questions(page) -> int:
    page.goto("/employer/listings/new")
    expect(page.get_by_role("heading", name="Post a job")).to_be_visible()
    page.get_by_label("Job title").fill(TITLE)
    page.get_by_label("Description").fill("Code inpatient charts with 3M or Epic. 95% accuracy.")
    page.get_by_label("Employment type").select_option(label="Full time")
    page.get_by_label("Required credentials").select_option("CCS")
    page.get_by_role("group", name=re.compile("Work mode")).get_by_label("Remote", exact=True).check()
    page.get_by_label("Lowest pay in dollars").fill("30")
    page.get_by_label("Highest pay in dollars").fill("38")
    page.get_by_label("Pay is").select_option(label="per hour")
    first, second = page.locator("details.screening-question").nth(0), page.locator("details.screening-question").nth(1)
    first.get_by_label("Template", exact=True).select_option(label="Years of inpatient ICD-10-PCS coding")
    first.get_by_label(re.compile("^Must meet")).check()
    first.get_by_label(re.compile("^Number questions")).fill("2")
    second.get_by_text("Question 2").click()  # the rows after the first empty one are folded away
    second.get_by_label("Template", exact=True).select_option(label="Encoders and EHRs used")
    second.get_by_label(re.compile("^Must meet")).check()
    second.get_by_label(re.compile("^Yes/no and choice questions")).fill("3M, Epic")
    save_screenshot(page, "screening-form")
    page.get_by_role("button", name="Save draft").click()
    problem = page.locator(".error-summary")
    assert not problem.count(), f"the posting form refused the draft: {problem.inner_text()}"
    match = re.search(r"/employer/listings/(\d+)", page.url)
    assert match, page.url
    return int(match.group(1))


@in_browser_thread
def test_coder_answers_screener_questions_sees_the_verdict_applies_and_employer_filters_by_an_answer(browsers):
    employer = register_employer(browsers, "Lakeview Hospital", "https://lakeviewhospital.org", "Lee Recruiter",
                                 "lee@lakeviewhospital.org")
    confirm_email(browsers, employer, "lee@lakeviewhospital.org")
    listing_id = _post_job_with_questions(employer)
    publish_without_payment(browsers, listing_id)

    # A coder answers on the listing page, sees the verdict change, then applies.
    coder = coder_with_profile(browsers, "Dana Drg", "dana@codermail.org", "dana-drg")
    coder.goto(f"/jobs/{listing_id}")
    verdict = coder.locator("#screening-verdict")
    expect(verdict.get_by_text("Not answered yet")).to_have_count(2)
    expect(verdict.get_by_text("You would be screened out")).to_be_visible()
    coder.get_by_label(re.compile(re.escape(YEARS_Q))).fill("4")
    coder.get_by_role("group", name=re.compile(re.escape(ENCODERS_Q))).get_by_label("Epic").check()
    coder.get_by_role("button", name="Save my answers and check").click()
    expect(coder.get_by_text("Your answers are saved. You meet every must-meet question.")).to_be_visible()
    expect(verdict.get_by_text("Meets", exact=False)).to_have_count(2)
    expect(coder.get_by_label(re.compile(re.escape(YEARS_Q)))).to_have_value("4")  # prefilled from the profile
    save_screenshot(coder, "screening-coder")
    coder.get_by_role("button", name="Apply with my profile").click()
    expect(coder.get_by_text(f"Your application to “{TITLE}” is sent.", exact=False)).to_be_visible()

    # Another coder applies without answering: screened out at once, with one mail saying why.
    other = coder_with_profile(browsers, "Rory Rush", "rory@codermail.org", "rory-rush")
    other.goto(f"/jobs/{listing_id}")
    expect(other.get_by_text("You would be screened out")).to_be_visible()
    other.get_by_role("button", name="Apply with my profile").click()
    expect(other.get_by_text("it is marked “Not selected”", exact=False)).to_be_visible()
    assert "This employer requires" in mail_text(browsers, "rory@codermail.org", "This employer requires more")

    # The employer filters by an answer, then by "screened out".
    employer.goto(f"/employer/listings/{listing_id}/applicants")
    employer.get_by_label("Answer", exact=True).select_option(label=f"{ENCODERS_Q} — Epic")
    employer.get_by_role("button", name="Show applicants").click()
    expect(employer.get_by_role("link", name="Dana Drg", exact=True)).to_be_visible()
    expect(employer.get_by_role("link", name="Rory Rush", exact=True)).to_have_count(0)
    employer.get_by_label("Answer", exact=True).select_option(label="Any answer")
    employer.get_by_label("Screener questions").select_option(label="Screened out")
    employer.get_by_role("button", name="Show applicants").click()
    expect(employer.get_by_role("link", name="Rory Rush", exact=True)).to_be_visible()
    expect(employer.get_by_role("link", name="Dana Drg", exact=True)).to_have_count(0)
    save_screenshot(employer, "screening-employer")
