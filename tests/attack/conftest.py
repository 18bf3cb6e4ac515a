"""The attack pass's world: two coders, two employers, an admin, and every kind of object each one owns.

Content goes in through the real forms (so sanitising on save is part of what is attacked) and
every free-text field carries a hostile payload with a marker naming the field, so a test can
tell that the field was really rendered (escaped) on a page and not simply left out.
People are inserted straight into the tables with one precomputed password hash and signed in
through the accounts service (`start_session`), which keeps the world cheap to build per test.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

from billing.tables import Order, Plan
from careers.accounts import service as accounts
from careers.accounts.tables import User
from careers.coders.tables import Application, JobAlert
from careers.core.config import Settings
from careers.core.tables import OutboxRow
from employers.tables import EmployerInvite, EmployerMember
from listings import service as listings_service
from tests.conftest import Browser
from tests.reliability.conftest import csrf_token, make_coders, make_employer, password_hash

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
IN_20_DAYS = (dt.date.today() + dt.timedelta(days=20)).isoformat()


def payload(marker: str) -> str:
    """A stored-XSS payload for one field: a script, an attribute break-out with an event handler, a js: link."""
    return f'{marker}<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def markdown_payload(marker: str) -> str:
    return payload(marker) + f"\n\n[{marker} link](javascript:alert(1)) <a href=\"javascript:alert(1)\">x</a>"


def listing_form(**changes) -> dict:
    form = {
        "title": "Inpatient Coder (CCS)",
        "description": "Code inpatient charts.",
        "credentials_required": ["CCS"],
        "settings": ["inpatient"],
        "code_sets": ["icd10cm"],
        "work_mode": "remote",
        "employment_type": "full_time",
        "min_years": "2",
        "pay_min": "28.50",
        "pay_max": "34",
        "pay_unit": "hour",
        "benefits": "Medical, dental",
        "application_deadline": IN_20_DAYS,
        "requisition_id": "",
    }
    form.update(changes)
    return form


@dataclass
class Person:
    user_id: int
    email: str
    browser: Browser
    role: str
    employer_id: int | None = None


@dataclass
class World:
    anonymous: Browser
    coder_a: Person
    coder_b: Person
    employer_a: Person
    teammate_a: Person
    employer_b: Person
    admin: Person
    listing_a: int  # published, employer A's, with hostile title/description/benefits
    draft_a: int  # employer A's draft (not public)
    review_a: int  # employer A's listing waiting in the review queue (hostile)
    listing_b: int  # employer B's published listing
    application_a: int  # coder A's application to listing_a, with a hostile cover note and a note by employer A
    alert_a: int
    order_a: int
    invite_a: int
    member_a: int  # the teammate's membership row
    handle_a: str
    employer_slug_a: str
    outbox_row: int
    plan_id: int
    markers: dict[str, str] = field(default_factory=dict)
    hidden_handle: str = ""  # coder B's profile, not made visible

    def people(self) -> dict[str, Browser]:
        return {"anonymous": self.anonymous, "coder_a": self.coder_a.browser, "coder_b": self.coder_b.browser,
                "employer_a": self.employer_a.browser, "employer_b": self.employer_b.browser,
                "admin": self.admin.browser}


async def _person(make_browser, settings: Settings, user_id: int, email: str, role: str,
                  employer_id: int | None = None, *, second_factor_ok: bool = True) -> Person:
    browser = make_browser()
    await csrf_token(browser)
    token = await accounts.start_session(user_id, settings, second_factor_ok=second_factor_ok)
    browser.cookies.set("cc_session", token)
    return Person(user_id, email, browser, role, employer_id)


async def _expect_redirect(response, what: str) -> str:
    assert response.status_code == 303, f"{what}: {response.status_code} {response.text[:500]}"
    return response.headers["location"]


async def build_world(make_browser, settings: Settings) -> World:
    markers = {name: f"XSS-{name}-" + hashlib.sha1(name.encode()).hexdigest()[:6] for name in (
        "listing_title", "listing_description", "listing_benefits", "review_title", "employer_name", "employer_about",
        "profile_name", "profile_headline", "profile_summary", "cover_note", "note", "report_detail", "alert_query",
        "resume_filename")}
    anonymous = make_browser()
    await csrf_token(anonymous)

    coder_ids = await make_coders(2, "attack")
    coder_a = await _person(make_browser, settings, coder_ids[0], "attack0@example.org", "coder")
    coder_b = await _person(make_browser, settings, coder_ids[1], "attack1@example.org", "coder")
    emp_a, emp_a_user = await make_employer("Attack Health A", verified=False)
    emp_b, emp_b_user = await make_employer("Attack Health B", verified=False)
    employer_a = await _person(make_browser, settings, emp_a_user, "hr@attack-health-a.example", "employer", emp_a)
    employer_b = await _person(make_browser, settings, emp_b_user, "hr@attack-health-b.example", "employer", emp_b)
    teammate = User(email="mate@attack-health-a.example", password_hash=password_hash(), role="employer",
                    display_name="Mate A", email_confirmed_at=dt.datetime.now(dt.timezone.utc))
    teammate_user = (await User.insert(teammate).returning(User.id))[0]["id"]
    member_a = (await EmployerMember.insert(EmployerMember(employer=emp_a, user=teammate_user, role="member"))
                .returning(EmployerMember.id))[0]["id"]
    teammate_a = await _person(make_browser, settings, teammate_user, "mate@attack-health-a.example", "employer", emp_a)
    admin_id = (await User.insert(User(email="admin@attack.example", password_hash=password_hash(), role="admin",
                                       display_name="Admin", email_confirmed_at=dt.datetime.now(dt.timezone.utc)))
                .returning(User.id))[0]["id"]
    admin = await _person(make_browser, settings, admin_id, "admin@attack.example", "admin")

    # Employer A's organisation page, listings (through the posting form) and team.
    ea = employer_a.browser
    await _expect_redirect(await ea.submit("/employer/organisation", {
        "name": payload(markers["employer_name"]), "website": "https://attack-health-a.example",
        "about": markdown_payload(markers["employer_about"]), "hq_zip": "02110"}), "organisation")
    location = await _expect_redirect(await ea.submit("/employer/listings/new", listing_form(
        title=f"Coder {markers['listing_title']} <script>alert(1)</script>\"><img src=x onerror=alert(1)>",
        description=markdown_payload(markers["listing_description"]),
        benefits=payload(markers["listing_benefits"]))), "listing form")
    listing_a = int(re.fullmatch(r"/employer/listings/(\d+)", location).group(1))
    await listings_service.transition(listing_a, "published", actor_kind="admin")
    location = await _expect_redirect(await ea.submit("/employer/listings/new", listing_form(
        title="Outpatient draft coder", work_mode="remote")), "draft form")
    draft_a = int(location.rsplit("/", 1)[1])
    location = await _expect_redirect(await ea.submit("/employer/listings/new", listing_form(
        title=f"Review {markers['review_title']} <script>alert(1)</script>", work_mode="remote",
        description=markdown_payload("review-description"), employment_type="contract")), "review form")
    review_a = int(location.rsplit("/", 1)[1])
    await listings_service.transition(review_a, "awaiting_payment", actor_kind="employer")
    await listings_service.transition(review_a, "in_review", actor_kind="webhook")
    await _expect_redirect(await ea.submit("/employer/team/invite", {"email": "invitee@attack-health-a.example"}),
                           "invite")
    invite_a = (await EmployerInvite.select(EmployerInvite.id).where(EmployerInvite.employer == emp_a))[0]["id"]

    eb = employer_b.browser
    location = await _expect_redirect(
        await eb.submit("/employer/listings/new", listing_form(title="B's own coder job")), "employer B listing")
    listing_b = int(location.rsplit("/", 1)[1])
    await listings_service.transition(listing_b, "published", actor_kind="admin")

    # Coder A's profile, application (with a cover note), saved job, report and alert.
    ca = coder_a.browser
    handle_a = "attack-coder-a"
    await _expect_redirect(await ca.submit("/account/profile", {
        "handle": handle_a, "name": payload(markers["profile_name"]), "headline": payload(markers["profile_headline"]),
        "summary_md": markdown_payload(markers["profile_summary"]), "zip": "60614", "years_experience": "3",
        "credentials": ["CCS"], "year_CCS": "2019", "visible": "on", "desired_work_mode": "remote",
        "remote_states": ["IL"]}), "profile")
    await _expect_redirect(await ca.submit("/account/profile/resume", files={
        "resume": (payload(markers["resume_filename"]) + ".pdf", PDF, "application/pdf")}), "resume")
    await _expect_redirect(await ca.submit(f"/jobs/{listing_a}/apply", {"cover_note": payload(markers["cover_note"])}),
                           "apply")
    application_a = (await Application.select(Application.id).where(Application.listing == listing_a))[0]["id"]
    await _expect_redirect(await ca.submit(f"/jobs/{listing_a}/save", {}), "save")
    report = await ca.submit(f"/jobs/{listing_a}/report",
                             {"reason": "other", "detail": payload(markers["report_detail"])})
    assert report.status_code in (200, 303), report.text[:500]
    await _expect_redirect(await ca.submit("/alerts", {
        "query": "q=" + payload(markers["alert_query"]).replace("&", "%26"), "frequency": "daily"}), "alert")
    alert_a = (await JobAlert.select(JobAlert.id).where(JobAlert.user == coder_a.user_id))[0]["id"]

    # Employer A's private note on the application.
    await _expect_redirect(await ea.submit(f"/employer/applications/{application_a}/notes",
                                           {"body": payload(markers["note"])}), "note")

    plan = await Plan.objects().where(Plan.kind == "posting").first()
    order_a = (await Order.insert(Order(employer=emp_a, created_by=emp_a_user, kind="posting", plan=plan.id,
                                        listing=draft_a, description="Standard: draft", amount_cents=plan.price_cents,
                                        status="paid", paid_at=dt.datetime.now(dt.timezone.utc)))
               .returning(Order.id))[0]["id"]
    outbox_row = (await OutboxRow.select(OutboxRow.id).order_by(OutboxRow.id).first())["id"]
    return World(anonymous=anonymous, coder_a=coder_a, coder_b=coder_b, employer_a=employer_a, teammate_a=teammate_a,
                 employer_b=employer_b, admin=admin, listing_a=listing_a, draft_a=draft_a, review_a=review_a,
                 listing_b=listing_b, application_a=application_a, alert_a=alert_a, order_a=order_a,
                 invite_a=invite_a, member_a=member_a, handle_a=handle_a,
                 employer_slug_a="attack-health-a", outbox_row=outbox_row, plan_id=plan.id, markers=markers,
                 hidden_handle=f"attack-{coder_ids[1]}")


@pytest.fixture
async def world(make_browser, settings) -> World:
    return await build_world(make_browser, settings)


# ---- reading HTML like a browser would ----------------------------------------------------------


class ActiveContent(HTMLParser):
    """Collects everything in a page that could run script, and the page's visible text."""

    URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background", "srcset"}

    def __init__(self, allowed_script_prefixes: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed = allowed_script_prefixes
        self.problems: list[str] = []
        self.text: list[str] = []
        self._script: dict | None = None
        self._script_data: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"<{tag} {name}=...>: an event-handler attribute")
            if name.lower() in self.URL_ATTRIBUTES and value:
                squashed = re.sub(r"[\x00-\x20]", "", value).lower()
                if squashed.startswith(("javascript:", "vbscript:", "data:text/html")):
                    self.problems.append(f"<{tag} {name}={value!r}>: a script URL")
        if tag in ("iframe", "object", "embed", "base", "frame"):
            self.problems.append(f"<{tag}>: an embedding element")
        if tag == "img" and attributes.get("src") == "x":
            self.problems.append("<img src=x>: an injected image")
        if tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            self.problems.append("<meta http-equiv=refresh>")
        if tag == "script":
            self._script = attributes
            self._script_data = []

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self._check_script(self._script, "".join(self._script_data))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script_data.append(data)
        else:
            self.text.append(data)

    def _check_script(self, attributes: dict, body: str) -> None:
        import json

        src = attributes.get("src")
        if src:
            if not src.startswith(self.allowed):
                self.problems.append(f"<script src={src!r}>: not one of our scripts")
            return
        if attributes.get("type") == "application/ld+json":
            try:
                json.loads(body)
            except ValueError:
                self.problems.append(f"JSON-LD that is not JSON (broken out of?): {body[:200]!r}")
            return
        self.problems.append(f"inline <script>: {body[:200]!r}")


def active_content(html: str, settings: Settings) -> ActiveContent:
    parser = ActiveContent(("/static/", settings.stripe_js_url))
    parser.feed(html)
    parser.close()
    return parser


# ---- "nothing changed" ------------------------------------------------------------------------------

VOLATILE = {"sessions": None, "rate_limit_hits": None, "users": {"last_login_at"}, "piccolo_migration": None}


async def database_fingerprint() -> dict[str, str]:
    """A digest of every table's rows (sessions, rate-limit counters and login times left out)."""
    from careers.core import db
    from tests.conftest import _table_names

    digests = {}
    for name in sorted(await _table_names()):
        if name in VOLATILE and VOLATILE[name] is None:
            continue
        rows = await db.fetch(f'SELECT * FROM "{name}"')
        skip = VOLATILE.get(name) or set()
        canonical = sorted(repr(sorted((k, str(v)) for k, v in row.items() if k not in skip)) for row in rows)
        digests[name] = hashlib.sha256("\n".join(canonical).encode()).hexdigest()
    return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))


# ---- the app's routes ---------------------------------------------------------------------------------

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def app_routes(app) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves, HEAD/OPTIONS left out."""
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", None) or []:
                if method not in ("HEAD", "OPTIONS"):
                    found.add((method, route.path))
    return sorted(found, key=lambda mp: (mp[1], mp[0]))


def fill(path: str, values: dict[str, object]) -> str:
    """/jobs/{listing_id:int} -> /jobs/12 with the world's ids."""
    def one(match):
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for path parameter {name!r} in {path}")
        return str(values[name])

    return re.sub(r"\{(\w+)(?::\w+)?\}", one, path)
