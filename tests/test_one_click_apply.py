"""One-click apply from a results card: offered to a coder whose profile is ready, a plain POST form that comes back
to the results (htmx swaps the button for "Applied"), never to others."""

from __future__ import annotations

import json

from careers.coders.tables import Application
from listings.tables import Listing
from tests.conftest import register_coder, register_employer
from tests.search_helpers import fresh_index
from tests.test_coders import coder_with_profile, employer_id, make_listing


async def test_a_ready_coder_applies_from_the_results_and_comes_back_to_them(browser, make_browser, settings, worker):
    await fresh_index(settings)
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id(), "Remote CPC coder", required=["CPC"], work_mode="remote")
    await worker.drain()
    here = "/jobs?credential=CPC"

    unready = make_browser()
    await register_coder(unready, "new@example.org")  # no profile yet: the card keeps only Save
    page = (await unready.get(here)).text
    assert f'action="/jobs/{listing_id}/save"' in page and f'id="apply-{listing_id}"' not in page
    no_resume = make_browser()
    await coder_with_profile(no_resume, "noresume@example.org", resume=None)
    assert f'id="apply-{listing_id}"' not in (await no_resume.get(here)).text

    await coder_with_profile(browser)
    page = (await browser.get(here)).text
    assert f'<form method="post" action="/jobs/{listing_id}/apply" class="inline apply-form" id="apply-{listing_id}"' \
        in page and f'hx-select="#apply-{listing_id}"' in page
    assert "Apply now" in page and 'name="next" value="/jobs?credential=CPC"' in page

    sent = await browser.submit(f"/jobs/{listing_id}/apply", {"next": here})
    assert sent.status_code == 303 and sent.headers["location"] == here
    assert await Application.count().where(Application.listing == listing_id) == 1
    back = (await browser.get(here)).text
    assert "Your application to “Remote CPC coder” is sent." in back
    assert f'id="apply-{listing_id}" href="/account/applications"' in back and "Applied" in back
    again = await browser.submit(f"/jobs/{listing_id}/apply", {"next": here})
    assert again.headers["location"] == here and await Application.count() == 1  # once only

    elsewhere = await browser.submit(f"/jobs/{listing_id}/apply", {"next": "https://evil.example/"})
    assert elsewhere.headers["location"].startswith("/account/applications#application-")  # same site only


async def test_the_listing_page_match_also_says_years_of_experience_and_work_mode(browser, make_browser, statements):
    from tests import factories

    await register_employer(make_browser())
    listing = await factories.make_listing(await employer_id(), "Inpatient coder", required=["CPC"],
                                           work_mode="onsite", min_years=3)
    path = f"/jobs/{listing.id}/{listing.slug}"
    await coder_with_profile(browser, years_experience="1", desired_work_mode="remote")
    await browser.get(path)
    statements.clear()
    page = (await browser.get(path)).text
    assert len(statements) <= 3, statements  # still the session, the listing and the coder panel
    assert "✗ At least 3 years of experience: you have 1" in page
    assert "✗ Work mode: On-site: you want remote" in page
    assert "How you match this job" in page  # not "you meet the requirements" while years fall short

    await browser.submit("/account/profile", {**_profile(), "years_experience": "4", "desired_work_mode": "onsite"})
    page = (await browser.get(path)).text
    assert "✓ At least 3 years of experience: you have 4" in page
    assert "✓ Work mode: On-site: the one you want" in page
    assert "You meet this job's requirements" in page


def _profile() -> dict:
    from tests.test_coders import PROFILE

    return PROFILE | {"handle": "casey-page"}


async def test_one_click_is_not_offered_for_a_remote_job_closed_to_the_coders_state(browser, make_browser, settings,
                                                                                     worker):
    await fresh_index(settings)
    await register_employer(make_browser())
    employer = await employer_id()
    open_to_all = await make_listing(employer, "Remote CPC coder", required=["CPC"], work_mode="remote")
    texas_only = await make_listing(employer, "Texas remote coder", required=["CPC"], work_mode="remote",
                                    remote_states=["TX"])
    await worker.drain()
    await coder_with_profile(browser)  # ZIP 60614: Illinois
    page = (await browser.get("/jobs?credential=CPC")).text
    assert f'id="apply-{open_to_all}"' in page and f'id="apply-{texas_only}"' not in page


async def test_one_click_opens_the_apply_form_while_a_must_meet_question_is_unanswered(browser, make_browser, settings,
                                                                                         worker):
    await fresh_index(settings)
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id(), "Remote Epic coder", required=["CPC"], work_mode="remote")
    question = {"text": "Do you code in Epic?", "kind": "yes_no", "choices": [], "must_meet": True, "min": None,
                "accepted": ["yes"], "template": None}
    await Listing.update({Listing.screening_questions: json.dumps([question])}).where(Listing.id == listing_id)
    await worker.drain()
    here = "/jobs?credential=CPC"
    await coder_with_profile(browser)
    assert 'name="one_click" value="1"' in (await browser.get(here)).text

    sent = await browser.submit(f"/jobs/{listing_id}/apply", {"next": here, "one_click": "1"})
    assert sent.status_code == 303 and sent.headers["location"].endswith("#apply")
    assert "/jobs/%d/" % listing_id in sent.headers["location"]
    with_htmx = await browser.post(f"/jobs/{listing_id}/apply", headers={"HX-Request": "true"}, data={
        "next": here, "one_click": "1", "_csrf_token": browser.cookies.get("cc_csrf")})
    assert with_htmx.status_code == 200 and with_htmx.headers["HX-Redirect"].endswith("#apply")
    assert await Application.count().where(Application.listing == listing_id) == 0  # nobody screened out unasked
    page = (await browser.get(sent.headers["location"].split("#")[0])).text
    assert "asks screener questions you have not answered yet" in page

    await browser.submit(f"/jobs/{listing_id}/answers", {"answer.1": "yes"})
    applied = await browser.submit(f"/jobs/{listing_id}/apply", {"next": here, "one_click": "1"})
    assert applied.headers["location"] == here
    stage = await Application.select(Application.stage).where(Application.listing == listing_id).first()
    assert stage["stage"] == "submitted"


async def test_a_refused_one_click_apply_answers_htmx_with_the_reason_in_place_of_the_button(browser, make_browser,
                                                                                             settings, worker):
    """The job closed between showing the card and the click: the card's form (hx-select="#apply-N") gets the
    reason under its own id; the answer stays a 400 (static/app.js lets htmx swap it)."""
    await fresh_index(settings)
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id(), "Remote CPC coder", required=["CPC"], work_mode="remote")
    await worker.drain()
    await coder_with_profile(browser)
    assert f'id="apply-{listing_id}"' in (await browser.get("/jobs?credential=CPC")).text
    await Listing.update({Listing.status: "closed"}).where(Listing.id == listing_id)

    refused = await browser.post(f"/jobs/{listing_id}/apply", headers={"HX-Request": "true"},
                                 data={"one_click": "1", "next": "/jobs?credential=CPC",
                                       "_csrf_token": browser.cookies["cc_csrf"]})
    assert refused.status_code == 400
    assert f'<p class="notice" role="alert" id="apply-{listing_id}">' in refused.text
    assert "It no longer accepts applications." in refused.text
    assert await Application.count().where(Application.listing == listing_id) == 0
