"""Screenshots of the design system's components for docs/design.md, taken from a running board.

    .venv/bin/python scripts/design_shots.py --site http://127.0.0.1:8000   # a board with `careers seed-demo` data
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "design"
DEMO_CODER = ("coder01@demo.example.com", "demo-password-2026")
PEOPLE = {True: DEMO_CODER, "coder": DEMO_CODER, "applicant": ("coder02@demo.example.com", "demo-password-2026"),
          "employer": ("hr@mercyridge.example.com", "demo-password-2026")}

# name -> (signed in as: False, True/"coder", "applicant" or "employer"; width, address, CSS selector)
SHOTS = {
    "navbar-wide": (False, 1366, "/", ".site-header"),
    "navbar-phone-menu": (False, 390, "/", ".site-header"),
    "search-bar": (False, 1366, "/", ".hero"),
    "job-card": (True, 1366, "/jobs?credential=CPC", "#results .job-card"),
    "active-filters": (False, 1366, "/jobs?credential=CPC&work_mode=remote", ".results-head + .active-filters"),
    "filter-group": (False, 1366, "/jobs?credential=CPC", "#f-credential"),
    "filter-drawer-phone": (False, 390, "/jobs?credential=CPC#filters", "#filters"),
    "pagination": (False, 1366, "/jobs?page=3", ".pagination"),
    "empty-state": (False, 1366, "/jobs?page=9999", "#empty-state"),
    "listing-facts": (False, 1366, "LISTING", ".listing-aside"),
    "error-summary": (False, 1366, "/jobs?min_pay=lots", ".error-summary"),
    "dashboard-chart": ("employer", 1366, "/employer", "section.chart"),
    "dashboard-stats": ("employer", 1366, "/employer", ".stats"),
    "listing-card": ("employer", 1366, "/employer", ".listing-card"),
    "posting-preview": ("employer", 1366, "/employer/listings/new", "#posting-preview"),
    "applicant-card-phone": ("employer", 390, "APPLICANTS", ".applicants tbody tr"),
    "profile-meter": ("coder", 1366, "/account/profile", ".profile-meter"),
    "resume-card": ("coder", 1366, "/account/profile", ".resume-card"),
    "application-timeline": ("applicant", 390, "/account/applications", ".application"),
    "one-click-apply": ("coder", 1366, "/jobs?credential=CPC", "#results .job-card-foot"),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--site", required=True)
    parser.add_argument("--only", nargs="*", help="shoot only these components")
    args = parser.parse_args()
    shoot(args.site.rstrip("/"), args.only)


def shoot(site: str, only: list[str] | None = None) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name, (who, width, path, selector) in SHOTS.items():
            if only and name not in only:
                continue
            context = browser.new_context(viewport={"width": width, "height": 900}, base_url=site)
            page = context.new_page()
            if who:
                page.goto("/login")
                page.get_by_label("Email address").fill(PEOPLE[who][0])
                page.get_by_label(re.compile("^Password")).fill(PEOPLE[who][1])
                page.get_by_role("button", name="Log in").click()
                page.wait_for_load_state()
            if path == "LISTING":
                page.goto("/jobs?credential=CPC")
                path = page.locator("#results .job-card h3 a").first.get_attribute("href")
            if path == "APPLICANTS":
                page.goto("/employer")
                path = page.locator('a[href$="/applicants"]').first.get_attribute("href")
            page.goto(path)
            if name == "navbar-phone-menu":
                page.get_by_text("Menu").click()
                page.set_viewport_size({"width": width, "height": 420})
                page.screenshot(path=str(OUT / f"{name}.png"))
            else:
                page.locator(selector).first.screenshot(path=str(OUT / f"{name}.png"))
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
