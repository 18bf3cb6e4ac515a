"""Aggregator feeds (issue 20): /feeds/indeed.xml and /feeds/linkedin.xml list every published, visible listing
with the specified fields and no other, as valid XML with CDATA text; an employer can opt a listing out; the
feeds follow changes at once."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime

from employers.tables import Employer
from listings import service
from listings.tables import Listing
from tests import factories
from tests.conftest import register_employer
from tests.test_listings import full_form, post_listing

INDEED_FIELDS = ["title", "date", "referencenumber", "requisitionid", "url", "company", "sourcename", "city", "state",
                 "country", "postalcode", "streetaddress", "description", "salary", "education", "jobtype",
                 "category", "experience", "expirationdate", "remotetype"]
LINKEDIN_FIELDS = ["partnerJobId", "company", "title", "description", "location", "city", "state", "country",
                   "postalCode", "applyUrl", "workplaceTypes", "jobtype", "salaries"]


async def board():
    """An on-site job with a street address, a remote per-chart job, and listings no feed may carry."""
    acme = await factories.make_employer("Acme <Health> & Sons", verified=True)
    onsite = await factories.make_listing(
        acme, "Inpatient Coder ]]> <b>III</b>", zip_code="78701", city="Austin", state="TX",
        pay=("23.50", 28, "hour"), required=["CCS"], any_of=["CIC", "RHIT"], preferred=["CDIP"],
        settings=["inpatient", "cdi"], description="Code **inpatient** charts.", street_address="100 Congress Ave",
        requisition_id="REQ-7", min_years=2, employment_type="per_diem")
    remote = await factories.make_listing(
        acme, "Remote Pro-fee Coder", work_mode="remote", zip_code="", city="", state="", pay=(3, 5, "chart"),
        employment_type="contract", entry_level_ok=True, application_deadline=dt.date(2099, 1, 10))
    yearly = await factories.make_listing(acme, "Coding Manager", work_mode="hybrid", pay=(70000, 80000, "year"))
    await factories.make_listing(acme, "Draft Coder", status="draft")
    await factories.make_listing(acme, "Hidden Coder", hidden=True)
    await factories.make_listing(acme, "Expired Coder", status="expired")
    await factories.make_listing(acme, "Opted-out Coder", syndicate_opt_out=True)
    await factories.make_listing("Suspended Clinic", "Suspended Employer's Coder")
    await Employer.update({Employer.suspended: True}).where(Employer.slug == "suspended-clinic")
    return onsite, remote, yearly


def jobs(body: bytes) -> tuple[ET.Element, dict[str, dict[str, ET.Element]]]:
    root = ET.fromstring(body)
    assert root.tag == "source"
    return root, {job.findtext("title"): {child.tag: child for child in job} for job in root.findall("job")}


async def test_indeed_feed_lists_every_visible_listing_with_the_specified_fields(browser):
    onsite, remote, yearly = await board()
    response = await browser.get("/feeds/indeed.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    assert b"<description><![CDATA[<p>Code <strong>inpatient</strong> charts.</p>" in response.content
    root, found = jobs(response.content)
    assert [child.tag for child in root if child.tag != "job"] == ["publisher", "publisherurl"]
    assert root.findtext("publisher") == "CareerCenter" and root.findtext("publisherurl") == "http://testserver/"
    assert sorted(found) == sorted([onsite.title, remote.title, yearly.title])
    for job in root.findall("job"):
        assert [child.tag for child in job] == INDEED_FIELDS

    job = {tag: element.text or "" for tag, element in found[onsite.title].items()}
    onsite = await Listing.objects().get(Listing.id == onsite.id)
    assert job.pop("date") == onsite.published_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert job.pop("expirationdate") == onsite.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert job == {
        "title": "Inpatient Coder ]]> <b>III</b>", "referencenumber": str(onsite.id), "requisitionid": "REQ-7",
        "url": f"http://testserver/jobs/{onsite.id}/{onsite.slug}?utm_source=indeed",
        "company": "Acme <Health> & Sons", "sourcename": "Acme <Health> & Sons", "city": "Austin", "state": "TX",
        "country": "US", "postalcode": "78701", "streetaddress": "100 Congress Ave",
        "description": "<p>Code <strong>inpatient</strong> charts.</p>", "salary": "$23.50 – $28.00 per hour",
        "education": "Required credentials: CCS; Any one of: CIC, RHIT; Preferred: CDIP", "jobtype": "perdiem",
        "category": "Medical Coding, Inpatient facility, Clinical documentation integrity (CDI)",
        "experience": "2+ years", "remotetype": "",
    }
    job = {tag: element.text or "" for tag, element in found[remote.title].items()}
    assert (job["city"], job["state"], job["postalcode"], job["streetaddress"]) == ("", "", "", "")
    assert (job["salary"], job["jobtype"], job["remotetype"]) == (
        "$3.00 – $5.00 per chart", "contract", "Fully remote")
    assert (job["education"], job["experience"], job["category"]) == ("", "Entry level", "Medical Coding")
    deadline = dt.datetime.fromisoformat(job["expirationdate"])
    remote = await Listing.objects().get(Listing.id == remote.id)
    assert deadline == min(remote.expires_at.replace(microsecond=0),
                           dt.datetime(2099, 1, 10, 23, 59, 59, tzinfo=dt.UTC))
    assert found[yearly.title]["remotetype"].text == "Hybrid remote"


async def test_linkedin_feed_lists_every_visible_listing_with_the_specified_fields(browser):
    onsite, remote, yearly = await board()
    response = await browser.get("/feeds/linkedin.xml")
    assert response.status_code == 200
    root, found = jobs(response.content)
    assert [child.tag for child in root if child.tag != "job"] == ["publisher", "publisherUrl", "lastBuildDate",
                                                                   "expectedJobCount"]
    assert root.findtext("expectedJobCount") == "3"
    rows = await Listing.objects().where(Listing.id.is_in([onsite.id, remote.id, yearly.id]))
    newest = max(row.updated_at for row in rows).replace(microsecond=0)
    assert parsedate_to_datetime(root.findtext("lastBuildDate")) == newest
    assert sorted(found) == sorted([onsite.title, remote.title, yearly.title])
    for job in root.findall("job"):
        assert [child.tag for child in job] == LINKEDIN_FIELDS

    job = found[onsite.title]
    assert {tag: element.text or "" for tag, element in job.items() if tag != "salaries"} == {
        "partnerJobId": str(onsite.id), "company": "Acme <Health> & Sons", "title": "Inpatient Coder ]]> <b>III</b>",
        "description": "<p>Code <strong>inpatient</strong> charts.</p>", "location": "Austin, TX, US",
        "city": "Austin", "state": "TX", "country": "US", "postalCode": "78701",
        "applyUrl": f"http://testserver/jobs/{onsite.id}/{onsite.slug}?utm_source=linkedin",
        "workplaceTypes": "On-site", "jobtype": "OTHER",
    }
    salary = job["salaries"].find("salary")
    assert [c.tag for c in salary] == ["highEnd", "lowEnd", "period", "type"]
    assert (salary.findtext("highEnd/amount"), salary.findtext("lowEnd/amount")) == ("28.00", "23.50")
    assert (salary.findtext("highEnd/currencyCode"), salary.findtext("period"), salary.findtext("type")) == (
        "USD", "HOURLY", "BASE_SALARY")
    assert found[yearly.title]["salaries"].findtext("salary/period") == "YEARLY"
    assert found[yearly.title]["workplaceTypes"].text == "Hybrid"
    remote_job = found[remote.title]
    assert remote_job["location"].text == "United States" and remote_job["workplaceTypes"].text == "Remote"
    assert remote_job["jobtype"].text == "CONTRACT"
    assert list(remote_job["salaries"]) == []  # per-chart pay has no LinkedIn period


async def test_an_employer_opts_a_listing_out_on_the_posting_form_and_the_feeds_follow_changes(
        browser, make_browser):
    await register_employer(browser)
    form_page = await browser.get("/employer/listings/new")
    assert 'for="f-syndicate_opt_out"' in form_page.text and 'for="f-street_address"' in form_page.text
    listing_id = await post_listing(browser, syndicate_opt_out="1", street_address="1 Main St")
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing.syndicate_opt_out is True and listing.street_address == "1 Main St"
    await service.transition(listing_id, "published", actor_kind="admin")
    visitor = make_browser()
    for feed in ("/feeds/indeed.xml", "/feeds/linkedin.xml"):
        assert jobs((await visitor.get(feed)).content)[1] == {}

    edit = await browser.get(f"/employer/listings/{listing_id}/edit")
    assert 'id="f-syndicate_opt_out" name="syndicate_opt_out" value="1" checked' in edit.text
    saved = await browser.submit(f"/employer/listings/{listing_id}/edit", full_form(street_address="1 Main St"))
    assert saved.status_code == 303, saved.text
    assert (await Listing.objects().get(Listing.id == listing_id)).syndicate_opt_out is False
    for feed in ("/feeds/indeed.xml", "/feeds/linkedin.xml"):
        assert list(jobs((await visitor.get(feed)).content)[1]) == ["Inpatient Coder (CCS)"]
    indeed = jobs((await visitor.get("/feeds/indeed.xml")).content)[1]["Inpatient Coder (CCS)"]
    assert indeed["streetaddress"].text == "1 Main St"

    await service.set_hidden(listing_id, True, actor_kind="admin", reason="reports")
    for feed in ("/feeds/indeed.xml", "/feeds/linkedin.xml"):
        assert jobs((await visitor.get(feed)).content)[1] == {}


async def test_a_remote_listing_keeps_no_street_address(browser):
    await register_employer(browser)
    listing_id = await post_listing(browser, work_mode="remote", zip="", street_address="1 Main St")
    assert (await Listing.objects().get(Listing.id == listing_id)).street_address == ""


async def test_empty_feeds_are_valid_xml(browser):
    for feed in ("/feeds/indeed.xml", "/feeds/linkedin.xml"):
        root, found = jobs((await browser.get(feed)).content)
        assert found == {} and root.findtext("publisher") == "CareerCenter"


async def test_an_unverified_employers_new_street_address_goes_back_to_review(browser):
    await register_employer(browser)
    listing_id = await post_listing(browser, street_address="1 Main St")
    await service.transition(listing_id, "published", actor_kind="admin")
    saved = await browser.submit(f"/employer/listings/{listing_id}/edit", full_form(street_address="9 Other Rd"))
    assert saved.status_code == 303, saved.text
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert (listing.status, listing.street_address) == ("in_review", "9 Other Rd")
    assert jobs((await browser.get("/feeds/indeed.xml")).content)[1] == {}
