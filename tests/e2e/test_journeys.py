"""The three journeys through a real browser, against a real `careers serve` (see conftest.py).

They run in file order and hand on what they made (`story`): the employer's listing is
the one the coder finds and applies to, and the employer then moves that application.
Each journey saves a screenshot of its last page in test-artifacts/<journey>.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import in_browser_thread, save_screenshot
from tests.e2e.people import (
    absent_from_search,
    approve,
    confirm_email,
    mail_link,
    pay_for_listing,
    post_job,
    register_coder,
    register_employer,
    review_item,
    search_until_found,
    tiny_pdf,
)

pytestmark = pytest.mark.browser

JOB_TITLE = "Outpatient Profee Coder (CPC)"
JOB_ZIP = "60601"  # Chicago Loop
CODER_ZIP = "60614"  # Lincoln Park, about 3 miles north
CODER_NAME = "Casey Coder"


@in_browser_thread
def test_employer_registers_posts_pays_and_the_approved_listing_is_live_and_searchable(browsers, story):
    employer = register_employer(browsers, "Lakeshore Coding Partners", "https://lakeshorecoding.org", "Hana Hire",
                                 "hana@lakeshorecoding.org")
    expect(employer.get_by_text("Confirm your email address before posting a job.")).to_be_visible()
    confirm_email(browsers, employer, "hana@lakeshorecoding.org")

    listing_id = post_job(
        employer, title=JOB_TITLE,
        description="Code professional fee E/M and outpatient procedures with CPT and ICD-10-CM in Epic. "
                    "95% accuracy, hybrid schedule: two days a week in our Chicago office.",
        credential="CPC", work_mode="Hybrid", zip_code=JOB_ZIP, pay=("26", "32"))
    expect(employer.get_by_text("Draft saved.", exact=False)).to_be_visible()
    expect(employer.get_by_text("Status: Draft")).to_be_visible()

    pay_for_listing(employer, listing_id)
    expect(employer.get_by_text(re.compile(r"is in review|We publish it after a check"))).to_be_visible()

    approve(browsers, JOB_TITLE)

    employer.goto(f"/employer/listings/{listing_id}")
    expect(employer.get_by_text("Status: Published")).to_be_visible()
    employer.get_by_role("link", name="View the live page").click()
    expect(employer.get_by_role("heading", level=1, name=JOB_TITLE)).to_be_visible()
    story["listing_url"] = employer.url
    story["listing_id"] = listing_id

    def by_keywords(page):
        page.get_by_label("Keywords, credential or job title").fill("profee coder")

    search_until_found(employer, by_keywords, JOB_TITLE)
    browsers.remember("employer", employer)
    save_screenshot(employer, "employer-journey-live")


@in_browser_thread
def test_coder_registers_builds_a_profile_finds_qualifies_applies_and_sees_the_employer_move_it(browsers, story):
    if "listing_url" not in story:
        pytest.skip("needs the employer journey's published listing")
    coder = register_coder(browsers, CODER_NAME, "casey.coder@codermail.org")
    confirm_email(browsers, coder, "casey.coder@codermail.org")

    # Profile with a credential, a ZIP and a resume.
    coder.get_by_role("navigation", name="Main").get_by_role("link", name="Profile").click()
    expect(coder.get_by_role("heading", level=1, name="Your profile")).to_be_visible()
    coder.get_by_label("Headline").fill("CPC with 4 years of E/M and outpatient coding")
    coder.get_by_label("Years of coding experience").fill("4")
    coder.get_by_label("ZIP code", exact=True).fill(CODER_ZIP)
    coder.get_by_label(re.compile(r"^CPC — Certified Professional Coder")).check()
    coder.get_by_label("Year you earned CPC", exact=True).fill("2021")
    coder.get_by_label("Profile address").fill("casey-coder")
    coder.get_by_role("button", name="Save my profile").click()
    expect(coder.get_by_text("Your profile is saved.")).to_be_visible()
    expect(coder.get_by_text("Your ZIP is in Chicago, IL.")).to_be_visible()

    coder.get_by_label(re.compile(r"Upload a PDF or Word")).set_input_files(
        files=[{"name": "casey-resume.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf("Casey Coder, CPC")}])
    coder.get_by_role("button", name="Upload resume").click()
    expect(coder.get_by_text("Your resume is uploaded.")).to_be_visible()
    expect(coder.get_by_role("link", name="casey-resume.pdf")).to_be_visible()

    # Search: the CPC credential within 10 miles of the coder's ZIP.
    coder.get_by_role("navigation", name="Main").get_by_role("link", name="Find jobs").click()

    def cpc_near_home(page):
        page.get_by_label("Credential (choose one or more)").select_option("CPC")
        page.get_by_label("ZIP code", exact=True).fill(CODER_ZIP)
        page.get_by_label("Within").select_option(label="10 miles")

    search_until_found(coder, cpc_near_home, JOB_TITLE)
    result = coder.get_by_role("listitem").filter(has=coder.get_by_role("link", name=JOB_TITLE))
    expect(result.get_by_text(re.compile(r"\d+(\.\d+)? mi"))).to_be_visible()

    # The listing shows what the coder meets, and takes the application.
    coder.get_by_role("link", name=JOB_TITLE).click()
    expect(coder.get_by_role("heading", level=1, name=JOB_TITLE)).to_be_visible()
    expect(coder.get_by_role("heading", name="You meet this job's requirements")).to_be_visible()
    expect(coder.get_by_text("Required: CPC — you hold it")).to_be_visible()
    coder.get_by_label("Cover note (optional)").fill("I code profee E/M every day and live ten minutes away.")
    coder.get_by_role("button", name="Apply with my profile").click()
    expect(coder.get_by_text(f"Your application to “{JOB_TITLE}” is sent.", exact=False)).to_be_visible()
    expect(coder.get_by_role("heading", level=1, name="Your applications")).to_be_visible()
    application = coder.get_by_role("article").filter(has=coder.get_by_role("heading", name=JOB_TITLE))
    expect(application.get_by_text("Now: Submitted")).to_be_visible()
    expect(application.get_by_text("Not viewed by the employer yet.")).to_be_visible()

    # The employer reviews the applicant and invites them to interview.
    employer = browsers.page(storage_state=browsers.people["employer"])
    employer.goto("/employer")
    employer.get_by_role("link", name=re.compile(re.escape(JOB_TITLE) + r".*applicants")).click()
    expect(employer.get_by_role("heading", level=1, name=f"Applicants for “{JOB_TITLE}”")).to_be_visible()
    row = employer.get_by_role("row").filter(has=employer.get_by_role("link", name=CODER_NAME, exact=True))
    expect(row.get_by_text("Meets the requirements")).to_be_visible()
    expect(row.get_by_role("link", name=f"Resume of {CODER_NAME}")).to_be_visible()
    row.get_by_role("link", name=CODER_NAME, exact=True).click()
    expect(employer.get_by_role("heading", level=1, name=CODER_NAME)).to_be_visible()
    expect(employer.get_by_text("I code profee E/M every day")).to_be_visible()
    employer.get_by_label("Stage", exact=True).select_option(label="Interviewing")
    employer.get_by_label("A line for the candidate (optional)").fill("We would love to meet you on Tuesday.")
    employer.get_by_role("button", name="Move", exact=True).click()
    expect(employer.get_by_text(re.compile(r"Stage:\s*Interviewing"))).to_be_visible()
    history = employer.get_by_role("region", name="History")
    expect(history.get_by_role("row").filter(has_text="Interviewing")).to_have_count(1)
    save_screenshot(employer, "employer-journey")

    # The coder sees the new stage, that it was viewed, and the employer's line.
    coder.reload()
    application = coder.get_by_role("article").filter(has=coder.get_by_role("heading", name=JOB_TITLE))
    expect(application.get_by_text("Now: Interviewing")).to_be_visible()
    expect(application.get_by_text(re.compile(r"Viewed by the employer on"))).to_be_visible()
    expect(application.get_by_text("We would love to meet you on Tuesday.", exact=False)).to_be_visible()
    browsers.remember("coder", coder)
    save_screenshot(coder, "coder-journey")
