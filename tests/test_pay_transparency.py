"""The pay-transparency check: the Denver listing of issue 19's "Done means" flagged CO in the posting form, the
importer's warnings and the API until it shows benefits and an application deadline; the states a job can be
done in; "remote, except Colorado"; employer size and effective dates; the rules table itself."""

from __future__ import annotations

import datetime as dt
import io
import json

from careers.core import clock
from listings import pay_laws, service
from listings.commands import import_listings
from listings.pay_transparency import ALL_STATES, PostingFacts, check
from listings.tables import Listing
from tests.conftest import register_employer
from tests.test_listings import admin_publish, full_form, post_listing  # noqa: F401 - admin_publish is a fixture

DENVER = {"work_mode": "onsite", "zip": "80202", "benefits": "", "application_deadline": ""}


def in_days(days: int) -> str:
    return (clock.now().date() + dt.timedelta(days=days)).isoformat()


def flagged(html: str) -> set[str]:
    """The states the page's pay-transparency findings name."""
    return {part.split('"', 1)[0] for part in html.split('data-state="')[1:]}


async def test_denver_listing_without_benefits_or_deadline_is_flagged_co_in_the_form_and_api_until_both_are_added(
        browser, make_browser, admin_publish):  # noqa: F811
    await register_employer(browser)
    listing_id = await post_listing(browser, **DENVER)
    manage = await browser.get(f"/employer/listings/{listing_id}")
    assert flagged(manage.text) == {"CO"} and "C.R.S. § 8-5-201" in manage.text
    form = await browser.get(f"/employer/listings/{listing_id}/edit")
    assert flagged(form.text) == {"CO"}
    assert "general description of the benefits" in form.text and "application window" in form.text
    assert flagged((await browser.get(f"/employer/listings/{listing_id}/preview")).text) == {"CO"}
    assert flagged((await browser.get(f"/employer/listings/{listing_id}/publish")).text) == {"CO"}  # before paying

    await admin_publish(listing_id)
    visitor = make_browser()
    body = (await visitor.get(f"/api/v1/listings/{listing_id}")).json()
    assert body["pay_transparency"]["compliant"] is False
    assert [(i["state"], i["rule"]) for i in body["pay_transparency"]["issues"]] == [("CO", "benefits"),
                                                                                      ("CO", "deadline")]
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert "Pay transparent" not in (await visitor.get(service.listing_path(listing))).text

    saved = await browser.submit(f"/employer/listings/{listing_id}/edit", full_form(
        **DENVER | {"benefits": "Medical, dental, 401(k) match", "application_deadline": in_days(20)}))
    assert saved.status_code == 303
    assert flagged((await browser.get(f"/employer/listings/{listing_id}/edit")).text) == set()
    body = (await visitor.get(f"/api/v1/listings/{listing_id}")).json()
    assert body["status"] == "published"
    assert body["pay_transparency"] == {"compliant": True, "issues": []}
    assert "Pay transparent" in (await visitor.get(service.listing_path(listing))).text


async def test_importer_warns_about_pay_transparency_without_failing(tmp_path):
    line = {**{k: v for k, v in full_form(**DENVER).items() if k not in ("application_deadline",)},
            "credentials_required": ["CCS"], "credentials_any_of": [], "credentials_preferred": [], "zip": "80202"}
    # The same requisition again, now with benefits and a deadline: it updates the listing and clears the warnings.
    fixed = {**line, "benefits": "Medical and dental", "application_deadline": in_days(20)}
    path = tmp_path / "listings.jsonl"
    path.write_text(json.dumps(line) + "\n" + json.dumps(fixed) + "\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert await import_listings(path, "Acme Health", out=out, err=err) == 0
    warnings = err.getvalue().splitlines()
    assert warnings == [
        ("line 1: warning: pay transparency (CO): Colorado (C.R.S. § 8-5-201) requires a general description of the "
         "benefits and other compensation."),
        ("line 1: warning: pay transparency (CO): Colorado (C.R.S. § 8-5-201) requires the date the application "
         "window is expected to close."),
    ]
    assert "1 new, 1 updated, 0 line(s) failed" in out.getvalue()
    listing = await Listing.objects().where(Listing.requisition_id == "REQ-100").first()
    assert listing.benefits == "Medical and dental" and listing.application_deadline is not None


def facts(**changes) -> PostingFacts:
    base = {"work_mode": "remote", "state": "", "remote_states": (), "has_range": True, "benefits": "",
            "application_deadline": None, "employer_size": None}
    return PostingFacts(**(base | changes))


def test_a_remote_job_open_to_every_state_but_colorado_is_flagged_colorado():
    all_but_co = tuple(sorted(ALL_STATES - {"CO"}))
    result = check(facts(remote_states=all_but_co, benefits="Medical", employer_size=3), today=dt.date(2026, 6, 1))
    assert [(i.state, i.rule) for i in result.issues] == [("CO", "excluded_state")]
    assert "every state but Colorado" in result.issues[0].message
    # Leaving out a state without a law is no evasion.
    all_but_tx = tuple(s for s in all_but_co + ("CO",) if s != "TX")
    assert check(facts(remote_states=all_but_tx, benefits="Medical", application_deadline=dt.date(2026, 7, 1),
                       employer_size=3), today=dt.date(2026, 6, 1)).compliant


def test_a_remote_job_naming_no_state_answers_to_every_law_and_employer_size_and_dates_narrow_it():
    today = dt.date(2026, 6, 1)
    everywhere = check(facts(), today=today)
    assert {i.state for i in everywhere.issues} == {"CO", "WA", "IL", "MD", "MN", "NJ"}  # benefits; CO also deadline
    assert [i.rule for i in everywhere.issues if i.state == "CO"] == ["benefits", "deadline"]
    named = check(facts(remote_states=("WA", "NY", "IL")), today=today)
    assert [(i.state, i.rule) for i in named.issues] == [("WA", "benefits"), ("IL", "benefits")]
    assert "15 or more employees" in named.issues[0].message
    assert check(facts(remote_states=("WA", "NY", "IL"), employer_size=10), today=today).compliant
    assert [i.state for i in check(facts(remote_states=("IL",)), today=dt.date(2024, 12, 31)).issues] == []
    # Colorado asked for the application window's close only from 2024.
    onsite_co = facts(work_mode="onsite", state="CO", benefits="Medical")
    assert check(onsite_co, today=dt.date(2023, 12, 31)).compliant
    assert [i.rule for i in check(onsite_co, today=dt.date(2024, 1, 1)).issues] == ["deadline"]
    assert check(facts(work_mode="hybrid", state="TX"), today=today).compliant


def test_rules_table_names_each_law_with_citation_effective_date_and_threshold():
    laws = pay_laws.LAWS
    assert {"CO", "CA", "WA", "NY", "IL", "MD", "CT", "NV", "RI", "HI", "DC", "MN", "VT", "MA", "NJ"} <= set(laws)
    assert (laws["CA"].citation, laws["CA"].min_employees) == ("Cal. Lab. Code § 432.3", 15)
    assert (laws["WA"].citation, laws["WA"].min_employees) == ("RCW 49.58.110", 15)
    assert (laws["NY"].citation, laws["NY"].min_employees) == ("N.Y. Lab. Law § 194-b", 4)
    assert (laws["IL"].citation, laws["IL"].effective) == ("820 ILCS 112/10", dt.date(2025, 1, 1))
    assert dict(laws["CO"].requires)["deadline"] == dt.date(2024, 1, 1)
    assert all(law.citation and law.effective for law in laws.values())
