"""Google readiness at posting time (issue 20): the posting form and the preview show a "Google for Jobs" panel
listing every required and recommended JobPosting property that is missing or weak, read from the JSON-LD code."""

from __future__ import annotations

import re

from employers.tables import Employer
from listings import readiness, service
from listings.tables import Listing
from tests import factories
from tests.conftest import register_employer
from tests.test_listings import full_form, job_posting, post_listing

LONG = "Code inpatient charts for a 300-bed hospital: DRG validation, physician queries, discharge summaries. " * 4
FINDING = re.compile(r'<li class="google-finding google-finding-(required|recommended)" data-property="([^"]+)">')


def panel(html: str) -> dict[str, str]:
    """property -> level, as the panel on the page lists them."""
    assert 'id="google-readiness"' in html and ">Google for Jobs</h2>" in html
    return {prop: level for level, prop in FINDING.findall(html)}


def summary(findings: list[readiness.Finding]) -> dict[str, str]:
    return {f.property: f.level for f in findings}


async def test_findings_name_every_missing_or_weak_property_of_a_draft():
    acme = await factories.make_employer("Acme Health")
    draft = await factories.make_listing(acme, "Inpatient Coder", status="draft", pay=(3, 5, "chart"),
                                         description="Code charts.")
    details = await service.listing_details(draft.id)
    assert summary(readiness.for_listing(draft, details, acme)) == {
        "description": "recommended",  # 12 characters
        "jobLocation.address.streetAddress": "recommended",
        "baseSalary.value.unitText": "recommended",  # per-chart pay has no schema.org unit
        "hiringOrganization.logo": "recommended",
    }

    await Listing.update({Listing.street_address: "100 Main St", Listing.description_md: LONG,
                          Listing.description_html: f"<p>{LONG}</p>", Listing.pay_unit: "hour"}).where(
        Listing.id == draft.id)
    await Employer.update({Employer.logo_path: "logos/acme.png"}).where(Employer.id == acme.id)
    draft = await Listing.objects().get(Listing.id == draft.id)
    acme = await Employer.objects().get(Employer.id == acme.id)
    assert readiness.for_listing(draft, details, acme) == []  # a draft gets datePosted/validThrough on publication

    remote = await factories.make_listing(acme, "Remote Coder", status="draft", work_mode="remote", zip_code="",
                                          city="", state="", description=LONG)
    assert readiness.for_listing(remote, await service.listing_details(remote.id), acme) == []


async def test_a_published_listings_findings_read_the_json_ld_the_page_serves(browser):
    acme = await factories.make_employer("Acme Health")
    listing = await factories.make_listing(acme, "Inpatient Coder", description=LONG, street_address="1 Main St")
    posting = job_posting((await browser.get(service.listing_path(listing))).text)
    assert posting["jobLocation"]["address"]["streetAddress"] == "1 Main St"
    assert "logo" not in posting["hiringOrganization"]
    findings = readiness.posting_findings(posting, listing.pay_unit)
    assert summary(findings) == {"hiringOrganization.logo": "recommended"}
    del posting["validThrough"], posting["jobLocation"]
    assert summary(readiness.posting_findings(posting, "hour")) == {
        "jobLocation": "required", "validThrough": "recommended", "hiringOrganization.logo": "recommended"}
    assert [f.level for f in readiness.posting_findings(posting, "hour")][0] == "required"  # required first


async def test_the_posting_form_shows_the_panel_for_what_is_typed(browser):
    await register_employer(browser)
    blank = panel((await browser.get("/employer/listings/new")).text)
    assert blank == {"title": "required", "description": "required", "baseSalary": "recommended",
                     "hiringOrganization.logo": "recommended"}  # the new form starts as a remote job

    # An invalid form comes back with the panel for the typed values (nothing here crashes on bad pay).
    response = await browser.submit("/employer/listings/new", full_form(
        title="URGENT!! Coder $30/hr", pay_min="Infinity", zip="02110", description=LONG))
    assert response.status_code == 400
    found = panel(response.text)
    assert found == {"title": "recommended", "jobLocation.address.streetAddress": "recommended",
                     "baseSalary": "recommended", "hiringOrganization.logo": "recommended"}
    assert '<a href="#f-street_address">Go to the field</a>' in response.text

    listing_id = await post_listing(browser, description=LONG, street_address="1 Main St", pay_unit="chart")
    edit = panel((await browser.get(f"/employer/listings/{listing_id}/edit")).text)
    assert edit == {"baseSalary.value.unitText": "recommended", "hiringOrganization.logo": "recommended"}


async def test_the_preview_shows_the_panel_with_links_to_the_edit_form(browser):
    await register_employer(browser)
    listing_id = await post_listing(browser, description="Short.", work_mode="hybrid")
    preview = await browser.get(f"/employer/listings/{listing_id}/preview")
    assert preview.status_code == 200
    assert panel(preview.text) == {"description": "recommended", "jobLocation.address.streetAddress": "recommended",
                                   "hiringOrganization.logo": "recommended"}
    assert f'<a href="/employer/listings/{listing_id}/edit#f-street_address">Fix it</a>' in preview.text

    saved = await browser.submit(f"/employer/listings/{listing_id}/edit", full_form(
        description=LONG, work_mode="hybrid", street_address="1 Main St"))
    assert saved.status_code == 303, saved.text
    await Employer.update({Employer.logo_path: "logos/acme.png"}).where(Employer.slug == "acme-health")
    preview = await browser.get(f"/employer/listings/{listing_id}/preview")
    assert panel(preview.text) == {}
    assert "Every required and recommended field Google for Jobs reads is filled in." in preview.text
