"""Attack: what a stolen password (or an unattended, signed-in browser) is worth against two-step login.

- The half-logged-in admin: the password given, the code not. Every route but the second step and logout must
  answer exactly as to an anonymous visitor (before the fix `requires_login` ignored the missing code, so the
  thief could change the admin's password and end the real admin's sessions).
- Re-enrolment without a code: a signed-in browser left open must not be enough to move two-step login to the
  thief's phone or print new recovery codes.
- Long-lived sessions: admins' end after 30 minutes idle and 12 hours in all; everyone's after 14 idle days and 30
  days in all.
- Coders and employers can turn two-step login on; then the password alone opens nothing.
"""

from __future__ import annotations

import datetime as dt
import re

import pyotp

from careers.accounts import service as accounts
from careers.accounts.tables import RecoveryCode, Session, User
from tests.attack.conftest import app_routes
from tests.conftest import create_admin, enrol_totp, login, register_coder

PASSWORD = "correct horse battery"
ADMIN = "admin@careercenter.org"
SECOND_STEP = re.compile(r"^/(admin|account)/2fa(/|$)|^/logout$")


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)(?::(\w+))?\}", lambda m: "1" if m.group(2) == "int" else "x", template)


def answer(response) -> tuple:
    return response.status_code, response.headers.get("location", "")


async def test_a_half_logged_in_admin_is_anonymous_on_every_route_but_the_second_step(app, make_browser):
    real = make_browser()
    await create_admin(real)  # the real admin, enrolled and signed in elsewhere
    thief, anonymous = make_browser(), make_browser()
    assert (await login(thief, ADMIN, PASSWORD)).headers["location"].startswith("/admin/2fa")
    await anonymous.get("/login")
    routes = [(m, p) for m, p in app_routes(app) if not SECOND_STEP.match(p) and not p.startswith("/static")]
    assert len(routes) > 80, len(routes)
    different = []
    for method, template in routes:
        url = concrete(template)
        got = []
        for browser in (thief, anonymous):
            data = {"_csrf_token": browser.cookies.get("cc_csrf"), "current_password": PASSWORD,
                    "new_password": "thief's new secret", "new_password_confirm": "thief's new secret"}
            response = await browser.request(method, url, data=data if method != "GET" else None)
            assert ADMIN not in response.text, f"{method} {url} shows the admin's address to the half-logged-in"
            got.append(answer(response))
        if got[0] != got[1]:
            different.append(f"{method} {url}: half-logged-in {got[0]}, anonymous {got[1]}")
    assert different == []
    # nothing of the admin's changed: the password works, the real admin is still signed in
    user = await User.objects().get(User.email == ADMIN)
    assert accounts.verify_password(user.password_hash, PASSWORD)
    assert (await real.get("/admin")).status_code == 200
    # and the second step still works for the one who has the code
    assert (await thief.get("/admin/2fa")).status_code == 200


async def test_second_factor_ok_fails_closed(settings):
    user = await accounts.create_admin("fresh-admin@careercenter.org", PASSWORD)
    token = await accounts.start_session(user.id, settings)
    assert (await accounts.load_session(token)).second_factor_ok is False


async def test_re_enrolment_and_new_recovery_codes_need_the_password_and_a_current_code(browser):
    await create_admin(browser)
    sealed_before = (await User.objects().get(User.email == ADMIN)).totp_secret_sealed
    page = await browser.get("/admin/2fa/setup")
    secret = re.search(r'data-totp-secret="([A-Z2-7]+)"', page.text).group(1)
    bare = await browser.submit("/admin/2fa/setup", {"secret": secret, "code": pyotp.TOTP(secret).now()})
    assert bare.status_code == 400
    no_code = await browser.submit("/admin/2fa/setup", {"code": pyotp.TOTP(secret).now(), "password": PASSWORD})
    assert no_code.status_code == 400
    wrong_password = await browser.submit("/admin/2fa/setup", {"code": pyotp.TOTP(secret).now(), "password": "nope",
                                                               "current_code": browser.recovery_codes[0]})
    assert wrong_password.status_code == 400
    assert (await User.objects().get(User.email == ADMIN)).totp_secret_sealed == sealed_before

    codes_before = {r["code_hash"] for r in await RecoveryCode.select(RecoveryCode.code_hash)}
    assert (await browser.submit("/admin/2fa/recovery-codes")).status_code == 400
    assert (await browser.submit("/admin/2fa/recovery-codes", {"password": PASSWORD})).status_code == 400
    assert {r["code_hash"] for r in await RecoveryCode.select(RecoveryCode.code_hash)} == codes_before
    # with both, it works
    new = await browser.submit("/admin/2fa/recovery-codes", {"password": PASSWORD, "code": browser.recovery_codes[1]})
    assert new.status_code == 200 and len(re.findall(r'class="recovery-code"', new.text)) == 10


async def test_the_set_up_key_survives_reloads_for_ten_minutes(browser, frozen_clock):
    await accounts.create_admin(ADMIN, PASSWORD)
    await login(browser, ADMIN, PASSWORD)

    def key(page) -> str:
        return re.search(r'data-totp-secret="([A-Z2-7]+)"', page.text).group(1)

    first = key(await browser.get("/admin/2fa/setup"))
    frozen_clock.advance(dt.timedelta(minutes=9))
    assert key(await browser.get("/admin/2fa/setup")) == first  # a key scanned before a reload still works
    # the key lives server-side: a code of the page's key enrols, whatever a form claims the key is
    forged = pyotp.random_base32()
    assert (await browser.submit("/admin/2fa/setup", {"secret": forged, "code": pyotp.TOTP(forged).now()})
            ).status_code == 400
    frozen_clock.advance(dt.timedelta(minutes=2))
    assert key(await browser.get("/admin/2fa/setup")) != first
    sealed = await Session.select(Session.totp_setup_sealed).where(Session.totp_setup_sealed.is_not_null())
    assert sealed and first not in str(sealed)  # kept sealed, never in clear


async def test_admin_sessions_end_after_30_idle_minutes_and_12_hours_in_all(browser, frozen_clock):
    await create_admin(browser)
    for _ in range(23):  # busy all day, a page every 29 minutes
        frozen_clock.advance(dt.timedelta(minutes=29))
        assert (await browser.get("/admin")).status_code == 200
    frozen_clock.advance(dt.timedelta(minutes=29))  # 11 h 36 min
    assert (await browser.get("/admin")).status_code == 200
    frozen_clock.advance(dt.timedelta(minutes=25))  # past 12 hours since the login
    assert (await browser.get("/admin")).status_code == 404

    await login(browser, ADMIN, PASSWORD)
    code = pyotp.TOTP(browser.totp_secret).at(frozen_clock.now() + dt.timedelta(seconds=30))
    assert (await browser.submit("/admin/2fa", {"code": code})).status_code == 303
    assert (await browser.get("/admin")).status_code == 200
    frozen_clock.advance(dt.timedelta(minutes=31))  # a tab left open over lunch
    assert (await browser.get("/admin")).status_code == 404


async def test_sessions_last_14_days_from_the_last_use_but_never_past_30_days(browser, frozen_clock):
    await register_coder(browser, "steady@example.org")
    for _ in range(2):
        frozen_clock.advance(dt.timedelta(days=13))
        assert (await browser.get("/account")).status_code == 200  # day 13, day 26: used, so it lasts
    expires = (await Session.select(Session.expires_at).first())["expires_at"]
    frozen_clock.advance(dt.timedelta(minutes=4))
    assert (await browser.get("/account")).status_code == 200
    assert (await Session.select(Session.expires_at).first())["expires_at"] == expires  # a page view is no write
    frozen_clock.advance(dt.timedelta(days=4, hours=1))  # day 30 and an hour: the cap
    assert (await browser.get("/account")).status_code == 303


async def test_a_coder_with_two_step_login_on_is_not_signed_in_by_the_password_alone(browser, make_browser):
    await register_coder(browser, "careful@example.org")
    assert "Two-step login is off" in (await browser.get("/account")).text
    # turning it on asks for the password (a browser left open is not enough)
    page = await browser.get("/account/2fa/setup")
    secret = re.search(r'data-totp-secret="([A-Z2-7]+)"', page.text).group(1)
    assert (await browser.submit("/account/2fa/setup", {"code": pyotp.TOTP(secret).now()})).status_code == 400
    await enrol_totp(browser, "/account/2fa", password=PASSWORD)
    assert "Two-step login is on" in (await browser.get("/account")).text

    thief = make_browser()
    response = await login(thief, "careful@example.org", PASSWORD)
    assert response.headers["location"].startswith("/account/2fa")
    assert (await thief.get("/account")).status_code == 303  # anonymous: sent to the login page
    assert (await thief.get("/admin/2fa")).status_code == 404
    code = pyotp.TOTP(browser.totp_secret).at(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30))
    assert (await thief.submit("/account/2fa", {"code": code})).status_code == 303
    assert (await thief.get("/account")).status_code == 200

    # turning it off asks for the password and a code too
    assert (await browser.submit("/account/2fa/off", {"off_password": PASSWORD})).status_code == 400
    off = await browser.submit("/account/2fa/off", {"off_password": PASSWORD, "off_code": browser.recovery_codes[0]})
    assert off.status_code == 303
    assert (await login(make_browser(), "careful@example.org", PASSWORD)).headers["location"] == "/account"
