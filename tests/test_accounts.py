"""Accounts over HTTP: register, confirm, log in and out, reset, change password, CSRF, rate limits, roles."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from careers.accounts import service
from careers.accounts.tables import Session, User
from employers.tables import Employer, EmployerMember
from tests.conftest import (
    Browser,
    create_admin,
    follow_mailed_link,
    link_in,
    login,
    outbox_mail,
    register_coder,
    register_employer,
    sent_mail,
)

PASSWORD = "correct horse battery"


async def test_coder_registers_confirms_logs_out_and_logs_in(browser):
    response = await register_coder(browser, "casey@example.org", confirm=False)
    assert response.headers["location"] == "/account"
    page = await browser.get("/account")
    assert "casey@example.org" in page.text and "not confirmed yet" in page.text

    mail = (await sent_mail("casey@example.org"))[-1]
    link = link_in(mail["text"], "/account/confirm")
    await browser.get(link)  # opening the link (a mail scanner does too) changes nothing
    assert "not confirmed yet" in (await browser.get("/account")).text
    confirmed = await follow_mailed_link(browser, link, "Confirm my email address")
    assert "Your email address is confirmed" in (await browser.get(confirmed.headers["location"])).text
    assert "(confirmed)" in (await browser.get("/account")).text

    await browser.submit("/logout")
    assert (await browser.get("/account")).status_code == 303
    response = await login(browser, "casey@example.org")
    assert response.status_code == 303 and response.headers["location"] == "/account"


async def test_employer_registration_creates_the_organisation_and_owner(browser):
    await register_employer(browser, "hr@acmehealth.org", org="Acme Health", website="acmehealth.org")
    employer = await Employer.objects().get(Employer.name == "Acme Health")
    assert employer.website == "https://acmehealth.org" and employer.slug == "acme-health"
    user = await User.objects().get(User.email == "hr@acmehealth.org")
    assert user.role == "employer"
    assert await EmployerMember.exists().where((EmployerMember.user == user.id) & (EmployerMember.employer == employer.id))
    dashboard = await browser.get("/employer")
    assert dashboard.status_code == 200 and "Acme Health" in dashboard.text


async def test_wrong_password_gets_one_clear_message(browser):
    await register_coder(browser, "wp@example.org")
    await browser.submit("/logout")
    response = await login(browser, "wp@example.org", "not the password at all")
    assert response.status_code == 400
    assert "Email or password is wrong." in response.text
    assert 'value="wp@example.org"' in response.text  # what the person typed is kept


@pytest.mark.parametrize(
    "form, field_message",
    [
        ({"password": "short", "password_confirm": "short"}, "Use at least 10 characters."),
        ({"password": "password123", "password_confirm": "password123"}, "too easy to guess"),
        ({"email": "not-an-email"}, "That email address is not valid"),
        ({"password_confirm": "something else entirely"}, "The two passwords differ."),
    ],
)
async def test_bad_registration_is_explained_inline_and_creates_nothing(browser, form, field_message):
    data = {"display_name": "Pat", "email": "pat@example.org", "password": PASSWORD, "password_confirm": PASSWORD} | form
    response = await browser.submit("/register/coder", data)
    assert response.status_code == 400
    assert field_message in response.text
    assert 'value="Pat"' in response.text
    assert await User.count() == 0


async def test_duplicate_email_is_refused_for_either_role_and_nothing_half_created(browser, make_browser):
    await register_coder(browser, "dup@acmehealth.org")
    other = make_browser()
    response = await other.submit("/register/employer", {"org_name": "Dup Org", "website": "https://acmehealth.org",
                                                          "email": "DUP@acmehealth.org", "password": PASSWORD,
                                                          "password_confirm": PASSWORD})
    assert response.status_code == 400
    assert "An account with this email already exists" in response.text
    assert await User.count() == 1
    assert await Employer.count() == 0


async def test_unconfirmed_email_is_shown_and_confirmation_can_be_resent(browser):
    await register_coder(browser, "unc@example.org", confirm=False)
    page = await browser.get("/account")
    assert "not confirmed yet" in page.text
    before = len(await sent_mail("unc@example.org"))
    await browser.submit("/account/confirm/resend")
    assert len(await sent_mail("unc@example.org")) == before + 1


async def test_form_without_csrf_token_is_refused_with_403(browser):
    await browser.get("/login")
    response = await browser.post("/login", data={"email": "a@example.org", "password": PASSWORD})
    assert response.status_code == 403
    assert "form expired" in response.text


async def test_burst_of_failed_logins_hits_the_rate_limit(frozen_clock, app, settings, make_browser):
    app.state.settings = settings.replace(login_account_rate=(3, 300))
    client = make_browser()
    await register_coder(client, "burst@example.org")
    statuses = [(await login(client, "burst@example.org", "wrong password guess")).status_code for _ in range(5)]
    assert statuses[:3] == [400, 400, 400]
    assert statuses[3:] == [429, 429]
    # the account is throttled even with the right password, from another client
    assert (await login(make_browser(), "burst@example.org")).status_code == 429
    frozen_clock.advance(dt.timedelta(seconds=300))  # the window passes
    assert (await login(make_browser(), "burst@example.org")).status_code == 303


def client_at(app, address: str) -> Browser:
    """A browser on another machine: its own client address."""
    return Browser(transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url="http://testserver")


async def test_a_burst_of_logins_from_one_client_hits_the_rate_limit_whatever_the_accounts(frozen_clock, app, settings):
    app.state.settings = settings.replace(login_rate=(3, 300))
    one, other = client_at(app, "10.0.0.1"), client_at(app, "10.0.0.2")
    statuses = [(await login(one, f"guess{n}@example.org", "wrong password guess")).status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "Too many attempts" in (await login(one, "guess9@example.org")).text
    assert (await login(other, "guess1@example.org", "wrong password guess")).status_code == 400


async def test_a_burst_of_registrations_from_one_client_gets_429_and_creates_nothing(frozen_clock, app, settings):
    app.state.settings = settings.replace(register_rate=(2, 3600))
    one, other = client_at(app, "10.0.0.1"), client_at(app, "10.0.0.2")
    for n in range(2):
        await register_coder(one, f"burst{n}@example.org", confirm=False)
    data = {"display_name": "Third", "email": "burst2@example.org", "password": PASSWORD, "password_confirm": PASSWORD}
    refused = await one.submit("/register/coder", data)
    assert refused.status_code == 429 and "Too many attempts" in refused.text and 'value="Third"' in refused.text
    employer = await one.submit("/register/employer", data | {"org_name": "Burst Org", "website": "burst.example.org"})
    assert employer.status_code == 429
    assert await User.count() == 2 and await Employer.count() == 0
    await register_coder(other, "burst2@example.org", confirm=False)  # another client is not held back


async def test_password_reset_is_rate_limited_per_client_and_per_account(frozen_clock, app, settings):
    app.state.settings = settings.replace(reset_rate=(2, 3600))
    await register_coder(client_at(app, "10.0.0.9"), "limit@example.org")
    one, other, third = client_at(app, "10.0.0.1"), client_at(app, "10.0.0.2"), client_at(app, "10.0.0.3")
    for _ in range(2):
        assert (await one.submit("/password/reset", {"email": "limit@example.org"})).status_code == 200
    assert (await one.submit("/password/reset", {"email": "someone@example.org"})).status_code == 429  # this client
    assert (await other.submit("/password/reset", {"email": "LIMIT@example.org"})).status_code == 429  # this account
    assert (await third.submit("/password/reset", {"email": "someone@example.org"})).status_code == 200
    assert len([m for m in await sent_mail("limit@example.org") if "Reset" in m["subject"]]) == 2


async def test_login_rotates_the_session_id(browser):
    await register_coder(browser, "rot@example.org")
    first = browser.cookies.get("cc_session")
    await login(browser, "rot@example.org")
    second = browser.cookies.get("cc_session")
    assert first and second and first != second
    assert await Session.count() == 1  # the old session was ended, not kept


async def test_password_reset_by_mailed_one_time_link(browser, make_browser):
    await register_coder(browser, "reset@example.org")
    other_device = make_browser()
    await login(other_device, "reset@example.org")
    await browser.submit("/logout")

    response = await browser.submit("/password/reset", {"email": "reset@example.org"})
    assert "If an account exists" in response.text
    link = link_in((await sent_mail("reset@example.org"))[-1]["text"], "/password/reset/confirm")
    token = link.split("token=")[1]
    page = await browser.get(link)
    assert page.status_code == 200
    done = await browser.submit("/password/reset/confirm", {"token": token, "password": "a brand new secret",
                                                            "password_confirm": "a brand new secret"})
    assert done.status_code == 303
    assert (await login(browser, "reset@example.org", PASSWORD)).status_code == 400
    assert (await login(browser, "reset@example.org", "a brand new secret")).status_code == 303
    # the reset ended the other device's session
    assert (await other_device.get("/account")).status_code == 303
    again = await browser.submit("/password/reset/confirm", {"token": token, "password": "another new secret",
                                                             "password_confirm": "another new secret"})
    assert again.status_code == 400 and "invalid, already used or expired" in again.text


async def test_reset_for_unknown_address_says_the_same_and_sends_nothing(browser):
    response = await browser.submit("/password/reset", {"email": "nobody@example.org"})
    assert "If an account exists" in response.text
    assert await outbox_mail("nobody@example.org") == [] and await sent_mail("nobody@example.org") == []


async def test_change_password_ends_every_other_session(browser, make_browser):
    await register_coder(browser, "chg@example.org")
    other = make_browser()
    await login(other, "chg@example.org")
    wrong = await browser.submit("/account/password", {"current_password": "nope nope nope", "new_password": "fresh secret 123",
                                                       "new_password_confirm": "fresh secret 123"})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    ok = await browser.submit("/account/password", {"current_password": PASSWORD, "new_password": "fresh secret 123",
                                                    "new_password_confirm": "fresh secret 123"})
    assert ok.status_code == 303
    assert (await browser.get("/account")).status_code == 200
    assert (await other.get("/account")).status_code == 303


async def test_dashboards_redirect_anonymous_visitors_and_hide_from_other_roles(browser, make_browser):
    anonymous = await browser.get("/employer")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/employer"
    assert (await browser.get("/admin")).status_code == 404
    await register_coder(browser, "role@example.org")
    assert (await browser.get("/employer")).status_code == 404
    assert (await browser.get("/admin")).status_code == 404
    admin = make_browser()
    await create_admin(admin)
    assert (await admin.get("/admin")).status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"])
async def test_login_never_redirects_off_site(browser, target):
    await register_coder(browser, "next@example.org")
    await browser.submit("/logout")
    response = await browser.submit("/login", {"email": "next@example.org", "password": PASSWORD, "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/account"


async def test_login_disabled_account_cannot_log_in_and_loses_sessions(browser):
    from careers.accounts.service import disable_login

    await register_coder(browser, "dis@example.org")
    user = await User.objects().get(User.email == "dis@example.org")
    await disable_login(user.id)
    assert (await browser.get("/account")).status_code == 303
    response = await login(browser, "dis@example.org")
    assert response.status_code == 400 and "disabled" in response.text


async def test_session_cookie_is_httponly_and_samesite(browser):
    response = await register_coder(browser, "cookie@example.org", confirm=False)
    header = [h for h in response.headers.get_list("set-cookie") if h.startswith("cc_session=")][0].lower()
    assert "httponly" in header and "samesite=lax" in header


async def test_admin_reads_mail_kept_in_the_outbox(browser, make_browser):
    await register_coder(browser, "mailme@example.org", confirm=False)
    admin = make_browser()
    await create_admin(admin)
    page = await admin.get("/admin/mail")
    assert "Confirm your email address" in page.text and "mailme@example.org" in page.text


async def test_two_registrations_of_one_address_at_once_make_one_account_and_a_clear_answer(make_browser):
    import asyncio

    async def register(client, role: str):
        data = {"display_name": "Twin", "email": "twin@acmehealth.org", "password": PASSWORD, "password_confirm": PASSWORD}
        if role == "employer":
            data |= {"org_name": "Twin Org", "website": "acmehealth.org"}
        return await client.submit(f"/register/{role}", data)

    for roles in (("coder", "coder"), ("employer", "employer")):
        clients = [make_browser() for _ in roles]
        for client in clients:
            await client.get("/login")  # the CSRF cookie first, so the two posts really overlap
        responses = await asyncio.gather(*(register(c, r) for c, r in zip(clients, roles)))
        statuses = sorted(r.status_code for r in responses)
        if roles[0] == "coder":
            assert statuses == [303, 400], [r.text[-500:] for r in responses]
        else:
            assert statuses == [400, 400]  # the coder above already holds the address
        refused = [r for r in responses if r.status_code == 400]
        assert all("An account with this email already exists" in r.text for r in refused)
    assert await User.count() == 1 and await Employer.count() == 0


async def test_the_worker_forgets_expired_sessions_links_and_rate_limit_counters(browser, make_browser, worker):
    import datetime as dt
    import time

    from careers.accounts.tables import AccountToken
    from careers.core import ratelimit
    from careers.core.tables import RateLimitHit

    await register_coder(browser, "sweep@example.org", confirm=False)  # a live session and a live link
    stale = make_browser()
    await login(stale, "sweep@example.org")
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    await Session.update({Session.expires_at: past}).where(Session.token_hash == service.token_hash(
        stale.cookies.get("cc_session")))
    user = await User.objects().get(User.email == "sweep@example.org")
    old_link = await service.issue_token(user.id, "reset_password", dt.timedelta(seconds=-1))
    await ratelimit.hit("login-ip", "10.0.0.1", (5, 60))
    await RateLimitHit.insert(RateLimitHit(slot="login-ip:10.0.0.2:0", count=3, expires_at=int(time.time()) - 1))

    await worker.run_once()

    assert await Session.count() == 1 and (await browser.get("/account")).status_code == 200
    assert [r["token_hash"] for r in await AccountToken.select(AccountToken.token_hash)] != []
    assert not await AccountToken.exists().where(AccountToken.token_hash == service.token_hash(old_link))
    slots = [r["slot"] for r in await RateLimitHit.select(RateLimitHit.slot)]
    assert "login-ip:10.0.0.2:0" not in slots
    assert [s for s in slots if s.startswith("login-ip:10.0.0.1:")]  # the current window's counter stays


async def test_cookies_are_secure_in_production(settings, database):
    from careers.app import create_app

    app = create_app(settings.replace(env="production", base_url="https://careers.example.org"))
    async with Browser(transport=httpx.ASGITransport(app=app), base_url="https://careers.example.org") as client:
        await client.get("/login")
        response = await register_coder(client, "secure@example.org", confirm=False)
    cookies = {h.split("=", 1)[0]: h.lower() for h in response.headers.get_list("set-cookie")}
    for name in ("cc_session", "cc_flash"):
        assert "secure" in cookies[name] and "httponly" in cookies[name] and "samesite=lax" in cookies[name], name
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://careers.example.org") as fresh:
        csrf = (await fresh.get("/login")).headers["set-cookie"].lower()
    assert csrf.startswith("cc_csrf=") and "secure" in csrf


async def test_mail_goes_through_smtp_when_set_and_waits_in_the_outbox_while_smtp_is_down(browser, settings):
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    from careers.core.tables import OutboxRow
    from careers.local import free_port
    from careers.worker import Worker

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
            return "250 OK"

    port = free_port()
    await register_coder(browser, "smtp@example.org", confirm=False)
    down = Worker(settings.replace(smtp_url=f"smtp://127.0.0.1:{port}"), periodic=[])
    await down.run_once()  # nobody listens yet
    (row,) = await OutboxRow.select().where(OutboxRow.kind == "mail.confirm_email")
    assert row["status"] == "pending" and "Connection refused" in row["last_error"] and row["attempts"] == 1
    assert "token" not in str(row["payload"])  # the link is written only when the mail goes out

    server = Controller(Handler(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        from careers.core import outbox

        await outbox.retry(row["id"])  # what an admin's retry does; otherwise the back-off decides
        await Worker(settings.replace(smtp_url=f"smtp://127.0.0.1:{port}"), periodic=[]).run_once()
    finally:
        server.stop()
    (to, message), = received
    assert to == ["smtp@example.org"] and message["Subject"] == "Confirm your email address for CareerCenter"
    assert message["Message-ID"] == f"<outbox-{row['id']}@testserver>" and message["From"] == settings.mail_from
    assert "/account/confirm?token=" in message.get_payload()
    assert (await OutboxRow.select(OutboxRow.status).where(OutboxRow.id == row["id"]).first())["status"] == "done"
