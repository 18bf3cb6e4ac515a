"""axe-core on the pages people use most: no serious or critical violations.

axe-core (npm, tests/e2e/package.json) is injected with Playwright into contexts opened
with `bypass_csp=True` (our CSP allows no inline or foreign script, rightly). The pages
hold realistic content: `careers seed-demo` fills the board (employers, 120 listings,
coders with applications) and a demo employer sends one listing to review.
"""

from __future__ import annotations

import os
import re
import sys
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import skip_or_fail
from tests.e2e.conftest import AXE_JS, Browsers, in_browser_thread, save_screenshot
from tests.e2e.people import pay_for_listing, post_job

pytestmark = pytest.mark.browser

DEMO_PASSWORD = "demo-password-2026"  # listings/commands.py, seed-demo
DEMO_EMPLOYER = "hr@lakesideortho.example.com"  # an unverified demo employer: its paid listing waits for review
DEMO_CODER = "coder01@demo.example.com"
APPLYING_CODER = "coder02@demo.example.com"  # applies once in the demo board, for the "apply done" page
WIDTHS = {"wide": (1366, 900), "phone": (390, 844)}
REVIEW_TITLE = "Orthopedic Surgery Coder (CPC) — accessibility check"
BLOCKING = ("serious", "critical")


def log_in(browsers: Browsers, email: str, password: str = DEMO_PASSWORD) -> Page:
    page = browsers.page(bypass_csp=True)
    page.goto("/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label(re.compile(r"^Password")).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    return page


@pytest.fixture(scope="package")
def demo_board(site, browser_thread) -> dict:
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
        for row in employer.get_by_role("region", name="Applicants").get_by_role("row").all()[1:]:
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
        return {"applicants": applicants, "listing": listing, "listing_form": "/employer/listings/new",
                "payment": payment, "apply_done": apply_done}

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


# page name -> (who looks at it, the address, or a key of demo_board, a heading that says the page is the right one)
PAGES = {
    "home": (None, "/", "Medical coding jobs, matched to your credentials"),
    "search": (None, "/jobs", re.compile(r"\d+ jobs")),
    "search-filtered": (None, "/jobs?credential=CPC", re.compile(r"\d+ jobs")),
    "listing": (None, "listing", "About the job"),
    "listing-as-coder": ("demo-coder", "listing", re.compile(r"meet this job's requirements|How you match this job")),
    "apply-done": ("applying-coder", "apply_done", "Your applications"),
    "coder-profile": ("demo-coder", "/account/profile", "Your profile"),
    "applications": ("demo-coder", "/account/applications", "Your applications"),
    "employer-dashboard": ("demo-employer", "/employer", "Your listings"),
    "listing-form": ("demo-employer", "listing_form", "Post a job"),
    "applicants": ("demo-employer", "applicants", re.compile(r"^Applicants for")),
    "payment": ("demo-employer", "payment", "Checkout"),
    "admin-review": ("admin", "/admin/review", REVIEW_TITLE),
    "admin-dashboard": ("admin", "/admin", "Admin"),
}


def axe_violations(page: Page) -> list[dict]:
    page.add_script_tag(path=str(AXE_JS))
    results = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
            nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html, summary: n.failureSummary}))}));
    }""")
    return results


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:6]:
            lines.append(f"    at {node['target']}: {node['html'][:160]}")
            for summary_line in (node["summary"] or "").splitlines()[:4]:
                lines.append(f"        {summary_line.strip()}")
        if len(v["nodes"]) > 6:
            lines.append(f"    … and {len(v['nodes']) - 6} more")
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(PAGES))
@in_browser_thread
def test_page_has_no_serious_or_critical_accessibility_violations(name, browsers, demo_board):
    who, where, heading = PAGES[name]
    if who == "admin":
        page = browsers.admin_page(bypass_csp=True)
    elif who:
        page = browsers.page(storage_state=browsers.people[who], bypass_csp=True)
    else:
        page = browsers.page(bypass_csp=True)
    page.set_viewport_size({"width": WIDTHS["wide"][0], "height": WIDTHS["wide"][1]})
    page.goto(demo_board.get(where, where))
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    violations = axe_violations(page)
    save_screenshot(page, f"design/{name}-1366")
    page.set_viewport_size({"width": WIDTHS["phone"][0], "height": WIDTHS["phone"][1]})
    width = page.evaluate("document.documentElement.scrollWidth")
    save_screenshot(page, f"design/{name}-390")
    assert width <= WIDTHS["phone"][0], f"{name} scrolls sideways at 390 px (the page is {width} px wide)"
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    minor = [v for v in violations if v["impact"] not in BLOCKING]
    if minor:
        print(f"\n{name}: minor accessibility findings (not failing):\n{describe(minor)}")
    assert not blocking, f"{name} ({page.url}) has serious or critical accessibility violations:\n{describe(blocking)}"


@in_browser_thread
def test_the_first_cpc_result_starts_on_the_first_phone_screen(browsers, demo_board):
    """At 390×844 the first result card of /jobs?credential=CPC is on the first screen, and no listing link inside
    <main> comes before it (the filters sit in a drawer)."""
    page = browsers.page()
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/jobs?credential=CPC")
    first = page.locator("#results .job-card").first
    expect(first).to_be_visible()
    assert first.bounding_box()["y"] < 844 - 80, first.bounding_box()  # its title is on the screen, not only its edge
    hrefs = page.locator("main a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    first_listing = next(i for i, h in enumerate(hrefs) if re.fullmatch(r"/jobs/\d+/[^/?#]+", h))
    assert first_listing == hrefs.index(first.get_by_role("link").first.get_attribute("href")), hrefs[:first_listing + 1]


@in_browser_thread
def test_the_check_itself_catches_a_field_without_a_label(browsers, demo_board):
    """axe really runs on our pages: a field without a label added to the home page is a critical violation."""
    page = browsers.page(bypass_csp=True)
    page.goto("/")
    page.evaluate("""() => { const i = document.createElement("input"); i.type = "text";
                             document.querySelector("main").appendChild(i); }""")
    found = {v["id"]: v["impact"] for v in axe_violations(page)}
    assert found.get("label") == "critical", found
