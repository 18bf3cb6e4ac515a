"""Listings over HTTP as employers, admins and visitors see them: posting, preview, publishing, the public page
with its JobPosting JSON-LD, 410s and redirects, safe descriptions, ownership, edits, duplicates and the API."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from careers.core.tables import OutboxRow
from employers.tables import Employer
from listings import service, stats
from listings.tables import (
    Listing,
    ListingCodeSet,
    ListingCredential,
    ListingEvent,
    ListingRemoteState,
    ListingSetting,
    ListingSpecialty,
)
from tests.conftest import create_admin, register_employer

IN_20_DAYS = (dt.date.today() + dt.timedelta(days=20)).isoformat()


def full_form(**changes) -> dict:
    """A posting form with every field filled in, as a person would submit it."""
    form = {
        "title": "Inpatient Coder (CCS)",
        "description": "Code **inpatient** charts.\n\n- DRG validation\n- Physician queries\n\n"
                       "[Our benefits](https://acmehealth.org/benefits)",
        "credentials_required": ["CCS"],
        "credentials_any_of": ["CIC", "RHIT"],
        "credentials_preferred": ["CDIP"],
        "settings": ["inpatient", "cdi"],
        "specialties": ["cardiology", "general_surgery"],
        "code_sets": ["icd10cm", "icd10pcs", "drg"],
        "work_mode": "onsite",
        "zip": "02110",
        "employment_type": "full_time",
        "min_years": "2",
        "entry_level_ok": "1",
        "pay_min": "28.50",
        "pay_max": "34",
        "pay_unit": "hour",
        "benefits": "Medical, dental, 401(k) match",
        "application_deadline": IN_20_DAYS,
        "apply_url": "",
        "requisition_id": "REQ-100",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


async def post_listing(browser, **changes) -> int:
    response = await browser.submit("/employer/listings/new", full_form(**changes))
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/employer/listings/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


@pytest.fixture
def admin_publish(make_browser):
    """Publish a listing without payment as a signed-in admin would (one admin per test)."""
    admins = []

    async def publish(listing_id: int) -> None:
        if not admins:
            admins.append(make_browser())
            await create_admin(admins[0])
        response = await admins[0].submit(f"/admin/listings/{listing_id}/publish")
        assert response.status_code == 303
        assert (await Listing.objects().get(Listing.id == listing_id)).status == "published"

    return publish


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the JSON-LD blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.jsonld: list[str] = []
        self._in_jsonld = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._in_jsonld = tag == "script" and attrs.get("type") == "application/ld+json"

    def handle_endtag(self, tag):
        self._in_jsonld = False

    def handle_data(self, data):
        if self._in_jsonld:
            self.jsonld.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def job_posting(html: str) -> dict:
    blocks = parse(html).jsonld
    assert len(blocks) == 1, "expected exactly one JSON-LD block"
    return json.loads(blocks[0])


# ---- posting ---------------------------------------------------------------------------------------


async def test_employer_creates_a_draft_with_every_field(browser):
    await register_employer(browser)
    form_page = await browser.get("/employer/listings/new")
    assert form_page.status_code == 200
    for name in ("title", "description", "credentials_required", "credentials_any_of", "credentials_preferred",
                 "zip", "remote_states", "pay_min", "pay_max", "pay_unit", "min_years", "benefits",
                 "application_deadline", "apply_url", "requisition_id", "employment_type", "entry_level_ok"):
        assert f'for="f-{name}"' in form_page.text, f"no label for {name}"
    for value in ("inpatient", "cardiology", "icd10pcs", "remote"):
        assert re.search(rf'<label for="f-\w+-{value}">', form_page.text), f"no label for the {value} choice"

    listing_id = await post_listing(browser, credentials_required=["ccs"])  # codes are case-insensitive
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing.status == "draft"
    assert (listing.title, listing.work_mode, listing.employment_type) == ("Inpatient Coder (CCS)", "onsite", "full_time")
    assert (listing.zip, listing.city, listing.state) == ("02110", "Boston", "MA")
    assert listing.lat == pytest.approx(42.36, abs=0.05) and listing.lng == pytest.approx(-71.05, abs=0.05)
    assert listing.pay_min == Decimal("28.50") and listing.pay_max == Decimal("34") and listing.pay_unit == "hour"
    assert (listing.pay_annual_min, listing.pay_annual_max) == (59280, 70720)
    assert listing.min_years == 2 and listing.entry_level_ok is True
    assert listing.application_deadline.isoformat() == IN_20_DAYS
    assert listing.requisition_id == "REQ-100" and listing.benefits == "Medical, dental, 401(k) match"
    assert "<strong>inpatient</strong>" in listing.description_html
    creds = {(r["credential"], r["kind"]) for r in await ListingCredential.select().where(
        ListingCredential.listing == listing_id)}
    assert creds == {("CCS", "required"), ("CIC", "any_of"), ("RHIT", "any_of"), ("CDIP", "preferred")}
    assert {r["value"] for r in await ListingSetting.select().where(ListingSetting.listing == listing_id)} == {
        "inpatient", "cdi"}
    assert {r["value"] for r in await ListingSpecialty.select().where(ListingSpecialty.listing == listing_id)} == {
        "cardiology", "general_surgery"}
    assert {r["value"] for r in await ListingCodeSet.select().where(ListingCodeSet.listing == listing_id)} == {
        "icd10cm", "icd10pcs", "drg"}

    manage = await browser.get(f"/employer/listings/{listing_id}")
    assert "Draft" in manage.text
    assert f'href="/employer/listings/{listing_id}/publish"' in manage.text and "Publish: choose a plan" in manage.text
    assert "created" in manage.text  # the history
    edit = await browser.get(f"/employer/listings/{listing_id}/edit")
    assert 'value="Inpatient Coder (CCS)"' in edit.text and '<option value="CCS" selected>' in edit.text


async def test_form_errors_are_shown_next_to_their_fields_and_the_input_is_kept(browser):
    await register_employer(browser)
    response = await browser.submit("/employer/listings/new", full_form(
        title="Coding Auditor", zip="00000", pay_min="40", pay_max="30.5", credentials_preferred=["XYZ"],
        application_deadline="2001-01-01", apply_url="javascript:alert(1)", settings=["inpatient", "spa"]))
    assert response.status_code == 400
    text = response.text
    assert "We do not know the US ZIP code “00000”" in text
    assert "The highest pay must be at least the lowest pay." in text
    assert "Unknown credential: XYZ" in text
    assert "The application deadline is in the past." in text
    assert "Enter a web address starting with https://" in text
    assert "Unknown setting: spa" in text
    assert 'value="Coding Auditor"' in text and 'value="40"' in text and 'value="00000"' in text
    assert '<option value="CCS" selected>' in text  # multi-selects keep their choices
    assert 'id="f-settings-inpatient" name="settings" value="inpatient" checked' in text
    assert 'href="#f-zip"' in text and 'aria-invalid="true"' in text
    assert await Listing.count() == 0


@pytest.mark.parametrize("changes, field_message", [
    ({"zip": "", "work_mode": "hybrid"}, "Enter the ZIP code of the workplace"),
    ({"remote_states": ["CA"], "work_mode": "onsite"}, "Only a remote job limits the states"),
    ({"pay_min": "", "pay_max": ""}, "Enter the lowest pay"),
    ({"pay_min": "23.505"}, "at most two decimal places"),
    ({"pay_unit": "year", "pay_min": "25", "pay_max": "30"}, "Did you mean per hour?"),
    ({"title": ""}, "Enter the job title."),
    ({"credentials_preferred": ["CCS"]}, "cannot be required and also listed as any-of or preferred"),
    ({"employment_type": "gig"}, "“gig” is not one of"),
])
async def test_each_rule_of_the_form_names_its_field(browser, changes, field_message):
    await register_employer(browser)
    response = await browser.submit("/employer/listings/new", full_form(**changes))
    assert response.status_code == 400
    assert field_message in response.text


async def test_a_remote_job_may_leave_out_the_zip_and_limit_states(browser):
    await register_employer(browser)
    listing_id = await post_listing(browser, work_mode="remote", zip="", remote_states=["tx", "CA"])
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert (listing.zip, listing.city, listing.state, listing.lat) == ("", "", "", None)
    states = [r["value"] for r in await ListingRemoteState.select().where(ListingRemoteState.listing == listing_id)]
    assert sorted(states) == ["CA", "TX"]


async def test_posting_needs_a_confirmed_email_and_says_why(browser):
    await register_employer(browser, confirm=False)
    page = await browser.get("/employer/listings/new")
    assert "Confirm your email address before posting a job" in page.text
    response = await browser.submit("/employer/listings/new", full_form())
    assert response.status_code == 403
    assert "Confirm your email address before posting a job" in response.text
    assert 'value="Inpatient Coder (CCS)"' in response.text
    assert await Listing.count() == 0


async def test_posting_is_rate_limited_per_account(frozen_clock, settings, database):
    import httpx

    from careers.app import create_app
    from tests.conftest import Browser

    app = create_app(settings.replace(post_rate=(1, 3600)))
    async with Browser(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as browser:
        await register_employer(browser)
        await post_listing(browser)
        response = await browser.submit("/employer/listings/new", full_form(title="Outpatient Coder"))
        assert response.status_code == 429
        assert "Too many attempts" in response.text
    assert await Listing.count() == 1


async def test_anonymous_visitors_go_to_login_and_coders_get_404(browser, make_browser):
    response = await browser.get("/employer/listings/new")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/employer/listings/new")
    from tests.conftest import register_coder

    coder = make_browser()
    await register_coder(coder)
    assert (await coder.get("/employer/listings/new")).status_code == 404


# ---- preview, publish, public page ----------------------------------------------------------------


async def test_preview_shows_the_draft_as_it_will_look_without_jsonld_and_the_public_gets_404(browser, make_browser):
    await register_employer(browser)
    listing_id = await post_listing(browser)
    listing = await Listing.objects().get(Listing.id == listing_id)
    preview = await browser.get(f"/employer/listings/{listing_id}/preview")
    assert preview.status_code == 200
    assert "Preview" in preview.text and "Inpatient Coder (CCS)" in preview.text
    assert "$28.50 – $34.00 per hour" in preview.text
    assert parse(preview.text).jsonld == []
    visitor = make_browser()
    assert (await visitor.get(f"/jobs/{listing_id}/{listing.slug}")).status_code == 404
    assert (await browser.get(f"/jobs/{listing_id}/{listing.slug}")).status_code == 404  # even for the owner


async def test_the_preview_shows_the_same_facts_and_description_as_the_public_page(browser, make_browser, admin_publish):
    await register_employer(browser)
    listing_id = await post_listing(browser, description="Code **inpatient** charts.\n\n<em>Epic</em> experience")
    await admin_publish(listing_id)
    listing = await Listing.objects().get(Listing.id == listing_id)
    preview = (await browser.get(f"/employer/listings/{listing_id}/preview")).text
    public = (await make_browser().get(f"/jobs/{listing_id}/{listing.slug}")).text

    def shown(html: str) -> tuple[str, str, str]:
        header = re.search(r'<header class="listing-head">.*?</header>', html, re.S).group(0)
        facts = re.search(r'<dl class="facts">.*?</dl>', html, re.S).group(0)
        description = re.search(r'<section class="description".*?</section>', html, re.S).group(0)
        return header, facts, description

    assert shown(preview) == shown(public)
    assert "<strong>inpatient</strong>" in shown(public)[2] and "Listed until" in shown(public)[1]


async def test_admin_publish_puts_the_listing_live_with_every_fact_in_plain_words(browser, make_browser, admin_publish):
    await register_employer(browser)
    listing_id = await post_listing(browser)
    await admin_publish(listing_id)
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing.published_at is not None
    assert listing.expires_at - listing.published_at == dt.timedelta(days=30)
    event = await ListingEvent.objects().where(ListingEvent.listing == listing_id).order_by(
        ListingEvent.id, ascending=False).first()
    assert (event.from_status, event.to_status, event.actor_kind) == ("draft", "published", "admin")

    visitor = make_browser()
    page = await visitor.get(f"/jobs/{listing_id}/{listing.slug}")
    assert page.status_code == 200
    text = page.text
    for fact in ("Inpatient Coder (CCS)", "On-site in Boston, MA 02110", "Full time", "$28.50 – $34.00 per hour",
                 "about $59,280 – $70,720 a year", "Certified Coding Specialist", "Certified Inpatient Coder",
                 "Registered Health Information Technician", "Certified Documentation Integrity Practitioner",
                 "Inpatient facility", "Clinical documentation integrity (CDI)", "Cardiology", "General surgery",
                 "ICD-10-PCS", "DRG", "At least 2 years of coding experience", "apprentices (CPC-A) are welcome",
                 "Medical, dental, 401(k) match", "REQ-100", 'href="/employers/acme-health"', "Acme Health"):
        assert fact in text, fact
    assert 'href="/login?next=/jobs/%d">Log in to apply</a>' % listing_id in text  # the apply call-to-action
    await visitor.get(f"/jobs/{listing_id}/{listing.slug}")
    await stats.flush()  # views are buffered in memory, then added to listing_daily_stats
    assert (await stats.totals([listing_id]))[listing_id]["views"] == 2
    dashboard = await browser.get("/employer")
    assert "Published (1)" in dashboard.text and "Inpatient Coder (CCS)" in dashboard.text


async def test_jsonld_of_an_onsite_listing_has_every_required_and_recommended_property(browser, make_browser, admin_publish):
    await register_employer(browser)
    listing_id = await post_listing(browser)
    await admin_publish(listing_id)
    listing = await Listing.objects().get(Listing.id == listing_id)
    data = job_posting((await make_browser().get(f"/jobs/{listing_id}/{listing.slug}")).text)

    assert data["@context"] == "https://schema.org/" and data["@type"] == "JobPosting"
    assert data["title"] == "Inpatient Coder (CCS)"
    assert "<strong>inpatient</strong>" in data["description"]
    assert dt.datetime.fromisoformat(data["datePosted"]) == listing.published_at.replace(microsecond=0)
    assert dt.datetime.fromisoformat(data["validThrough"]) <= listing.expires_at
    assert data["hiringOrganization"] == {"@type": "Organization", "name": "Acme Health",
                                          "sameAs": "https://acmehealth.org"}
    assert data["jobLocation"] == {"@type": "Place", "address": {
        "@type": "PostalAddress", "addressLocality": "Boston", "addressRegion": "MA", "postalCode": "02110",
        "addressCountry": "US"}}
    assert "jobLocationType" not in data
    assert data["employmentType"] == "FULL_TIME"
    assert data["baseSalary"] == {"@type": "MonetaryAmount", "currency": "USD", "value": {
        "@type": "QuantitativeValue", "minValue": 28.5, "maxValue": 34, "unitText": "HOUR"}}
    assert data["identifier"] == {"@type": "PropertyValue", "name": "Acme Health", "value": "REQ-100"}
    assert data["directApply"] is True


async def test_jsonld_of_a_remote_listing_says_telecommute_and_where_applicants_may_live(browser, make_browser, admin_publish):
    await register_employer(browser)
    await Employer.update({Employer.website: ""}).where(Employer.slug == "acme-health")
    states_id = await post_listing(browser, title="Remote Risk Adjustment Coder", work_mode="remote", zip="",
                                   remote_states=["CA", "TX"], pay_unit="year", pay_min="52000", pay_max="60000",
                                   employment_type="contract", requisition_id="",
                                   apply_url="https://jobs.acmehealth.org/123")
    anywhere_id = await post_listing(browser, title="Remote CDI Specialist", work_mode="remote", zip="",
                                     employment_type="per_diem", pay_unit="chart", pay_min="1.25", pay_max="2")
    await admin_publish(states_id)
    await admin_publish(anywhere_id)
    visitor = make_browser()

    listing = await Listing.objects().get(Listing.id == states_id)
    page = await visitor.get(f"/jobs/{states_id}/{listing.slug}")
    data = job_posting(page.text)
    assert data["jobLocationType"] == "TELECOMMUTE" and "jobLocation" not in data
    assert data["applicantLocationRequirements"] == [{"@type": "State", "name": "California"},
                                                     {"@type": "State", "name": "Texas"}]
    assert data["employmentType"] == "CONTRACTOR"
    assert data["baseSalary"]["value"] == {"@type": "QuantitativeValue", "minValue": 52000, "maxValue": 60000,
                                           "unitText": "YEAR"}
    assert data["hiringOrganization"]["sameAs"] == "http://testserver/employers/acme-health"
    assert data["identifier"] == {"@type": "PropertyValue", "name": "Acme Health", "value": str(states_id)}
    assert data["directApply"] is False
    assert "Remote — open to residents of California, Texas" in page.text
    link = [a for tag, a in parse(page.text).tags if tag == "a" and a.get("href") == f"/jobs/{states_id}/external-apply"]
    assert link and link[0]["rel"] == "nofollow noopener"
    out = await visitor.get(f"/jobs/{states_id}/external-apply")
    assert out.status_code == 303 and out.headers["location"] == "https://jobs.acmehealth.org/123"
    await stats.flush()
    assert (await stats.totals([states_id]))[states_id]["apply_clicks"] == 1

    listing = await Listing.objects().get(Listing.id == anywhere_id)
    page = await visitor.get(f"/jobs/{anywhere_id}/{listing.slug}")
    data = job_posting(page.text)
    assert data["applicantLocationRequirements"] == {"@type": "Country", "name": "US"}
    assert data["employmentType"] == "PER_DIEM"
    assert "baseSalary" not in data  # per-chart pay cannot be expressed
    assert "$1.25 – $2.00 per chart" in page.text and "open to residents of all US states" in page.text


async def test_expired_closed_and_removed_listings_answer_410_without_jsonld(browser, make_browser, admin_publish):
    await register_employer(browser)
    ids = [await post_listing(browser, title=f"Coder {n}") for n in ("A", "B", "C")]
    for listing_id in ids:
        await admin_publish(listing_id)
    await service.transition(ids[0], "expired", actor_kind="system")
    closed = await browser.submit(f"/employer/listings/{ids[1]}/close", {"reason": "filled"})
    assert closed.status_code == 303
    await service.transition(ids[2], "removed", actor_kind="admin", reason="takedown")
    visitor = make_browser()
    for listing_id in ids:
        listing = await Listing.objects().get(Listing.id == listing_id)
        page = await visitor.get(f"/jobs/{listing_id}/{listing.slug}")
        assert page.status_code == 410, listing.status
        assert "This job is no longer available" in page.text
        assert "application/ld+json" not in page.text
    assert "the listing expired" in (await visitor.get(f"/jobs/{ids[0]}/coder-a-boston-ma")).text


async def test_a_wrong_slug_redirects_permanently_to_the_right_one(browser, make_browser, admin_publish):
    await register_employer(browser)
    listing_id = await post_listing(browser)
    await admin_publish(listing_id)
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing.slug == "inpatient-coder-ccs-boston-ma"
    visitor = make_browser()
    for wrong in (f"/jobs/{listing_id}/old-title", f"/jobs/{listing_id}"):
        response = await visitor.get(wrong)
        assert response.status_code == 301 and response.headers["location"] == f"/jobs/{listing_id}/{listing.slug}"
    assert (await visitor.get("/jobs/999999/anything")).status_code == 404


async def test_a_hostile_description_renders_inert(browser, make_browser, admin_publish):
    await register_employer(browser)
    hostile = ('Hello <script>alert("x")</script>\n\n<img src=x onerror=alert(1)>\n\n'
               '[click me](javascript:alert(2)) <a href="JaVaScRiPt:alert(3)" onclick="evil()">there</a>\n\n'
               '[our site](https://acmehealth.org/careers)\n\n'
               '<iframe src="https://evil.example"></iframe><style>body{display:none}</style>'
               '<p style="color:red" onmouseover="x()">styled</p>\n\n</script><!-- comment -->')
    listing_id = await post_listing(browser, description=hostile)
    await admin_publish(listing_id)
    listing = await Listing.objects().get(Listing.id == listing_id)
    for url in (f"/jobs/{listing_id}/{listing.slug}", f"/employer/listings/{listing_id}/preview"):
        client = browser if "preview" in url else make_browser()
        page = await client.get(url)
        tags = parse(page.text).tags
        assert not [t for t, _ in tags if t in ("iframe", "style", "object", "embed")]
        # only our own files from /static (htmx, app.js) and, on the public page, the JSON-LD
        inline = [t for t, a in tags if t == "script" and not (a.get("src") or "").startswith("/static/")]
        assert inline == ([] if "preview" in url else ["script"])
        for tag, attrs in tags:
            assert not any(name.startswith("on") for name in attrs), (tag, attrs)
            assert "style" not in attrs, (tag, attrs)
            assert not (attrs.get("href") or "").lower().strip().startswith("javascript"), (tag, attrs)
        assert 'alert("x")' not in page.text
    # Pasted HTML is parsed and sanitised: formatting survives, the rest goes; links get rel.
    assert "<p>styled</p>" in listing.description_html
    assert 'href="https://acmehealth.org/careers" rel="nofollow noopener noreferrer"' in listing.description_html
    data = job_posting((await make_browser().get(f"/jobs/{listing_id}/{listing.slug}")).text)
    described = parse(data["description"]).tags
    assert {t for t, _ in described} == {"p", "a"} and not [n for _, a in described for n in a if n.startswith("on")]


async def test_jsonld_cannot_break_out_of_its_script_element(browser, make_browser, admin_publish):
    await register_employer(browser)
    listing_id = await post_listing(browser, title="Coder </script><script>alert(1)</script> <!--")
    await admin_publish(listing_id)
    listing = await Listing.objects().get(Listing.id == listing_id)
    page = await make_browser().get(f"/jobs/{listing_id}/{listing.slug}")
    head = page.text.split("</head>")[0]
    block = head.split('<script type="application/ld+json">')[1].split("</script>")[0]
    assert "<" not in block
    assert json.loads(block)["title"] == "Coder </script><script>alert(1)</script> <!--"


# ---- ownership ----------------------------------------------------------------------------------


async def test_another_employer_gets_404_on_every_route_of_your_listing(browser, make_browser):
    await register_employer(browser)
    listing_id = await post_listing(browser)
    other = make_browser()
    await register_employer(other, "jobs@rivalclinic.org", org="Rival Clinic", website="https://rivalclinic.org")
    for path in ("", "/edit", "/preview"):
        assert (await other.get(f"/employer/listings/{listing_id}{path}")).status_code == 404, path
    for path in ("/edit", "/close", "/clone"):
        assert (await other.submit(f"/employer/listings/{listing_id}{path}", full_form())).status_code == 404, path
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing.title == "Inpatient Coder (CCS)" and await Listing.count() == 1


async def test_a_teammate_of_the_same_employer_may_manage_the_listing(browser, make_browser):
    from careers.accounts.service import create_user
    from employers.tables import EmployerMember
    from tests.conftest import login

    await register_employer(browser)
    listing_id = await post_listing(browser)
    employer = await Employer.objects().get(Employer.slug == "acme-health")
    mate = await create_user("mate@acmehealth.org", "correct horse battery", "employer", confirmed=True)
    await EmployerMember.insert(EmployerMember(employer=employer.id, user=mate.id))
    teammate = make_browser()
    await login(teammate, "mate@acmehealth.org")
    assert (await teammate.get(f"/employer/listings/{listing_id}/edit")).status_code == 200


# ---- editing, duplicates, cloning --------------------------------------------------------------------


async def test_an_unverified_employers_pay_edit_sends_a_live_listing_back_to_review(browser, make_browser, admin_publish):
    await register_employer(browser)
    listing_id = await post_listing(browser)
    await admin_publish(listing_id)
    response = await browser.submit(f"/employer/listings/{listing_id}/edit", full_form(pay_max="40"))
    assert response.status_code == 303
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing.status == "in_review" and listing.pay_max == Decimal("40")
    event = await ListingEvent.objects().where(ListingEvent.listing == listing_id).order_by(
        ListingEvent.id, ascending=False).first()
    assert (event.from_status, event.to_status, event.actor_kind) == ("published", "in_review", "employer")
    assert "pay" in event.reason
    assert (await make_browser().get(f"/jobs/{listing_id}/{listing.slug}")).status_code == 404


async def test_an_unverified_employers_benefits_edit_stays_live_and_is_reindexed(browser, make_browser, admin_publish):
    await register_employer(browser)
    listing_id = await post_listing(browser)
    await admin_publish(listing_id)
    before = await OutboxRow.count().where(OutboxRow.kind == "search.sync")
    response = await browser.submit(f"/employer/listings/{listing_id}/edit", full_form(benefits="Four-day week"))
    assert response.status_code == 303
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing.status == "published" and listing.benefits == "Four-day week"
    assert await OutboxRow.count().where(OutboxRow.kind == "search.sync") == before + 1


async def test_a_verified_employers_title_edit_stays_published_and_is_reindexed(browser, make_browser, admin_publish):
    await register_employer(browser)
    await Employer.update({Employer.verified: True}).where(Employer.slug == "acme-health")
    listing_id = await post_listing(browser)
    await admin_publish(listing_id)
    before = await OutboxRow.count().where(OutboxRow.kind == "search.sync")
    response = await browser.submit(f"/employer/listings/{listing_id}/edit", full_form(title="Senior Inpatient Coder"))
    assert response.status_code == 303
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing.status == "published" and listing.slug == "senior-inpatient-coder-boston-ma"
    rows = await OutboxRow.select().where(OutboxRow.kind == "search.sync").output(load_json=True)
    assert len(rows) == before + 1 and rows[-1]["payload"] == {"listing_id": listing_id}
    assert (await make_browser().get(f"/jobs/{listing_id}/inpatient-coder-ccs-boston-ma")).status_code == 301


async def test_the_duplicate_guard_names_the_listing_it_duplicates(browser):
    await register_employer(browser)
    first = await post_listing(browser, requisition_id="")
    response = await browser.submit("/employer/listings/new", full_form(title="  inpatient CODER – ccs ",
                                                                        requisition_id=""))
    assert response.status_code == 400
    assert f"This duplicates your listing #{first} “Inpatient Coder (CCS)”" in response.text
    # Another place, or two different requisition ids, are different jobs.
    await post_listing(browser, zip="60601", requisition_id="")
    await post_listing(browser, title="Coding Auditor", requisition_id="REQ-7")
    second = await post_listing(browser, title="Coding Auditor", requisition_id="REQ-8")
    assert await Listing.count() == 4
    response = await browser.submit("/employer/listings/new", full_form(title="Coding Auditor", requisition_id="REQ-7"))
    assert response.status_code == 400 and "This duplicates your listing" in response.text
    # Editing a listing into a duplicate of another is refused too.
    response = await browser.submit(f"/employer/listings/{second}/edit",
                                    full_form(title="Coding Auditor", requisition_id="REQ-7"))
    assert response.status_code == 400 and "This duplicates your listing" in response.text
    assert 'value="REQ-7"' in response.text


async def test_a_closed_listing_no_longer_blocks_the_same_title(browser, make_browser, admin_publish):
    await register_employer(browser)
    first = await post_listing(browser)
    await admin_publish(first)
    await browser.submit(f"/employer/listings/{first}/close", {"reason": "filled"})
    await post_listing(browser)
    assert await Listing.count() == 2


async def test_cloning_makes_a_new_draft_with_the_same_content(browser, make_browser, admin_publish):
    await register_employer(browser)
    original = await post_listing(browser)
    await admin_publish(original)
    response = await browser.submit(f"/employer/listings/{original}/clone")
    assert response.status_code == 303
    copy_id = int(re.search(r"/employer/listings/(\d+)/edit", response.headers["location"]).group(1))
    copy = await Listing.objects().get(Listing.id == copy_id)
    assert copy.status == "draft" and copy.requisition_id == "" and copy.title == "Inpatient Coder (CCS) (copy)"
    assert copy.description_md == (await Listing.objects().get(Listing.id == original)).description_md
    assert {(r["credential"], r["kind"]) for r in await ListingCredential.select().where(
        ListingCredential.listing == copy_id)} == {("CCS", "required"), ("CIC", "any_of"), ("RHIT", "any_of"),
                                                   ("CDIP", "preferred")}


async def test_the_dashboard_groups_listings_by_status_with_their_counts(browser, make_browser, admin_publish):
    from tests.test_employer_dashboard import card

    await register_employer(browser)
    live = await post_listing(browser, title="Outpatient Coder")
    await post_listing(browser, title="Risk Adjustment Coder")
    await admin_publish(live)
    listing = await Listing.objects().get(Listing.id == live)
    await make_browser().get(f"/jobs/{live}/{listing.slug}")
    await stats.flush()
    page = await browser.get("/employer")
    text = page.text
    assert "Published (1)" in text and "Draft (1)" in text
    assert text.index("Published (1)") < text.index("Draft (1)")
    figures = card(text, "Outpatient Coder")
    assert (figures["views"], figures["apply_clicks"], figures["applications"]) == ("1", "0", "0")

    from careers.accounts.service import create_user
    from careers.coders.tables import Application

    coder = await create_user("casey@example.org", "correct horse battery", "coder", confirmed=True)
    await Application.insert(Application(listing=live, coder=coder.id, listing_coder=f"{live}:{coder.id}"))
    figures = card((await browser.get("/employer")).text, "Outpatient Coder")
    assert (figures["views"], figures["apply_clicks"], figures["applications"]) == ("1", "0", "1")


# ---- JSON API ------------------------------------------------------------------------------------------


async def test_the_api_returns_a_published_listing_in_the_vocabulary_and_404_otherwise(browser, make_browser, admin_publish):
    await register_employer(browser)
    listing_id = await post_listing(browser)
    client = make_browser()
    draft = await client.get(f"/api/v1/listings/{listing_id}")
    assert draft.status_code == 404
    assert draft.json() == {"error": "Page not found", "detail": "No published listing has this id.", "fields": {}}
    await admin_publish(listing_id)
    body = (await client.get(f"/api/v1/listings/{listing_id}")).json()
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert body["id"] == listing_id and body["status"] == "published"
    assert body["url"] == f"http://testserver/jobs/{listing_id}/{listing.slug}"
    assert body["employer"] == {"name": "Acme Health", "slug": "acme-health", "verified": False,
                                "response": {"median_first_action_days": None, "status_within_14_days": None,
                                             "applications_counted": 0}}  # issue 18: every key, always
    assert body["description"].startswith("Code **inpatient** charts.")
    assert "<strong>inpatient</strong>" in body["description_html"]
    assert body["credentials_required"] == ["CCS"] and sorted(body["credentials_any_of"]) == ["CIC", "RHIT"]
    assert body["credentials_preferred"] == ["CDIP"]
    assert body["settings"] == ["inpatient", "cdi"] and body["code_sets"] == ["icd10cm", "icd10pcs", "drg"]
    assert body["specialties"] == ["cardiology", "general_surgery"] and body["remote_states"] == []
    assert (body["work_mode"], body["zip"], body["city"], body["state"]) == ("onsite", "02110", "Boston", "MA")
    assert isinstance(body["lat"], float) and isinstance(body["lng"], float)
    assert (body["pay_min"], body["pay_max"], body["pay_unit"]) == (28.5, 34.0, "hour")
    assert (body["pay_annual_min"], body["pay_annual_max"]) == (59280, 70720)
    assert (body["employment_type"], body["min_years"], body["entry_level_ok"]) == ("full_time", 2, True)
    assert body["application_deadline"] == IN_20_DAYS and body["apply_url"] is None
    assert body["requisition_id"] == "REQ-100" and body["benefits"] == "Medical, dental, 401(k) match"
    assert dt.datetime.fromisoformat(body["published_at"].replace("Z", "+00:00")) == listing.published_at
    assert dt.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")) == listing.expires_at
    await service.set_hidden(listing_id, True, actor_kind="admin", reason="report")
    assert (await client.get(f"/api/v1/listings/{listing_id}")).status_code == 404
    assert (await client.get("/api/v1/listings/999999")).status_code == 404


async def test_the_listing_api_is_described_in_the_openapi_schema(browser):
    schema = (await browser.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/api/v1/listings/{listing_id}"]["get"]
    assert "200" in operation["responses"] and "404" in operation["responses"]
    components = json.dumps(schema["components"])
    assert "ListingOut" in components and "pay_annual_min" in components


async def test_admin_finds_listings_and_non_admins_get_404(browser, make_browser):
    await register_employer(browser)
    listing_id = await post_listing(browser)
    assert (await browser.get("/admin/listings")).status_code == 404
    assert (await browser.submit(f"/admin/listings/{listing_id}/publish")).status_code == 404
    admin = make_browser()
    await create_admin(admin)
    page = await admin.get("/admin/listings", params={"q": "inpatient coder", "status": "draft"})
    assert "Inpatient Coder (CCS)" in page.text and "Publish without payment" in page.text
    assert "Inpatient Coder" not in (await admin.get("/admin/listings", params={"status": "published"})).text
    assert (await admin.submit(f"/admin/listings/{listing_id}/publish")).status_code == 303
    from careers.accounts.tables import AuditEntry

    entry = await AuditEntry.objects().where(AuditEntry.action == "published without payment").first()
    assert entry.listing_id == listing_id and entry.actor_label == "admin@careercenter.org"
