"""Attack: bait and switch. An unverified employer gets an honest listing approved, then points it elsewhere.

Changing the apply link, work mode, location, remote states or credentials of a published listing sends it
back to review like a new title would; and an admin's approval names the version the admin read, so an edit
slipped in while the review page was open is not published.
"""

from __future__ import annotations

import re

import pytest

from careers.accounts import service as accounts
from listings import service as listings_service
from listings.tables import Listing
from tests.attack.conftest import listing_form
from tests.conftest import create_admin
from tests.reliability.conftest import csrf_token, make_employer

HONEST = "https://honest-health.example/careers/apply"


async def employer_browser(make_browser, settings, *, verified: bool = False):
    employer_id, user_id = await make_employer("Honest Health", verified=verified)
    browser = make_browser()
    await csrf_token(browser)
    browser.cookies.set("cc_session", await accounts.start_session(user_id, settings, second_factor_ok=True))
    return browser


async def post_listing(browser, **changes) -> int:
    answer = await browser.submit("/employer/listings/new", listing_form(apply_url=HONEST, **changes))
    assert answer.status_code == 303, answer.text[:2000]
    return int(re.fullmatch(r"/employer/listings/(\d+)", answer.headers["location"]).group(1))


async def edit(browser, listing_id: int, **changes):
    answer = await browser.submit(f"/employer/listings/{listing_id}/edit", listing_form(**{"apply_url": HONEST, **changes}))
    assert answer.status_code == 303, answer.text[:2000]


async def status(listing_id: int) -> str:
    return (await Listing.objects().get(Listing.id == listing_id)).status


@pytest.mark.parametrize("change", [
    {"apply_url": "https://evil.example/phish"},
    {"work_mode": "onsite", "zip": "60614"},
    {"remote_states": ["IL", "WI"]},
    {"credentials_required": ["CPC"]},
])
async def test_an_unverified_employers_switch_after_approval_goes_back_to_review(make_browser, settings, change):
    browser = await employer_browser(make_browser, settings)
    listing_id = await post_listing(browser)
    await listings_service.transition(listing_id, "published", actor_kind="admin")
    await edit(browser, listing_id, benefits="Medical, dental, vision")  # a harmless edit stays live
    assert await status(listing_id) == "published"

    await edit(browser, listing_id, **change)
    assert await status(listing_id) == "in_review"
    page = await make_browser().get(f"/jobs/{listing_id}", follow_redirects=True)
    assert page.status_code == 404  # off the site until approved again
    if "apply_url" in change:
        sent = await make_browser().get(f"/jobs/{listing_id}/external-apply")
        assert sent.status_code == 404 and "evil.example" not in sent.headers.get("location", "")


async def test_approving_a_version_the_employer_changed_since_the_page_was_shown_is_refused(make_browser, settings):
    browser = await employer_browser(make_browser, settings)
    listing_id = await post_listing(browser)
    await listings_service.transition(listing_id, "awaiting_payment", actor_kind="employer")
    await listings_service.transition(listing_id, "in_review", actor_kind="webhook")
    admin = make_browser()
    await create_admin(admin)
    queue = (await admin.get("/admin/review")).text
    seen = re.search(rf'action="/admin/review/{listing_id}/approve">.*?name="version" value="(\d+)"', queue, re.S)
    assert seen, "the approve button carries the version the admin reads"

    # While the admin reads, the employer swaps the apply link (a listing in review stays editable).
    await edit(browser, listing_id, apply_url="https://evil.example/phish")
    answer = await admin.submit(f"/admin/review/{listing_id}/approve", {"version": seen.group(1)})
    assert answer.status_code == 303
    listing = await Listing.objects().get(Listing.id == listing_id)
    assert listing.status == "in_review" and listing.published_at is None
    flashed = await admin.get(answer.headers["location"])
    assert "edited after you opened the review page" in flashed.text

    # The page now shows the new version (and the link); approving that one works.
    queue = (await admin.get("/admin/review")).text
    assert "https://evil.example/phish" in queue
    current = re.search(rf'action="/admin/review/{listing_id}/approve">.*?name="version" value="(\d+)"', queue, re.S)
    assert current.group(1) != seen.group(1)
    assert (await admin.submit(f"/admin/review/{listing_id}/approve", {"version": current.group(1)})).status_code == 303
    assert await status(listing_id) == "published"
