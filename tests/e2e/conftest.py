"""Browser tests: Debian's Chromium, driven by Playwright, against a real `careers serve`.

One `careers serve` for the whole package (its own SQLite database and data dir, its
managed Meilisearch and Stripe emulator; stopped once the last browser test ran), one
admin enrolled with two-step login in the browser, one Chromium. Playwright's sync API runs in a thread of its own
(`BrowserThread`): between calls it marks its event loop as running in the thread
that drives it, which would stop pytest-asyncio's session loop from running the
in-process fixtures (tests/conftest.py) in the main thread.

Test functions decorated with `@in_browser_thread` run whole in that thread; their
contexts are closed afterwards and, when they fail, every open page is saved as a
screenshot in test-artifacts/.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from careers.core.config import PROJECT_ROOT
from tests.conftest import ON_POSTGRES, skip_or_fail
from tests.mailbox import start_sink
from tests.waiting import poll

CHROMIUM = Path(os.environ.get("CAREERS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
AXE_JS = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@careercenter.org"
TIMEOUT_MS = 15_000  # one step (a click, a page, a visible text); payment and search waits say their own
TEST_TIMEOUT_S = 240  # one whole journey, however it hangs

# after the journeys
DEMO_BOARD_TESTS = ("test_accessibility.py", "test_lighthouse.py", "test_without_javascript.py", "test_trust_demo.py",
                    "test_design_extras.py")
_KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "MEILI_BINARY")


def pytest_collection_modifyitems(config, items):
    """Every browser test in one block at the end of the session: test_journeys.py first (it starts from an empty
    board), the other journeys, the demo-board checks last. One block, because `site` and `story` are package
    fixtures: browser tests scattered among the others by the random order started the board again at each return
    and forgot the journeys' story (the coder journey then skipped, needing the employer's listing)."""
    e2e = [item for item in items if item.nodeid.startswith("tests/e2e/")]
    if not e2e:
        return

    def place(item) -> tuple[int, int]:
        # test_journeys.py's three journeys build on each other (the coder applies to the employer's listing): in
        # file order, before anything else has posted; the other journeys in the random order; the demo board last
        if "/test_journeys.py::" in item.nodeid:
            return 0, item.reportinfo()[1] or 0
        return (2 if any(name in item.nodeid for name in DEMO_BOARD_TESTS) else 1), 0

    ordered = sorted(e2e, key=place)  # stable: otherwise the random order
    items[:] = [item for item in items if not item.nodeid.startswith("tests/e2e/")] + ordered


def chromium_or_skip() -> None:
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
        if os.environ.get("CI") != "true":
            print(f"\nSKIPPED LOUDLY: {reason}", file=sys.stderr)
        skip_or_fail(reason)
    if ON_POSTGRES:
        # The served app keeps its own SQLite database, so a second pass would prove nothing new.
        pytest.skip("browser tests run once per `make test`, in the SQLite pass (the served app has its own database)")


def save_screenshot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


# ---- the served site -------------------------------------------------------------------------------------


@dataclass
class Site:
    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)
    mailbox: object = None  # tests.mailbox.SmtpSink: the SMTP server `serve` sends every mail to

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """`careers ...` against the served site's database (same environment as `serve`)."""
        return subprocess.run([sys.executable, "-m", "careers.cli", *args], env=self.env, cwd=self.data_dir,
                              capture_output=True, text=True, timeout=60)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _clean_env(data_dir: Path) -> dict[str, str]:
    """Only what a person's shell would have, plus the site's own settings: never the test session's database."""
    env = {name: os.environ[name] for name in _KEPT_ENV if os.environ.get(name)}
    env.update(
        CAREERS_ENV="development",
        CAREERS_DATA_DIR=str(data_dir),
        DATABASE_URL=f"sqlite:///{data_dir / 'careers.sqlite3'}",
        CAREERS_RATE_LIMIT_MULTIPLIER="100",  # every journey signs up and logs in from 127.0.0.1
        # The journeys' reporters sign up minutes before reporting, each "behind" the loopback proxy.
        REPORT_MIN_ACCOUNT_AGE_HOURS="0",
        TRUSTED_PROXIES="127.0.0.1",
        PYTHONUNBUFFERED="1",
        # `careers create-admin` run outside the project folder does not find piccolo_conf otherwise.
        PYTHONPATH=str(PROJECT_ROOT),
    )
    return env


def _wait_ready(site: Site, deadline_s: float = 120) -> None:
    last = ["no answer"]

    def ready() -> bool:
        if site.process.poll() is not None:
            pytest.fail(f"careers serve exited with code {site.process.returncode} while starting:\n{site.log_tail()}")
        try:
            answer = httpx.get(site.url + "/readyz", timeout=2)
            body = answer.json()
            last[0] = f"{answer.status_code} {body}"
            return answer.status_code == 200 and body.get("database") == "ok" and body.get("search") == "ok"
        except (httpx.HTTPError, ValueError) as exc:
            last[0] = repr(exc)
            return False

    try:
        poll(ready, timeout=deadline_s, interval=0.25, what="careers serve to be ready")
    except AssertionError:
        pytest.fail(f"careers serve was not ready within {deadline_s:.0f} s (last /readyz: {last[0]}):\n{site.log_tail()}")


def _listening(port: int) -> bool:
    from careers import local

    return local.port_open(port)


def _storage_env(request) -> dict[str, str]:
    """TEST_STORAGE_URL=s3: the served site keeps its uploads in moto's bucket, like the in-process tests."""
    from tests.conftest import ON_S3

    if not ON_S3:
        return {}
    s3 = request.getfixturevalue("moto_s3")
    return {"STORAGE_URL": f"s3://{s3.bucket}/e2e-{time.monotonic_ns()}", "S3_ENDPOINT_URL": s3.url,
            "S3_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test-access-key", "AWS_SECRET_ACCESS_KEY": "test-secret-key"}


@pytest.fixture(scope="package")
def site(request):
    """A real `careers serve` on a free loopback port with a fresh data dir; stopped with SIGTERM at the end."""
    from careers import local

    chromium_or_skip()
    data_dir = Path(tempfile.mkdtemp(prefix="careers-e2e-"))
    port = local.free_port()
    env = _clean_env(data_dir) | _storage_env(request)
    # People read their mail where a mail server delivers it: a real SMTP server in this process (tests/mailbox.py).
    mailbox, stop_mailbox = start_sink()
    env["SMTP_URL"] = mailbox.url
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "e2e-serve.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed at teardown)
    process = subprocess.Popen([sys.executable, "-m", "careers.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=data_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    site = Site(url=f"http://127.0.0.1:{port}", data_dir=data_dir, env=env, process=process, log_path=log_path,
                mailbox=mailbox)
    try:
        _wait_ready(site)
        state = json.loads((data_dir / "serve.json").read_text())
        site.ports = {name: child["port"] for name, child in state["children"].items() if child.get("port")}
        made = site.cli("create-admin", "--email", ADMIN_EMAIL, "--password", PASSWORD)
        assert made.returncode == 0, f"create-admin failed:\n{made.stdout}\n{made.stderr}"
        yield site
        if env.get("STORAGE_URL"):
            on_disk = [p for p in (data_dir / "uploads").rglob("*") if p.is_file()]
            assert not on_disk, f"S3 storage, yet the site wrote uploads to disk: {on_disk[:5]}"
    finally:
        stopped_in = _stop(site)
        stop_mailbox()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    assert stopped_in is not None, f"careers serve did not stop within 30 s of SIGTERM:\n{site.log_tail()}"
    still = {name: p for name, p in ({"web": port} | site.ports).items() if _listening(p)}
    assert not still, f"still listening after careers serve stopped: {still}"


def _stop(site: Site) -> float | None:
    """SIGTERM, as an operator's Ctrl-C or systemd would; the seconds it took, None when it had to be killed."""
    started = time.monotonic()
    if site.process.poll() is None:
        site.process.send_signal(signal.SIGTERM)
        try:
            site.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(site.process.pid, signal.SIGKILL)
            site.process.wait(timeout=10)
            return None
    return time.monotonic() - started


# ---- the browser, in a thread of its own --------------------------------------------------------------------


class Browsers:
    """Chromium and the contexts of one session; every method runs in the browser thread."""

    def __init__(self, site: Site) -> None:
        from playwright.sync_api import expect, sync_playwright

        self.site = site
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        expect.set_options(timeout=TIMEOUT_MS)
        self.contexts: list = []
        self.admin_state: Path | None = None
        self.totp_secret = ""
        self.people: dict[str, Path] = {}  # name -> storage state, for journeys that continue another's story
        self.thread: BrowserThread | None = None

    def context(self, *, storage_state: Path | None = None, bypass_csp: bool = False):
        context = self.browser.new_context(base_url=self.site.url, storage_state=str(storage_state) if storage_state else None,
                                           bypass_csp=bypass_csp, viewport={"width": 1280, "height": 900}, locale="en-US")
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return context

    def page(self, *, storage_state: Path | None = None, bypass_csp: bool = False):
        return self.context(storage_state=storage_state, bypass_csp=bypass_csp).new_page()

    def admin_page(self, *, bypass_csp: bool = False):
        """A page signed in as the admin (password and TOTP given once per session, in `enrol_admin`)."""
        assert self.admin_state is not None
        return self.page(storage_state=self.admin_state, bypass_csp=bypass_csp)

    def remember(self, name: str, page) -> None:
        """Keep a person's cookies so a later journey can continue as them."""
        path = self.site.data_dir / f"state-{name}.json"
        page.context.storage_state(path=str(path))
        self.people[name] = path

    def enrol_admin(self) -> None:
        """The first admin login: password, then two-step login set up with the key shown as text on the page."""
        import pyotp
        from playwright.sync_api import expect

        page = self.page()
        page.goto("/login")
        page.get_by_label("Email address").fill(ADMIN_EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Set up two-step login")).to_be_visible()
        key_step = page.get_by_role("listitem").filter(has_text="type this key into the app")
        secret = re.sub(r"\s+", "", key_step.locator("code").inner_text())
        page.get_by_label("The 6-digit code the app shows now").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Turn on two-step login").click()
        expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
        page.get_by_role("link", name="Continue").click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert "/admin" in page.url, page.url
        self.totp_secret = secret
        self.admin_state = self.site.data_dir / "state-admin.json"
        page.context.storage_state(path=str(self.admin_state))
        page.context.close()
        self.contexts.remove(page.context)

    def close_contexts(self, *, failed_test: str | None = None) -> None:
        for number, context in enumerate(self.contexts):
            if failed_test:
                for index, page in enumerate(context.pages):
                    try:
                        save_screenshot(page, f"{failed_test}-failure-{number}-{index}")
                    except Exception:  # a crashed page must not hide the test's own error
                        pass
            try:
                context.close()
            except Exception:
                pass
        self.contexts.clear()

    def close(self) -> None:
        self.close_contexts()
        self.browser.close()
        self.playwright.stop()


class BrowserThread:
    """One thread owns Playwright (its greenlets and event loop) for the whole session."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self.browsers: Browsers | None = None

    def call(self, fn, *args, timeout: float = TEST_TIMEOUT_S, **kwargs):
        return self.pool.submit(fn, *args, **kwargs).result(timeout=timeout)


@pytest.fixture(scope="package")
def browser_thread(site):
    thread = BrowserThread()

    def start() -> None:
        thread.browsers = Browsers(site)
        thread.browsers.thread = thread
        thread.browsers.enrol_admin()

    try:
        thread.call(start, timeout=120)
        yield thread
    finally:
        if thread.browsers is not None:
            thread.call(thread.browsers.close, timeout=60)
        thread.pool.shutdown(wait=True)


@pytest.fixture
def browsers(browser_thread) -> Browsers:
    return browser_thread.browsers


@pytest.fixture(scope="package")
def demo_board(site, browser_thread) -> dict:
    """The seeded demo board (tests/e2e/demo.py), once per package: addresses of the pages the checks look at."""
    from tests.e2e.demo import seed_demo_board  # demo.py builds on this module

    return seed_demo_board(site, browser_thread)


@pytest.fixture(scope="package")
def story() -> dict:
    """What the journeys hand on to each other (a listing's address, who applied), in file order."""
    return {}


def in_browser_thread(test):
    """Run the test in the browser thread (it must ask for `browsers`); close its contexts after, with screenshots
    of every open page when it failed."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        browsers: Browsers = kwargs["browsers"]

        def run():
            failed = True
            try:
                result = test(*args, **kwargs)
                failed = False
                return result
            finally:
                browsers.close_contexts(failed_test=test.__name__ if failed else None)

        return browsers.thread.call(run)

    return wrapper
