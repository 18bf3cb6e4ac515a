"""Admins' second factor: enrolment at the first login, a TOTP code at every login, single-use recovery codes."""

from __future__ import annotations

import re
import time

import pyotp

from careers.accounts.service import create_admin as make_admin
from careers.accounts.tables import RecoveryCode, User
from tests.conftest import create_admin, enrol_totp, login, register_coder

EMAIL, PASSWORD = "admin@careercenter.org", "correct horse battery"


def next_code(secret: str) -> str:
    """The code of the next 30-second step (accepted: one step of drift), distinct from the one used to enrol."""
    return pyotp.TOTP(secret).at(time.time() + 30)


async def log_out(browser) -> None:
    await browser.submit("/logout")


async def test_first_login_enrols_the_authenticator_app_before_the_admin_pages_open(browser):
    await make_admin(EMAIL, PASSWORD)
    response = await login(browser, EMAIL, PASSWORD)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/2fa/setup")
    assert (await browser.get("/admin")).status_code == 404  # the password alone opens nothing

    page = await browser.get("/admin/2fa/setup")
    assert page.status_code == 200
    secret = re.search(r'data-totp-secret="([A-Z2-7]+)"', page.text).group(1)
    assert '<img src="data:image/svg+xml' in page.text and "QR code" in page.text
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in page.text  # the key as text

    wrong = await browser.submit("/admin/2fa/setup", {"secret": secret, "code": "000000"})
    assert wrong.status_code == 400 and "does not match" in wrong.text
    assert (await User.objects().get(User.email == EMAIL)).totp_secret_sealed is None

    before = browser.cookies.get("cc_session")
    done = await browser.submit("/admin/2fa/setup", {"secret": secret, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200 and "Two-step login is on" in done.text
    codes = re.findall(r'<code class="recovery-code">([a-z0-9-]+)</code>', done.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert browser.cookies.get("cc_session") != before  # a fresh session id once the factor is proven
    assert (await browser.get("/admin")).status_code == 200
    stored = await RecoveryCode.select(RecoveryCode.code_hash)
    assert all(row["code_hash"] not in codes for row in stored)  # only hashes are kept


async def test_an_enrolled_admin_logs_in_with_a_code_that_works_once(browser, make_browser):
    await create_admin(browser)
    secret = browser.totp_secret
    await log_out(browser)

    response = await browser.submit("/login", {"email": EMAIL, "password": PASSWORD, "next": "/admin/review"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/2fa?next=/admin/review"
    assert (await browser.get("/admin/review")).status_code == 404
    # the enrolment cannot be replaced with the password alone
    assert (await browser.get("/admin/2fa/setup")).status_code == 303
    wrong = await browser.submit("/admin/2fa", {"code": "123456", "next": "/admin/review"})
    assert wrong.status_code == 400 and "not right" in wrong.text

    code = next_code(secret)
    ok = await browser.submit("/admin/2fa", {"code": code, "next": "/admin/review"})
    assert ok.status_code == 303 and ok.headers["location"] == "/admin/review"
    assert (await browser.get("/admin/review")).status_code == 200

    # the same code, replayed from another browser that knows the password, is refused
    other = make_browser()
    await login(other, EMAIL, PASSWORD)
    replay = await other.submit("/admin/2fa", {"code": code})
    assert replay.status_code == 400 and "already used" in replay.text
    assert (await other.get("/admin")).status_code == 404


async def test_a_recovery_code_logs_in_once(browser, make_browser):
    await create_admin(browser)
    first, second = browser.recovery_codes[:2]
    await log_out(browser)

    await login(browser, EMAIL, PASSWORD)
    used = await browser.submit("/admin/2fa", {"code": first.upper()}, follow=True)
    assert used.status_code == 200 and "9 left" in used.text
    assert (await browser.get("/admin")).status_code == 200
    await log_out(browser)

    await login(browser, EMAIL, PASSWORD)
    again = await browser.submit("/admin/2fa", {"code": first})
    assert again.status_code == 400
    assert (await browser.get("/admin")).status_code == 404
    assert (await browser.submit("/admin/2fa", {"code": second})).status_code == 303
    assert (await browser.get("/admin")).status_code == 200


async def test_new_recovery_codes_replace_the_old_ones(browser):
    await create_admin(browser)
    old = browser.recovery_codes
    page = await browser.submit("/admin/2fa/recovery-codes", {"password": PASSWORD, "code": old[-1]})
    new = re.findall(r'<code class="recovery-code">([a-z0-9-]+)</code>', page.text)
    assert len(new) == 10 and not set(new) & set(old)
    await log_out(browser)
    await login(browser, EMAIL, PASSWORD)
    assert (await browser.submit("/admin/2fa", {"code": old[0]})).status_code == 400
    assert (await browser.submit("/admin/2fa", {"code": new[0]})).status_code == 303


async def test_second_factor_pages_are_not_found_for_other_roles(browser):
    assert (await browser.get("/admin/2fa/setup")).status_code == 404
    await register_coder(browser, "nosy@example.org")
    assert (await browser.get("/admin/2fa/setup")).status_code == 404
    assert (await browser.get("/admin/2fa")).status_code == 404
    assert (await browser.submit("/admin/2fa", {"code": "123456"})).status_code == 404


async def test_an_admin_can_move_two_step_login_to_a_new_app(browser):
    await create_admin(browser)
    old_secret = browser.totp_secret
    # while fully signed in the set-up page is open again; it asks for the password and a current code
    new_secret = await enrol_totp(browser, password=PASSWORD, current_code=next_code(old_secret))
    assert new_secret != old_secret
    sealed = (await User.objects().get(User.email == EMAIL)).totp_secret_sealed
    assert new_secret not in sealed and pyotp.TOTP(new_secret).now()  # kept sealed, never in clear
    await log_out(browser)
    await login(browser, EMAIL, PASSWORD)
    assert (await browser.submit("/admin/2fa", {"code": next_code(old_secret)})).status_code == 400
    assert (await browser.submit("/admin/2fa", {"code": next_code(new_secret)})).status_code == 303
