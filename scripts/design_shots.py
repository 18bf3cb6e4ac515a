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

# name -> (signed in as a coder?, width, address, CSS selector of the component)
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
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--site", required=True)
    site = parser.parse_args().site.rstrip("/")
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for name, (coder, width, path, selector) in SHOTS.items():
            context = browser.new_context(viewport={"width": width, "height": 900}, base_url=site)
            page = context.new_page()
            if coder:
                page.goto("/login")
                page.get_by_label("Email address").fill(DEMO_CODER[0])
                page.get_by_label(re.compile("^Password")).fill(DEMO_CODER[1])
                page.get_by_role("button", name="Log in").click()
                page.wait_for_load_state()
            if path == "LISTING":
                page.goto("/jobs?credential=CPC")
                path = page.locator("#results .job-card h3 a").first.get_attribute("href")
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
