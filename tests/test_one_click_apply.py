"""One-click apply from a results card: offered to a coder whose profile is ready, a plain POST form that comes back
to the results (htmx swaps the button for "Applied"), never to others."""

from __future__ import annotations

from careers.coders.tables import Application
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
