"""axe-core on the pages people use most: no serious or critical violations.

axe-core (npm, tests/e2e/package.json) is injected with Playwright into contexts opened
with `bypass_csp=True` (our CSP allows no inline or foreign script, rightly). The pages
hold realistic content (tests/e2e/demo.py). Each page is also screenshotted at 1366×900 and
390×844 into test-artifacts/design/ and must not scroll sideways at 390 px.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import AXE_JS, in_browser_thread, save_screenshot
from tests.e2e.demo import REVIEW_TITLE

pytestmark = pytest.mark.browser

WIDTHS = {"wide": (1366, 900), "phone": (390, 844)}
BLOCKING = ("serious", "critical")


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
    "mail-preferences": ("demo-employer", "/account/mail", "Mail preferences"),
    "listing-form": ("demo-employer", "listing_form", "Post a job"),
    "applicants": ("demo-employer", "applicants", re.compile(r"^Applicants for")),
    "payment": ("demo-employer", "payment", "Checkout"),
    "admin-review": ("admin", "/admin/review", REVIEW_TITLE),
    "admin-dashboard": ("admin", "/admin", "Admin"),
    "pay": (None, "/pay", "What coding jobs pay"),
    "pay-credential": (None, "/pay/CPC", "CPC pay"),
    "coder-credentials": ("demo-coder", "/account/credentials", "Your credentials"),
    "admin-credentials": ("admin", "/admin/credentials", "Credential verification"),
    "coder-mail-preferences": ("demo-coder", "/account/mail", "Mail preferences"),
    "listing-manage": ("demo-employer", "manage", "Still open?"),  # reconfirm button, close-reason form, sources
    "listing-edit": ("demo-employer", "listing_edit", "Google for Jobs"),  # readiness, pay transparency, screener
    "listing-preview": ("demo-employer", "listing_preview", "Google for Jobs"),
    "employer-page": (None, "/employers/mercy-ridge-health", "Mercy Ridge Health"),
    # beyond the 14 key pages: the admin pages issue 16 added
    "admin-coders": ("admin", "/admin/coders", "Coder accounts"),
    "admin-audit": ("admin", "/admin/audit", "Audit log"),
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
    look_at(page, name, heading)


def look_at(page: Page, name: str, heading) -> None:
    """The open page at 1366×900 and 390×844: screenshots, no sideways scroll on a phone, axe finds nothing serious."""
    page.set_viewport_size({"width": WIDTHS["wide"][0], "height": WIDTHS["wide"][1]})
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
