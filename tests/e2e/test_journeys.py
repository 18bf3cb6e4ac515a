"""The three journeys through a real browser, against a real `careers serve` (see conftest.py).

They run in file order and hand on what they made (`story`): the employer's listing is
the one the coder finds and applies to, and the employer then moves that application.
Each journey saves a screenshot of its last page in test-artifacts/<journey>.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, in_browser_thread, save_screenshot
from tests.waiting import poll
from tests.e2e.people import (
    absent_from_search,
    approve,
    confirm_email,
    mail_link,
    mail_text,
    pay_for_listing,
    post_job,
    register_coder,
    register_employer,
    report,
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
        page.get_by_role("group", name="Credential").get_by_label(re.compile(r"^CPC — Certified Professional Coder")).check()
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


SCAM_TITLE = "Work From Home Medical Coder — No Experience Needed"
LURE_TITLE = "Remote Medical Coding Specialist (CPC)"


@in_browser_thread
def test_admin_rejects_a_scam_with_a_refund_handles_three_reports_and_suspends_the_employer(browsers, story):
    # A new employer with a free-mail address posts two listings and pays for both.
    scammer = register_employer(browsers, "QuickCode Careers", "https://quickcode-careers.com", "Quinn Quick",
                                "quickcode.careers@gmail.com")
    confirm_email(browsers, scammer, "quickcode.careers@gmail.com")
    scam_id = post_job(
        scammer, title=SCAM_TITLE,
        description="Start coding from home today, no experience needed! A $99 training kit fee is required before "
                    "your first day. Send your SSN and bank details so we can set up your pay.",
        credential="CPC", work_mode="Remote", pay=("45", "60"))
    pay_for_listing(scammer, scam_id)
    lure_id = post_job(
        scammer, title=LURE_TITLE,
        description="Remote CPC coder for multispecialty professional fee claims. CPT, ICD-10-CM and HCPCS.",
        credential="CPC", work_mode="Remote", pay=("24", "28"))
    pay_for_listing(scammer, lure_id, saved_card=True)

    # The review queue shows the scam signals; the admin rejects it, and the order is refunded.
    admin = browsers.admin_page()
    admin.goto("/admin")
    admin.get_by_role("navigation", name="Admin").get_by_role("link", name="Review queue").click()
    expect(admin.get_by_role("heading", level=1, name="Review queue")).to_be_visible()
    scam = review_item(admin, SCAM_TITLE)
    expect(scam.get_by_text("Scam phrases")).to_be_visible()
    expect(scam.get_by_text("New employer")).to_be_visible()
    expect(scam.get_by_text("Free-mail contact address")).to_be_visible()
    expect(scam.get_by_text(re.compile(r"^Order #\d+")).filter(has_text=re.compile(r"\$199\.00\s*·\s*paid"))).to_be_visible()
    scam.get_by_label(re.compile("Reason for rejecting")).fill(
        "Listings may not charge applicants fees or ask for bank details before an offer.")
    scam.get_by_role("button", name="Reject").click()
    expect(review_item(admin, SCAM_TITLE)).to_have_count(0)
    approve(browsers, LURE_TITLE, admin)

    def refunded():  # the worker refunds the rejected listing's order through Stripe (the emulator)
        scammer.goto("/employer/billing")
        order = scammer.get_by_role("row").filter(has_text=SCAM_TITLE)
        return order if order.get_by_role("cell", name="Refunded").count() else None

    order = poll(refunded, interval=0.5, what="the rejected listing's order to be refunded")
    expect(order.get_by_role("cell", name="$199.00")).to_be_visible()
    rejection = mail_text(browsers, "quickcode.careers@gmail.com", f"Your listing “{SCAM_TITLE}” was not approved")
    assert "Reason: Listings may not charge applicants fees" in rejection

    # Three different people report the approved lure: two signed-in coders and a visitor who confirms by mail.
    scammer.goto("/employer")
    scammer.get_by_role("link", name=LURE_TITLE, exact=True).click()
    scammer.get_by_role("link", name="View the live page").click()
    lure_url = scammer.url
    # Only one report per network counts: the site trusts 127.0.0.1 as its proxy here (TRUSTED_PROXIES), so each
    # reporter's X-Forwarded-For puts them on a network of their own.
    for number in (1, 2):
        reporter = register_coder(browsers, f"Reporter {number}", f"reporter{number}@codermail.org")
        confirm_email(browsers, reporter, f"reporter{number}@codermail.org")
        reporter.set_extra_http_headers({"X-Forwarded-For": f"198.51.10{number}.7"})
        report(reporter, lure_url, "Scam or fraud", "They asked me for a training fee by phone.")
        expect(reporter.get_by_text("Your report reached our moderators.", exact=False)).to_be_visible()
    visitor = browsers.page()
    visitor.set_extra_http_headers({"X-Forwarded-For": "203.0.113.7"})
    report(visitor, lure_url, "Scam or fraud", "Same company asked me for my SSN.", email="visitor@codermail.org")
    expect(visitor.get_by_text("your report counts once you open it", exact=False)).to_be_visible()
    visitor.goto(mail_link(browsers, "visitor@codermail.org", "Confirm your report", "/reports/confirm"))
    visitor.get_by_role("button", name="Confirm my report").click()  # the link only opens the page
    expect(visitor.get_by_role("heading", name="Report confirmed")).to_be_visible()

    # Three confirmed reporters hide the listing at once: off its page and out of search.
    gone = visitor.goto(lure_url)
    assert gone is not None and gone.status in (404, 410), f"a hidden listing answered {gone and gone.status}"
    absent_from_search(visitor, "remote medical coding specialist", LURE_TITLE)

    # The admin handles the reports: removes the listing, then suspends the employer.
    admin.get_by_role("navigation", name="Admin").get_by_role("link", name="Reports").click()
    reported = admin.get_by_role("article", name=re.compile(re.escape(LURE_TITLE)))
    expect(reported.get_by_text("3 counting reports", exact=False)).to_be_visible()
    expect(reported.get_by_text("Hidden", exact=True)).to_be_visible()
    expect(reported.get_by_role("row").filter(has_text="visitor@codermail.org")).to_have_count(1)
    reported.get_by_label(re.compile("Reason for removing")).fill("Confirmed scam: fees and SSN requests.")
    reported.get_by_role("button", name="Remove listing").click()
    expect(admin.get_by_text(re.compile(r"Listing #\d+ removed from the site"))).to_be_visible()
    expect(admin.get_by_role("article", name=re.compile(re.escape(LURE_TITLE)))).to_have_count(0)

    admin.get_by_role("navigation", name="Admin").get_by_role("link", name="Employers").click()
    admin.get_by_role("link", name="QuickCode Careers").click()
    expect(admin.get_by_role("heading", level=1, name="QuickCode Careers")).to_be_visible()
    suspend = admin.locator("form").filter(has=admin.get_by_role("button", name=re.compile("^Suspend")))
    suspend.get_by_label(re.compile("^Reason")).fill("Scam listings: training fees and SSN requests.")
    suspend.get_by_role("button", name=re.compile("^Suspend")).click()
    expect(admin.get_by_text(re.compile(r"Trust\s*Suspended"))).to_be_visible()
    expect(admin.get_by_text("quickcode.careers@gmail.com (owner) — login disabled", exact=False)).to_be_visible()
    save_screenshot(admin, "admin-journey")

    # The suspended employer's session is over and it cannot log in again.
    scammer.goto("/employer")
    expect(scammer.get_by_role("heading", level=1, name="Log in")).to_be_visible()
    scammer.get_by_label("Email address").fill("quickcode.careers@gmail.com")
    scammer.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    scammer.get_by_role("button", name="Log in").click()
    expect(scammer.get_by_text("This account is disabled.", exact=False)).to_be_visible()
