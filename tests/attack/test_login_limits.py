"""Attack: spreading password guesses over spellings of one address, and over many client addresses.

`authenticate` finds `victim@example.org` from `victim@exａmple.org` (a fullwidth a), `VICTIM@EXAMPLE.ORG` and the
like; before the fix the per-account limit counted each spelling in a bucket of its own, so one account could be
guessed at without end. Now login, reset and registration count the address as the account is found.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from careers.accounts import service as accounts
from careers.app import create_app
from tests.conftest import Browser, sent_mail
from tests.reliability.conftest import PASSWORD, make_coders

SPELLINGS = ["victim0@exａmple.org", "victim0@ｅxample.org", "victim0@examplｅ.org", "VICTIM0@example.org",
             "victim0@EXAMPLE.ORG", "Victim0@Example.Org", "victim0@ｅｘａｍｐｌｅ.org", "victim0@example.ｏｒｇ",
             "victim0@exampｌe.org", "victim0@exａmple.ORG", "ViCtIm0@exａmple.org", "victim0@eｘample.org"]


@pytest.fixture
def limited_app(frozen_clock, settings, database):
    """The default per-account limits (10 logins / 15 minutes, 5 resets and 10 registrations an hour); the
    per-client ones out of the way, since the attacker has many addresses."""
    return create_app(settings.replace(login_rate=(1000, 300), login_account_rate=(10, 900),
                                       reset_rate=(5, 3600), register_rate=(10, 3600)))


def from_address(app, n: int) -> Browser:
    return Browser(transport=httpx.ASGITransport(app=app, client=(f"198.51.100.{n}", 40000 + n)),
                   base_url="http://testserver")


async def test_every_spelling_of_one_address_is_the_same_account():
    assert {accounts.normalise_email(s) for s in SPELLINGS} == {"victim0@example.org"}
    assert {accounts.limit_key(s) for s in SPELLINGS} == {"victim0@example.org"}


async def test_guesses_spread_over_spellings_and_addresses_hit_the_account_limit(limited_app, frozen_clock):
    await make_coders(1, "victim")
    # the control: a fullwidth spelling really logs into the account
    assert (await from_address(limited_app, 1).submit("/login", {"email": SPELLINGS[0], "password": PASSWORD})
            ).status_code == 303
    answers = []
    for n, spelling in enumerate(SPELLINGS, start=2):
        answers.append((await from_address(limited_app, n).submit(
            "/login", {"email": spelling, "password": f"guess number {n}"})).status_code)
    assert answers == [400] * 9 + [429] * 3, answers
    # spent: every login to the account waits, from any address, whatever the password
    fresh = from_address(limited_app, 99)
    assert (await fresh.submit("/login", {"email": "victim0@example.org", "password": PASSWORD})).status_code == 429
    frozen_clock.advance(dt.timedelta(minutes=15))
    assert (await fresh.submit("/login", {"email": "victim0@example.org", "password": PASSWORD})).status_code == 303


async def test_reset_requests_spread_over_spellings_are_counted_for_the_one_account(limited_app):
    await make_coders(1, "victim")
    answers = [(await from_address(limited_app, n).submit("/password/reset", {"email": spelling})).status_code
               for n, spelling in enumerate(SPELLINGS, start=1)]
    assert answers == [200] * 5 + [429] * 7, answers
    assert len(await sent_mail("victim0@example.org")) == 5


async def test_registrations_of_one_address_in_many_spellings_are_counted_together(limited_app):
    await make_coders(1, "victim")
    answers = []
    for n, spelling in enumerate(SPELLINGS, start=1):
        answers.append((await from_address(limited_app, n).submit("/register/coder", {
            "display_name": "Probe", "email": spelling, "password": PASSWORD, "password_confirm": PASSWORD})).status_code)
    assert answers == [400] * 10 + [429] * 2, answers
