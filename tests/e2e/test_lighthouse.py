"""Lighthouse (npm `lighthouse@12.2.3`, mobile preset, Debian's Chromium) on the home page, a search and a listing:
accessibility, best practices and SEO must score 100. Performance is recorded by bench/lighthouse.py, not asserted
here (it depends on the machine's load)."""

from __future__ import annotations

import pytest

from bench.lighthouse import LIGHTHOUSE, run_lighthouse
from tests.conftest import skip_or_fail
from tests.e2e.conftest import ARTIFACTS, CHROMIUM

pytestmark = pytest.mark.browser

ASSERTED = ("accessibility", "best-practices", "seo")


@pytest.fixture(scope="module")
def lighthouse_pages(site, demo_board) -> dict[str, str]:
    if not LIGHTHOUSE.exists():
        skip_or_fail(f"Lighthouse is not installed at {LIGHTHOUSE} (run `make install`; it needs npm)")
    return {"home": "/", "search": "/jobs?credential=CPC", "listing": demo_board["listing"]}


@pytest.mark.parametrize("name", ["home", "search", "listing"])
def test_lighthouse_mobile_scores_100_for_accessibility_best_practices_and_seo(name, site, lighthouse_pages):
    report = run_lighthouse(site.url + lighthouse_pages[name], chromium=CHROMIUM,
                            save_to=ARTIFACTS / f"lighthouse-{name}.json")
    scores = report.scores
    failing = {category: scores[category] for category in ASSERTED if scores[category] != 100}
    assert not failing, f"{name}: {failing}\n{report.failures()}"
