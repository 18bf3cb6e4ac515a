"""What people do on the site, step by step, as they would in a browser: by label, role and visible text.

Shared by the journeys and the accessibility checks. Every function runs in the browser thread.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, Browsers
from tests.waiting import poll

SEARCH_WAIT_S = 90  # the worker syncs within seconds; the deadline allows for a busy machine
PAYMENT_WAIT_MS = 45_000  # the emulator's webhook arrives ~1 s after the charge; the status page refreshes every 3 s


def tiny_pdf(text: str) -> bytes:
    """A valid one-page PDF (cross-reference offsets included) that shows `text`."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# ---- accounts ----------------------------------------------------------------------------------------------


def register_coder(browsers: Browsers, name: str, email: str) -> Page:
    page = browsers.page()
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Register").click()
    page.get_by_role("link", name="I am a medical coder").click()
    expect(page.get_by_role("heading", name="Register as a coder")).to_be_visible()
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("We sent you a link to confirm your email address")).to_be_visible()
    return page


def register_employer(browsers: Browsers, org: str, website: str, name: str, email: str) -> Page:
    page = browsers.page()
    page.goto("/register")
    page.get_by_role("link", name="I am hiring").click()
    expect(page.get_by_role("heading", name="Register your organisation")).to_be_visible()
    page.get_by_label("Organisation name").fill(org)
    page.get_by_label("Organisation website").fill(website)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Work email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Employer dashboard")).to_be_visible()
    return page


def mail_text(browsers: Browsers, to: str, subject: str, timeout: float = 60.0) -> str:
    """The newest mail to `to` whose subject contains `subject`, as the served site's worker sent it over SMTP."""

    def newest_mail() -> str | None:
        mails = [m for m in browsers.site.mailbox.mails(to) if subject in m["subject"]]
        return mails[-1]["text"] if mails else None

    return poll(newest_mail, timeout=timeout, interval=0.5, what=f"a mail “{subject}” to {to}")


def mail_link(browsers: Browsers, to: str, subject: str, path: str, timeout: float = 60.0) -> str:
    """The link to `path` in the newest mail to `to`."""
    text = mail_text(browsers, to, subject, timeout)
    match = re.search(r"https?://\S+?" + re.escape(path) + r"\S*", text)
    assert match, f"no link to {path} in the mail:\n{text}"
    return match.group(0)


def confirm_email(browsers: Browsers, page: Page, email: str) -> None:
    page.goto(mail_link(browsers, email, "Confirm your email address for CareerCenter", "/account/confirm"))
    page.get_by_role("button", name="Confirm my email address").click()  # the link only opens the page
    expect(page.get_by_text("Your email address is confirmed.")).to_be_visible()


def coder_with_profile(browsers: Browsers, name: str, email: str, handle: str, credential: str = "CCS") -> Page:
    """A confirmed coder whose profile (ZIP 60614, one credential, a public address) is saved."""
    page = register_coder(browsers, name, email)
    confirm_email(browsers, page, email)
    page.goto("/account/profile")
    page.get_by_label("ZIP code", exact=True).fill("60614")
    page.get_by_label(re.compile(rf"^{re.escape(credential)} — ")).check()
    page.get_by_label("Profile address").fill(handle)
    page.get_by_role("button", name="Save my profile").click()
    expect(page.get_by_text("Your profile is saved.")).to_be_visible()
    return page


# ---- employers -------------------------------------------------------------------------------------------


def post_job(page: Page, *, title: str, description: str, credential: str, work_mode: str, zip_code: str = "",
             pay: tuple[str, str], pay_unit: str = "per hour", setting: str = "Professional fee") -> int:
    """From the dashboard: fill the posting form, save the draft; returns the listing's id."""
    page.goto("/employer")
    page.get_by_role("link", name="Post a job").first.click()
    expect(page.get_by_role("heading", name="Post a job")).to_be_visible()
    page.get_by_label("Job title").fill(title)
    page.get_by_label("Description").fill(description)
    page.get_by_label("Employment type").select_option(label="Full time")
    page.get_by_label("Minimum years of coding experience").fill("1")
    page.get_by_label("Required credentials").select_option(credential)
    page.get_by_role("group", name="Coding settings").get_by_label(setting).check()
    page.get_by_role("group", name="Code sets").get_by_label("CPT").check()
    page.get_by_role("group", name=re.compile("Work mode")).get_by_label(work_mode, exact=True).check()
    if zip_code:
        page.get_by_label("ZIP code of the workplace").fill(zip_code)
    page.get_by_label("Lowest pay in dollars").fill(pay[0])
    page.get_by_label("Highest pay in dollars").fill(pay[1])
    page.get_by_label("Pay is").select_option(label=pay_unit)
    page.get_by_role("button", name="Save draft").click()
    problem = page.locator(".error-summary")
    assert not problem.count(), f"the posting form refused the draft: {problem.inner_text()}"
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    match = re.search(r"/employer/listings/(\d+)", page.url)
    assert match, f"after saving the draft the browser is at {page.url}"
    return int(match.group(1))


def pay_for_listing(page: Page, listing_id: int, *, card: str = "4242 4242 4242 4242", saved_card: bool = False) -> None:
    """Choose the 30-day plan and pay; returns once the order's page says the payment was received."""
    page.goto(f"/employer/listings/{listing_id}")
    page.get_by_role("link", name="Publish: choose a plan").click()
    page.get_by_label(re.compile(r"30 days — \$199\.00")).check()
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("heading", name="Checkout")).to_be_visible()
    if saved_card:
        page.get_by_role("button", name=re.compile(r"with the card ending 4242")).click()
    else:
        page.get_by_label("Card number").fill(card)  # typed with spaces, as people do (and real Stripe takes)
        page.get_by_label("Expiry month (MM)").fill("12")
        page.get_by_label("Expiry year (YY)").fill("34")
        page.get_by_label("Security code (CVC)").fill("123")
        page.get_by_label("ZIP code").fill("60601")
        page.get_by_role("button", name=re.compile(r"^Pay \$199\.00")).click()
    expect(page.get_by_text("Payment received. Thank you!")).to_be_visible(timeout=PAYMENT_WAIT_MS)


# ---- admins -----------------------------------------------------------------------------------------------


def review_item(page: Page, title: str):
    """The review queue's entry for a listing (an article named by its heading)."""
    return page.get_by_role("article", name=re.compile(re.escape(title)))


def approve(browsers: Browsers, title: str, admin: Page | None = None) -> None:
    """An admin approves the listing in the review queue (in a page of their own unless one is given)."""
    own = admin is None
    admin = admin or browsers.admin_page()
    admin.goto("/admin")
    admin.get_by_role("navigation", name="Admin").get_by_role("link", name="Review queue").click()
    item = review_item(admin, title)
    expect(item).to_be_visible()
    item.get_by_role("button", name="Approve and publish").click()
    expect(review_item(admin, title)).to_have_count(0)
    if own:
        admin.context.close()
        browsers.contexts.remove(admin.context)


def publish_without_payment(browsers: Browsers, listing_id: int) -> None:
    """An admin publishes a draft from the admin listing search (no checkout in the way of a journey)."""
    admin = browsers.admin_page()
    admin.goto(f"/admin/listings?q={listing_id}")
    admin.get_by_role("button", name="Publish without payment").click()
    expect(admin.get_by_text(f"Listing #{listing_id} is published without payment")).to_be_visible()
    admin.context.close()
    browsers.contexts.remove(admin.context)


# ---- search -----------------------------------------------------------------------------------------------


def results_settled(page: Page) -> None:
    """With JavaScript the search form swaps #results in place (htmx marks it .htmx-request from the submit until the
    swap; the form's hx-sync replaces an in-flight request); without, the click was a page load."""
    expect(page.locator("#results.htmx-request")).to_have_count(0)


def search_until_found(page: Page, fill, title: str) -> None:
    """Run a search from the /jobs form until `title` is among the results (the index is updated by the worker)."""
    def found() -> bool:
        page.goto("/jobs")
        fill(page)
        page.get_by_role("search", name="Search jobs").get_by_role("button", name="Search").click()
        results_settled(page)
        expect(page.get_by_role("heading", level=2, name=re.compile(r"jobs? found|\d+ jobs?|No jobs found"))).to_be_visible()
        return bool(page.get_by_role("link", name=title).count())

    poll(found, timeout=SEARCH_WAIT_S, interval=0.5, what=f"“{title}” to appear in search")


def report(page: Page, listing_url: str, reason: str, detail: str, email: str | None = None) -> None:
    """Open the listing, follow “Report this job”, send the form."""
    page.goto(listing_url)
    page.get_by_role("link", name="Report this job").click()
    expect(page.get_by_role("heading", level=1, name="Report this job")).to_be_visible()
    page.get_by_role("group", name=re.compile("What is wrong with this job")).get_by_label(reason).check()
    page.get_by_label("Anything we should know (optional)").fill(detail)
    if email:
        page.get_by_label("Your email address").fill(email)
    page.get_by_role("button", name="Send report").click()
    expect(page.get_by_role("heading", level=1, name="Report sent")).to_be_visible()


def absent_from_search(page: Page, keywords: str, title: str) -> None:
    def gone() -> bool:
        page.goto("/jobs")
        page.get_by_label("Keywords, credential or job title").fill(keywords)
        page.get_by_role("search", name="Search jobs").get_by_role("button", name="Search").click()
        results_settled(page)
        return not page.get_by_role("link", name=title).count()

    poll(gone, timeout=SEARCH_WAIT_S, interval=0.5, what=f"“{title}” to leave search")
