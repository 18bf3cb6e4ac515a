"""The organisation page an employer edits, the public page coders see, and the trust signals behind its badges."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from careers.accounts.tables import User
from careers.core import clock
from employers import service
from employers.tables import Employer
from listings.service import transition
from listings.tables import Listing
from tests import factories
from tests.conftest import register_employer


class TagCollector(HTMLParser):
    """Every start tag with its attributes, to check what a browser would actually execute."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(html: str) -> list[tuple[str, dict]]:
    parser = TagCollector()
    parser.feed(html)
    return parser.tags


async def make_listing(employer_id: int, title: str, **options) -> Listing:
    return await factories.make_listing(employer_id, title, work_mode="remote", pay=(24, "30.50", "hour"), **options)


ORG_FORM = {"name": "Acme Health", "website": "https://acmehealth.org", "about": "We code charts.", "hq_zip": "60601"}


async def test_bad_website_and_zip_are_explained_inline_with_the_input_kept(browser):
    await register_employer(browser)
    response = await browser.submit("/employer/organisation", ORG_FORM | {"website": "not a website",
                                                                          "hq_zip": "99999",
                                                                          "about": "Our *coders* & auditors"})
    assert response.status_code == 400
    assert "Enter a website address such as https://example.org." in response.text
    assert "We do not know the ZIP code 99999" in response.text
    assert 'value="not a website"' in response.text
    assert 'value="99999"' in response.text
    assert "Our *coders* &amp; auditors</textarea>" in response.text
    employer = await Employer.objects().get(Employer.slug == "acme-health")
    assert employer.website == "https://acmehealth.org" and employer.hq_zip == ""


@pytest.mark.parametrize("zip_code, message", [("6060", "Enter a 5-digit US ZIP code"),
                                               ("abcde", "Enter a 5-digit US ZIP code"),
                                               ("00001", "We do not know the ZIP code 00001")])
async def test_malformed_or_unknown_zip_is_a_field_error(browser, zip_code, message):
    await register_employer(browser)
    response = await browser.submit("/employer/organisation", ORG_FORM | {"hq_zip": zip_code})
    assert response.status_code == 400 and message in response.text
    assert 'id="f-hq_zip-error"' in response.text


async def test_saved_organisation_shows_headquarters_city_and_state_on_its_public_page(browser, make_browser):
    await register_employer(browser)
    saved = await browser.submit("/employer/organisation", ORG_FORM | {"name": "Acme Health Partners",
                                                                      "website": "www.acmehealth.org/careers"})
    assert saved.status_code == 303 and saved.headers["location"] == "/employer/organisation"
    employer = await Employer.objects().get(Employer.slug == "acme-health")  # the slug stays: links keep working
    assert (employer.name, employer.hq_city, employer.hq_state) == ("Acme Health Partners", "Chicago", "IL")
    assert employer.website == "https://www.acmehealth.org/careers"
    page = await make_browser().get("/employers/acme-health")
    assert page.status_code == 200
    assert "Acme Health Partners" in page.text and "Chicago, IL" in page.text
    website_links = [a for t, a in tags_of(page.text) if t == "a" and a.get("href") == employer.website]
    assert website_links and website_links[0]["rel"] == "nofollow noopener"


async def test_about_with_script_event_handler_and_javascript_link_renders_inert(browser, make_browser):
    await register_employer(browser)
    about = ("Hello <script>alert('x')</script> coders\n\n<img src=x onerror=alert(2)>\n\n"
             "<iframe src=https://evil.example></iframe><style>body{display:none}</style>\n\n"
             "[click me](javascript:alert(3)) and [our site](https://acmehealth.org/about)\n\n"
             '<a href="javascript:alert(4)" onclick="alert(5)">raw</a>')
    saved = await browser.submit("/employer/organisation", ORG_FORM | {"about": about})
    assert saved.status_code == 303
    page = await make_browser().get("/employers/acme-health")
    start = page.text.index('<section class="about"')
    section = page.text[start:page.text.index("</section>", start)]
    tags = tags_of(section)
    assert not [t for t, _ in tags if t in ("script", "style", "iframe", "img", "object", "embed")]
    assert not [name for _, attrs in tags for name in attrs if name.startswith("on")]
    hrefs = [attrs.get("href", "") for t, attrs in tags if t == "a"]
    assert hrefs == ["https://acmehealth.org/about", ""]  # the pasted javascript: link keeps its words only
    assert {attrs.get("rel") for t, attrs in tags if t == "a"} == {"nofollow noopener noreferrer"}
    assert "coders" in section  # the words survive, shown as text


async def test_public_page_lists_only_published_unhidden_listings(browser, make_browser):
    await register_employer(browser)
    employer = await Employer.objects().get(Employer.slug == "acme-health")
    live = await make_listing(employer.id, "Remote Inpatient Coder II")
    await make_listing(employer.id, "Draft Outpatient Coder", status="draft")
    await make_listing(employer.id, "Hidden Risk Adjustment Coder", hidden=True)
    closed = await make_listing(employer.id, "Closed Profee Coder")
    await transition(closed.id, "closed", actor_kind="employer")

    page = await make_browser().get("/employers/acme-health")
    assert page.status_code == 200
    assert "Remote Inpatient Coder II" in page.text
    for absent in ("Draft Outpatient Coder", "Hidden Risk Adjustment Coder", "Closed Profee Coder"):
        assert absent not in page.text
    assert f'href="/jobs/{live.id}/remote-inpatient-coder-ii"' in page.text
    assert "Open jobs (1)" in page.text


async def test_suspended_or_unknown_employer_page_answers_404(browser, make_browser):
    await register_employer(browser)
    visitor = make_browser()
    assert (await visitor.get("/employers/acme-health")).status_code == 200
    await Employer.update({Employer.suspended: True}).where(Employer.slug == "acme-health")
    assert (await visitor.get("/employers/acme-health")).status_code == 404
    assert (await visitor.get("/employers/acme-health/logo")).status_code == 404
    assert (await visitor.get("/employers/nobody-here")).status_code == 404


async def test_domain_verified_badge_needs_a_confirmed_member_email_at_the_website_domain(browser, make_browser):
    await register_employer(browser, "hr@acmehealth.org", website="https://careers.acmehealth.org", confirm=False)
    visitor = make_browser()
    assert "Domain verified" not in (await visitor.get("/employers/acme-health")).text
    await User.update({User.email_confirmed_at: clock.now()}).where(User.email == "hr@acmehealth.org")
    assert "Domain verified" in (await visitor.get("/employers/acme-health")).text
    # the stored flag (for moderation and search) follows on the worker's refresh
    assert await service.refresh_all_trust_flags() == 1
    employer = await Employer.objects().get(Employer.slug == "acme-health")
    assert employer.domain_verified and not employer.freemail_flag


async def test_free_mail_registrant_is_flagged_and_never_domain_verified(browser, make_browser):
    await register_employer(browser, "acme.hr@gmail.com", org="Gmail Coders", website="https://gmail.com")
    employer = await Employer.objects().get(Employer.slug == "gmail-coders")
    signals = await service.trust_signals(employer)
    assert signals.freemail and not signals.domain_verified
    assert employer.freemail_flag
    assert "Domain verified" not in (await make_browser().get("/employers/gmail-coders")).text
    page = await browser.get("/employer/organisation")
    assert "free email address" in page.text


def test_trust_signals_compare_registrable_domains():
    members = [("ana@mail.acmehealth.org", True), ("bo@acmehealth.org", False)]
    signals = service.compute_trust("https://www.acmehealth.org", False, members)
    assert signals.domain_verified and signals.website_domain == "acmehealth.org"
    assert not service.compute_trust("https://acme-health.com", False, members).domain_verified
    assert not service.compute_trust("https://acmehealth.org", False, [("bo@acmehealth.org", False)]).domain_verified
    assert service.compute_trust("https://acmehealth.org", True, []).verified


async def test_admin_verified_flag_shows_its_badge(browser, make_browser):
    await register_employer(browser)
    visitor = make_browser()
    assert "Verified employer" not in (await visitor.get("/employers/acme-health")).text
    await Employer.update({Employer.verified: True}).where(Employer.slug == "acme-health")
    assert "Verified employer" in (await visitor.get("/employers/acme-health")).text


async def test_organisation_pages_redirect_anonymous_visitors_and_hide_from_coders(browser):
    from tests.conftest import register_coder

    response = await browser.get("/employer/organisation")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/employer/organisation"
    await register_coder(browser, "coder@example.org")
    assert (await browser.get("/employer/organisation")).status_code == 404
    assert (await browser.get("/employer/team")).status_code == 404


async def test_two_organisations_of_the_same_name_registering_at_once_get_their_own_pages(make_browser):
    import asyncio

    clients = [make_browser() for _ in range(3)]
    for client in clients:
        await client.get("/login")
    responses = await asyncio.gather(*(client.submit("/register/employer", {
        "org_name": "Mercy Coding Group", "website": f"https://mercy{n}.example.org", "display_name": "HR",
        "email": f"hr@mercy{n}.example.org", "password": "correct horse battery",
        "password_confirm": "correct horse battery"}) for n, client in enumerate(clients)))
    assert [r.status_code for r in responses] == [303, 303, 303], [r.text[-300:] for r in responses]
    slugs = sorted(r["slug"] for r in await Employer.select(Employer.slug))
    assert slugs == ["mercy-coding-group", "mercy-coding-group-2", "mercy-coding-group-3"]


async def test_renaming_or_verifying_an_employer_refreshes_its_listings_in_search(browser):
    """Search documents carry the employer's name and verified flag, so both changes queue a sync per live listing."""
    from careers.core.tables import OutboxRow
    from employers import service, trust
    from employers.tables import Employer
    from listings import service as listings_service
    from listings.tables import Listing

    await register_employer(browser, "hr@resync.org", org="Resync Health", website="https://resync.org")
    employer = await Employer.objects().get(Employer.name == "Resync Health")
    listing = Listing(employer=employer.id, title="Coder", work_mode="remote", employment_type="full_time",
                      pay_min=20, pay_max=30, pay_unit="hour")
    await listing.save()
    await listings_service.transition(listing.id, "published", actor_kind="admin")
    await OutboxRow.delete().where(OutboxRow.kind == "search.sync")

    async def sync_rows() -> int:
        return await OutboxRow.count().where(OutboxRow.kind == "search.sync")

    from careers.core import db

    async with db.transaction():
        await service.resync_listings_in_search(employer.id)
    assert await sync_rows() == 1
    await trust.set_verified(employer.id, None, "checked by phone")
    assert await sync_rows() == 2
