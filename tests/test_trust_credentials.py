"""Issue 18, verified credentials: the coder's number, expiry and certificate; the admin queue (audited decisions);
the badge employers see, the "verified only" filter and the listing match; the 30-day reminder; expiry."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from careers.accounts.tables import AuditEntry
from careers.coders import credentials
from careers.coders.tables import CoderCredential, CredentialCheck, CredentialCheckState
from careers.core import clock
from tests.conftest import create_admin, outbox_mail, register_employer, stored
from tests.test_applicants import PDF, coder_applies, employer_id, make_listing

DAY = dt.timedelta(days=1)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG")
    return out.getvalue()


async def send_claim(coder, code: str = "CPC", number: str = "AAPC-01234567", expires: dt.date | None = None,
                     certificate: tuple[str, bytes, str] | None = None):
    expires = expires or (clock.now() + 365 * DAY).date()
    files = {"certificate": certificate} if certificate else None
    return await coder.submit(f"/account/credentials/{code}", {"member_number": number,
                                                                "expires_on": expires.isoformat()}, files=files)


async def check_of(code: str = "CPC") -> CredentialCheck:
    return await CredentialCheck.objects().where(CredentialCheck.credential == code).first()


async def admin_browser(make_browser):
    admin = make_browser()
    await create_admin(admin)
    return admin


async def verified_applicant(browser, make_browser, expires: dt.date | None = None):
    """An employer's listing (CPC required) with two applicants; Casey's CPC is verified by an admin."""
    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    casey, robin = make_browser(), make_browser()
    casey_app = await coder_applies(casey, listing_id, "casey@example.org")
    robin_app = await coder_applies(robin, listing_id, "robin@example.org", name="Robin Roe")
    assert (await send_claim(casey, expires=expires)).status_code == 303
    admin = await admin_browser(make_browser)
    check = await check_of()
    assert (await admin.submit(f"/admin/credentials/{check.id}/approve")).status_code == 303
    return listing_id, casey, casey_app, robin_app, admin


async def test_a_coder_sends_number_expiry_and_certificate_for_verification(browser, settings):
    await register_employer(browser, email="hr@elsewhere.org", org="Elsewhere")  # keeps the first coder honest
    coder = browser
    await coder.post("/logout")
    listing_id = await make_listing(await employer_id("Elsewhere"))
    await coder_applies(coder, listing_id, "casey@example.org")
    page = await coder.get("/account/credentials")
    assert page.status_code == 200 and "CPC" in page.text and "CRC" in page.text
    assert "Send for verification" in page.text

    sent = await send_claim(coder, certificate=("my cpc.pdf", PDF, "application/pdf"))
    assert sent.status_code == 303 and sent.headers["location"] == "/account/credentials#credential-CPC"
    check = await check_of()
    assert (check.state, check.member_number) == (CredentialCheckState.PENDING, "AAPC-01234567")
    assert check.certificate_content_type == "application/pdf" and check.certificate_filename == "my cpc.pdf"
    assert await stored(settings, check.certificate_key) == PDF
    page = (await coder.get("/account/credentials")).text
    assert "Waiting for verification" in page and "AAPC-01234567" in page
    download = await coder.get("/account/credentials/CPC/certificate")
    assert download.status_code == 200 and download.content == PDF

    assert (await send_claim(coder, "CRC", certificate=("crc.png", png(), "image/png"))).status_code == 303
    assert (await check_of("CRC")).certificate_content_type == "image/png"


async def test_bad_claims_are_refused_with_the_typed_values_kept(browser, make_browser):
    await register_employer(browser)
    coder = make_browser()
    await coder_applies(coder, await make_listing(await employer_id()), "casey@example.org")
    refused = await coder.submit("/account/credentials/CPC", {"member_number": "", "expires_on": "2001-01-01"})
    assert refused.status_code == 400
    assert "Enter your member or certificate number" in refused.text and "That date has passed" in refused.text
    assert 'value="2001-01-01"' in refused.text
    fake = await send_claim(coder, number="AAPC-9",
                            certificate=("cert.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))
    assert fake.status_code == 400 and "not a PDF or an image" in fake.text and 'value="AAPC-9"' in fake.text
    assert await CredentialCheck.count() == 0
    assert (await send_claim(coder, "CCS")).status_code == 404  # not on the profile: nothing to verify


async def test_the_admin_queue_links_the_registry_and_every_decision_is_audited(browser, make_browser):
    await register_employer(browser)
    coder = make_browser()
    await coder_applies(coder, await make_listing(await employer_id()), "casey@example.org")
    await send_claim(coder, certificate=("cpc.pdf", PDF, "application/pdf"))
    admin = await admin_browser(make_browser)
    check = await check_of()

    queue = await admin.get("/admin/credentials")
    assert queue.status_code == 200 and 'aria-current="page">Credentials' in queue.text  # the admin sub-navigation
    assert "AAPC-01234567" in queue.text and credentials.VERIFICATION_PAGES["AAPC"] in queue.text
    assert f'href="/admin/credentials/{check.id}/certificate"' in queue.text
    assert (await admin.get(f"/admin/credentials/{check.id}/certificate")).content == PDF
    assert (await coder.get(f"/admin/credentials/{check.id}/certificate")).status_code == 404

    no_reason = await admin.submit(f"/admin/credentials/{check.id}/reject", {"reason": " "})
    assert no_reason.status_code == 303 and (await check_of()).state == CredentialCheckState.PENDING
    rejected = await admin.submit(f"/admin/credentials/{check.id}/reject",
                                  {"reason": "The registry shows no such number."})
    assert rejected.status_code == 303 and (await check_of()).state == CredentialCheckState.REJECTED
    assert "The registry shows no such number." in (await coder.get("/account/credentials")).text
    assert "We could not verify your CPC" in (await outbox_mail("casey@example.org"))[-1]["subject"]

    await send_claim(coder, number="AAPC-01234568")  # corrected: waits again
    assert (await check_of()).state == CredentialCheckState.PENDING
    assert (await admin.submit(f"/admin/credentials/{check.id}/approve")).status_code == 303
    assert (await check_of()).state == CredentialCheckState.VERIFIED
    again = await admin.submit(f"/admin/credentials/{check.id}/approve")  # decided already: refused, flashed back
    assert again.status_code == 303

    entries = await AuditEntry.select(AuditEntry.action, AuditEntry.actor_label, AuditEntry.reason).order_by(
        AuditEntry.id)
    assert [(e["action"], e["actor_label"]) for e in entries] == [
        ("credential rejected", "admin@careercenter.org"), ("credential verified", "admin@careercenter.org")]
    assert entries[0]["reason"] == "The registry shows no such number."
    assert "credential rejected" in (await admin.get("/admin/audit")).text


async def test_employers_see_the_badge_can_filter_on_it_and_the_match_says_verified(browser, make_browser):
    listing_id, casey, casey_app, robin_app, _ = await verified_applicant(browser, make_browser)
    listing = (await browser.get(f"/employer/listings/{listing_id}/applicants")).text
    assert "Verified: CPC" in listing and "Robin Roe" in listing
    only = (await browser.get(f"/employer/listings/{listing_id}/applicants?match=verified")).text
    assert "Casey Coder" in only and "Robin Roe" not in only
    detail = (await browser.get(f"/employer/applications/{casey_app}")).text
    assert 'CPC (2019) <span class="badge badge-verified"' in detail
    assert "badge-verified" not in (await browser.get(f"/employer/applications/{robin_app}")).text.split(
        "Profile when they applied")[1].split("</dl>")[0]
    panel = (await casey.get(f"/jobs/{listing_id}/remote-cpc-coder")).text
    assert "Required: CPC — you hold it, verified" in panel


async def test_the_badge_goes_at_expiry_and_the_credential_stays(browser, make_browser, frozen_clock, settings):
    expires = (clock.now() + 10 * DAY).date()
    listing_id, casey, _casey_app, _, _ = await verified_applicant(browser, make_browser, expires=expires)
    assert "Verified: CPC" in (await browser.get(f"/employer/listings/{listing_id}/applicants")).text

    frozen_clock.advance(11 * DAY)
    assert "Verified: CPC" not in (await browser.get(f"/employer/listings/{listing_id}/applicants")).text  # at once
    assert "you hold it, verified" not in (await casey.get(f"/jobs/{listing_id}/remote-cpc-coder")).text
    await credentials.expire_and_remind(settings)
    assert (await check_of()).state == CredentialCheckState.EXPIRED
    assert await CoderCredential.exists().where(CoderCredential.credential == "CPC")  # still on the profile
    assert "Expired — no longer verified" in (await casey.get("/account/credentials")).text
    expired = await AuditEntry.objects().where(AuditEntry.action == "credential expired").first()
    assert expired is not None and expired.actor is None and expired.actor_label == "system"


async def test_the_coder_is_reminded_once_30_days_before_expiry(browser, make_browser, frozen_clock, settings):
    await verified_applicant(browser, make_browser, expires=(clock.now() + 40 * DAY).date())

    def reminders(mails):
        return [m for m in mails if "expires on" in m["subject"]]

    await credentials.expire_and_remind(settings)
    assert reminders(await outbox_mail("casey@example.org")) == []
    frozen_clock.advance(11 * DAY)  # 29 days left
    await credentials.expire_and_remind(settings)
    await credentials.expire_and_remind(settings)
    sent = reminders(await outbox_mail("casey@example.org"))
    assert len(sent) == 1 and "/account/credentials" in sent[0]["text"]
    assert sent[0]["headers"]["X-CareerCenter-Mail-Kind"] == credentials.REMINDER_MAIL_KIND


async def test_seed_demo_shows_a_quick_employer_one_below_five_and_verified_and_pending_credentials(browser):
    import io as _io

    from employers.response_record import record_of
    from employers.tables import Employer
    from listings.commands import seed_demo

    assert await seed_demo(out=_io.StringIO()) == 0
    assert await seed_demo(out=_io.StringIO()) == 0  # idempotent
    quick = record_of(await Employer.objects().get(Employer.slug == "mercy-ridge-health"))
    assert quick.responds_quickly and quick.applications_counted >= 5
    other = record_of(await Employer.objects().get(Employer.slug == "summit-revenue-cycle-partners"))
    assert not other.enough
    states = sorted(r["state"] for r in await CredentialCheck.select(CredentialCheck.state))
    assert states == [CredentialCheckState.PENDING, CredentialCheckState.VERIFIED]
    page = (await browser.get("/employers/mercy-ridge-health")).text
    assert "Responds quickly" in page
    assert "Not enough applications yet" in (await browser.get("/employers/summit-revenue-cycle-partners")).text
