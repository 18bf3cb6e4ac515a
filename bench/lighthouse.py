"""Lighthouse on a running board: the mobile scores of the home page, a search and a listing page.

Not a test: the performance score depends on the machine's load, so it is recorded here (bench/results/), while
tests/e2e/test_lighthouse.py asserts accessibility, best practices and SEO. Lighthouse is npm `lighthouse@12.2.3`
(tests/e2e/package.json, installed by `make install`), run against Debian's Chromium.

    make run                                   # in another terminal; `careers seed-demo` for a realistic board
    .venv/bin/python bench/lighthouse.py --site http://127.0.0.1:8000 [--runs 3] [--json bench/results/lighthouse.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "tests" / "e2e" / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


@dataclass
class Report:
    url: str
    scores: dict[str, int]
    raw: dict

    def failures(self) -> str:
        """The audits that cost points outside performance, one line each (for a failing test's message)."""
        lines = []
        for category in CATEGORIES[1:]:
            for ref in self.raw["categories"][category]["auditRefs"]:
                audit = self.raw["audits"][ref["id"]]
                if ref.get("weight") and audit.get("score") is not None and audit["score"] < 1:
                    lines.append(f"{category}: {audit['id']} — {audit['title']}")
        return "\n".join(lines)


def run_lighthouse(url: str, *, chromium: Path = Path("/usr/bin/chromium"), save_to: Path | None = None,
                   timeout: float = 180) -> Report:
    """One Lighthouse run (mobile preset, the default) of `url`; the scores as whole numbers 0–100."""
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp:
        out = Path(tmp) / "report.json"
        env = {**os.environ, "CHROME_PATH": str(chromium)}
        command = [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
                   "--only-categories=" + ",".join(CATEGORIES),
                   "--chrome-flags=--headless=new --no-sandbox --disable-gpu"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"lighthouse failed ({done.returncode}):\n{done.stderr[-2000:]}")
        raw = json.loads(out.read_text())
        if save_to is not None:
            save_to.parent.mkdir(parents=True, exist_ok=True)
            save_to.write_text(out.read_text())
    scores = {name: round((raw["categories"][name]["score"] or 0) * 100) for name in CATEGORIES}
    return Report(url=url, scores=scores, raw=raw)


def first_listing(site: str) -> str:
    """The first result of a CPC search: a listing page to score."""
    with urllib.request.urlopen(site + "/jobs?credential=CPC", timeout=30) as answer:
        page = answer.read().decode()
    match = re.search(r'<h3 id="job-\d+-title"><a href="(/jobs/\d+/[^"]+)"', page)
    if not match:
        sys.exit("no listing found: seed the board first (careers seed-demo)")
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", required=True, help="the running board, e.g. http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=3, help="runs per page; the median is reported")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "lighthouse.json")
    args = parser.parse_args()
    site = args.site.rstrip("/")
    pages = {"home": "/", "search": "/jobs?credential=CPC", "listing": first_listing(site)}
    results = {}
    for name, path in pages.items():
        runs = [run_lighthouse(site + path).scores for _ in range(args.runs)]
        results[name] = {"path": path, **{c: statistics.median(r[c] for r in runs) for c in CATEGORIES},
                         "performance_runs": [r["performance"] for r in runs]}
        print(f"{name:8} {path:28} " + "  ".join(f"{c} {results[name][c]:g}" for c in CATEGORIES), flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
