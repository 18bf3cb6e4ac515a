"""Attack: the smaller abuses of the rules — header-breaking text, a borrowed public suffix, state changes on GET,
oversized logos, fullwidth formulas in the CSV export, and invitations from unconfirmed throwaway accounts."""

from __future__ import annotations

import csv
import io
import re

import httpx
from PIL import Image

from billing.tables import Order
from careers.accounts.tables import User
from careers.app import create_app
from careers.core.config import Settings
from careers.core.tables import OutboxRow
from employers import service as employers
from employers.tables import Employer, EmployerInvite
from listings.moderation.tables import Report
from listings.tables import Listing
from tests.attack.conftest import listing_form
from tests.billing_helpers import employer_with_draft, start_order
from tests.conftest import Browser, link_in, register_coder, register_employer, sent_mail
from tests.factories import make_listing
from tests.test_applicants import coder_applies, employer_id
from tests.test_applicants import make_listing as applicants_listing

# ---- CR/LF in single-line fields ----------------------------------------------------------------------------


async def test_a_line_break_in_a_listing_title_is_refused_inline_with_the_text_kept(browser):
    await register_employer(browser)
    answer = await browser.submit("/employer/listings/new", listing_form(
        title="Coder\r\nBcc: everyone@example.org", benefits="Dental\x00"))
    assert answer.status_code == 400
    assert answer.text.count("no line breaks or control characters") >= 2  # the title's and the benefits' messages
    assert "Bcc: everyone@example.org" in answer.text  # what was typed is kept in the form
    assert await Listing.count() == 0
    # A description is many lines by nature: line breaks there stay fine.
    fine = await browser.submit("/employer/listings/new", listing_form(description="Line one\r\nLine two"))
    assert fine.status_code == 303


async def test_line_breaks_in_names_and_organisation_names_are_refused(browser, make_browser):
    coder = await make_browser().submit("/register/coder", {
        "display_name": "Casey\r\nSubject: hi", "email": "casey@example.org",
        "password": "correct horse battery", "password_confirm": "correct horse battery"})
    assert coder.status_code == 400 and "no line breaks or control characters" in coder.text
    employer = await make_browser().submit("/register/employer", {
        "org_name": "Acme\nHealth", "website": "https://acmehealth.org", "display_name": "Hana",
        "email": "hr@acmehealth.org", "password": "correct horse battery",
        "password_confirm": "correct horse battery"})
    assert employer.status_code == 400 and "no line breaks or control characters" in employer.text
    assert await User.count() == 0
    await register_employer(browser)
    rename = await browser.submit("/employer/organisation", {"name": "Acme\u2028Health", "website": "https://acmehealth.org",
                                                             "about": "", "hq_zip": ""})
    assert rename.status_code == 400 and "no line breaks or control characters" in rename.text
    assert (await Employer.objects().first()).name == "Acme Health"


# ---- a public suffix is not a domain ---------------------------------------------------------------------------


async def test_a_confirmed_address_at_attacker_co_uk_does_not_verify_victim_co_uk(browser):
    await register_employer(browser, "me@attacker.co.uk", org="Victim Health", website="https://www.victim.co.uk")
    page = await browser.get("/employer/organisation")
    assert "Domain not verified" in page.text and "victim.co.uk" in page.text
    signals = employers.compute_trust("https://www.victim.co.uk", False, [("me@attacker.co.uk", True)])
    assert not signals.domain_verified and signals.website_domain == "victim.co.uk"
    assert not employers.domain_matches("me@attacker.co.uk", "https://victim.co.uk")
    # The control: an address at the site's own registrable domain still verifies it.
    assert employers.compute_trust("https://www.victim.co.uk", False, [("hr@mail.victim.co.uk", True)]).domain_verified


# ---- GET changes nothing -----------------------------------------------------------------------------------------


async def test_opening_the_mailed_report_confirm_link_changes_nothing_until_the_button(make_browser, settings):
    listing = await make_listing("Rival Health", "Remote CPC coder")
    visitor = make_browser()
    await visitor.submit(f"/jobs/{listing.id}/report", {"reason": "scam", "email": "guest@example.net"})
    link = link_in((await sent_mail("guest@example.net"))[-1]["text"], "/reports/confirm")
    for _ in range(3):  # a mail scanner, a preview pane, the person
        assert (await make_browser().get(link)).status_code == 200
    assert (await Report.objects().first()).confirmed_at is None
    token = link.split("token=", 1)[1]
    assert (await visitor.submit("/reports/confirm", {"token": token})).status_code == 200
    assert (await Report.objects().first()).confirmed_at is not None


async def test_opening_the_mailed_email_confirm_link_changes_nothing_until_the_button(browser):
    await register_coder(browser, "casey@example.org", confirm=False)
    link = link_in((await sent_mail("casey@example.org"))[-1]["text"], "/account/confirm")
    assert (await browser.get(link)).status_code == 200
    assert (await User.objects().first()).email_confirmed_at is None


async def test_opening_the_pay_page_creates_no_stripe_customer_or_setup_intent(browser, settings):
    employer, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    for _ in range(3):
        page = await browser.get(f"/billing/orders/{order_id}/pay")
        assert page.status_code == 200 and "Pay $199.00" in page.text
    assert (await Employer.objects().get(Employer.id == employer.id)).stripe_customer_id is None
    assert (await Order.objects().get(Order.id == order_id)).setup_intent_id is None


# ---- logos ---------------------------------------------------------------------------------------------------------


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


async def test_a_logo_4001_pixels_wide_is_refused_and_4000_is_taken(browser):
    await register_employer(browser)
    form = {"name": "Acme Health", "website": "https://acmehealth.org", "about": "", "hq_zip": ""}
    wide = await browser.submit("/employer/organisation", form, files={"logo": ("logo.png", png(4001, 2), "image/png")})
    assert wide.status_code == 400 and "4,001×2 pixels" in wide.text and "4,000×4,000" in wide.text
    assert (await Employer.objects().first()).logo_path is None
    ok = await browser.submit("/employer/organisation", form, files={"logo": ("logo.png", png(4000, 2), "image/png")})
    assert ok.status_code == 303
    assert (await Employer.objects().first()).logo_path is not None


# ---- CSV export --------------------------------------------------------------------------------------------------


async def test_fullwidth_formula_cells_are_neutralised_in_the_csv_export(browser, make_browser):
    await register_employer(browser)
    listing_id = await applicants_listing(await employer_id())
    await coder_applies(make_browser(), listing_id, "evil@example.org", name="＝HYPERLINK(\"http://x\",\"click\")",
                        cover_note="＋1 call me")
    response = await browser.get(f"/employer/listings/{listing_id}/applicants.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    evil = rows[1]
    assert evil[0] == "'＝HYPERLINK(\"http://x\",\"click\")" and evil[10] == "'＋1 call me"


# ---- invitations ---------------------------------------------------------------------------------------------------


async def test_an_unconfirmed_employer_cannot_send_invitations_and_a_confirmed_one_tries_ten_an_hour(
        frozen_clock, settings, database):
    app = create_app(settings.replace(invite_rate=Settings.invite_rate))
    async with Browser(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as spammer:
        await register_employer(spammer, "spam@throwaway.example", org="Spam Co", website="https://throwaway.example",
                                confirm=False)
        refused = await spammer.submit("/employer/team/invite", {"email": "victim@example.org"})
        assert refused.status_code == 400 and "Confirm your email address before inviting" in refused.text
        assert await EmployerInvite.count() == 0 and await sent_mail("victim@example.org") == []

        mail = (await sent_mail("spam@throwaway.example"))[-1]
        link = link_in(mail["text"], "/account/confirm")
        await spammer.submit("/account/confirm", {"token": re.search(r"token=([^\s&]+)", link).group(1)})
        statuses = [(await spammer.submit("/employer/team/invite", {"email": f"person{n}@example.org"})).status_code
                    for n in range(10)]
        assert statuses == [303] * 9 + [429], statuses  # ten attempts an hour, the refused one included
        assert await OutboxRow.count().where(OutboxRow.kind.like("mail%")) == 1 + 9  # the confirmation, 9 invitations
