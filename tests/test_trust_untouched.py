"""Untouched applications (issue 18): at 10 days without an employer action the coder sees "No response yet" and
gets exactly one mail, the employer a nudge; at 30 days "Likely not moving forward". Only the employer's people
count as an answer (a stage change or a note); automatic moves do not. Time moves with the test clock."""

from __future__ import annotations

import datetime as dt
import re

from careers.accounts import mail_prefs
from careers.accounts.tables import User
from careers.coders import applications as coder_applications
from careers.coders import untouched
from careers.coders.tables import Application
from careers.core import clock
from careers.worker import Worker
from employers import applicants
from employers.tables import Employer
from tests import factories
from tests.conftest import login, register_employer, sent_mail
from tests.test_applicants import coder_applies

DAY = dt.timedelta(days=1)


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def setup(browser, make_browser, email: str = "casey@example.org"):
    """An employer (Hana HR, Acme Health) with one published listing, and a coder who applied to it now."""
    await register_employer(browser)
    employer = await Employer.objects().get(Employer.name == "Acme Health")
    listing = await factories.make_listing(employer, "Remote CPC coder", work_mode="remote", zip_code="", city="",
                                           state="", required=["CPC"])
    coder = make_browser()
    app_id = await coder_applies(coder, listing.id, email, resume=False)
    return listing, coder, app_id


async def run_worker(settings) -> None:
    await Worker(settings).drain()


async def my_applications(coder, email: str = "casey@example.org") -> str:
    page = await coder.get("/account/applications")
    if page.status_code != 200 or "Your applications" not in page.text:  # the session lapsed while time moved
        await login(coder, email)
        page = await coder.get("/account/applications")
    return words(page.text)


def no_response_mails(mails: list[dict]) -> list[dict]:
    return [m for m in mails if m["subject"].startswith("No response yet")]


# ---- done means 1: the notice at 10 days and exactly one mail --------------------------------------------------


async def test_an_untouched_application_shows_its_notice_at_10_days_and_the_coder_gets_exactly_one_mail(
        browser, make_browser, settings, frozen_clock):
    listing, coder, app_id = await setup(browser, make_browser)
    clock.advance(9 * DAY)
    await run_worker(settings)
    assert "No response yet" not in await my_applications(coder)
    assert no_response_mails(await sent_mail("casey@example.org", settings)) == []

    clock.advance(DAY)
    await run_worker(settings)
    assert "No response yet from the employer (10 days)" in await my_applications(coder)
    clock.advance(DAY)
    await run_worker(settings)  # another pass, another day: no second mail
    await run_worker(settings)
    [mail] = no_response_mails(await sent_mail("casey@example.org", settings))
    assert "Remote CPC coder" in mail["subject"] and "10 days ago" in mail["text"]
    assert "/account/applications" in mail["text"] and "/account/mail" in mail["text"]
    assert (await Application.objects().get(Application.id == app_id)).no_response_mailed_at is not None

    [nudge] = [m for m in await sent_mail("hr@acmehealth.org", settings) if "waiting for your answer" in m["subject"]]
    assert "Casey Coder applied to “Remote CPC coder” 10 days ago" in nudge["text"]
    assert f"/employer/applications/{app_id}" in nudge["text"]

    clock.advance(19 * DAY)  # 30 days untouched
    await run_worker(settings)
    page = await my_applications(coder)
    assert "Likely not moving forward" in page and "No response yet" not in page
    assert len(no_response_mails(await sent_mail("casey@example.org", settings))) == 1


async def test_an_employer_stage_change_is_an_answer_and_the_notice_goes(browser, make_browser, settings,
                                                                        frozen_clock):
    listing, coder, app_id = await setup(browser, make_browser)
    clock.advance(31 * DAY)
    assert "Likely not moving forward" in await my_applications(coder)
    await login(browser, "hr@acmehealth.org")
    moved = await browser.submit(f"/employer/applications/{app_id}/move", {"to_stage": "reviewed"})
    assert moved.status_code == 303
    app = await Application.objects().get(Application.id == app_id)
    assert app.first_employer_action_at == clock.now()
    page = await my_applications(coder)
    assert "Likely not moving forward" not in page and "No response yet" not in page
    clock.advance(DAY)
    await coder_applications.move_application(app_id, "interviewing", None)  # later moves keep the first time
    later = await Application.objects().get(Application.id == app_id)
    assert later.first_employer_action_at == app.first_employer_action_at


async def test_an_automatic_move_is_not_an_answer_but_a_note_by_the_employer_is(browser, make_browser, settings):
    listing, coder, app_id = await setup(browser, make_browser)
    await coder_applications.move_application(app_id, "reviewed", None)  # the system (e.g. a screener rule)
    assert (await Application.objects().get(Application.id == app_id)).first_employer_action_at is None
    hr = await User.objects().get(User.email == "hr@acmehealth.org")
    await applicants.add_note(app_id, hr.id, "Strong E/M background")
    assert (await Application.objects().get(Application.id == app_id)).first_employer_action_at is not None


async def test_a_coder_who_turned_the_notices_off_gets_no_mail_but_still_sees_the_line(browser, make_browser,
                                                                                     settings, frozen_clock):
    listing, coder, app_id = await setup(browser, make_browser)
    page = await coder.get("/account/mail")
    assert "No-response notices" in page.text and "Job alert digests" in page.text
    assert "Applicant nudges" not in page.text
    await coder.submit("/account/mail", {"wanted": ["alert_digests"]})
    coder_id = (await User.objects().get(User.email == "casey@example.org")).id
    assert not await mail_prefs.wants(coder_id, untouched.CODER_KIND)

    clock.advance(10 * DAY)
    await run_worker(settings)
    assert no_response_mails(await sent_mail("casey@example.org", settings)) == []
    assert (await Application.objects().get(Application.id == app_id)).no_response_mailed_at is not None  # handled
    assert "No response yet from the employer (10 days)" in await my_applications(coder)


async def test_the_nudge_lists_each_untouched_applicant_once_and_honours_the_employers_choice(
        browser, make_browser, settings, frozen_clock):
    listing, coder, first = await setup(browser, make_browser)
    second = await coder_applies(make_browser(), listing.id, "dana@example.org", resume=False, name="Dana Coder")
    hr = await User.objects().get(User.email == "hr@acmehealth.org")
    await applicants.add_note(second, hr.id, "Call Dana")  # answered: not in the nudge
    clock.advance(10 * DAY)
    assert await untouched.nudge_employers(settings) == [listing.employer]
    assert await untouched.nudge_employers(settings) == []  # each application once
    mails = [m for m in await sent_mail("hr@acmehealth.org", settings) if "waiting" in m["subject"]]
    assert len(mails) == 1 and "Casey Coder" in mails[0]["text"] and "Dana Coder" not in mails[0]["text"]

    third = await coder_applies(make_browser(), listing.id, "eve@example.org", resume=False, name="Eve Coder")
    await mail_prefs.set_wanted(hr.id, "employer", {"listing_reminders"})  # nudges off
    clock.advance(10 * DAY)
    await untouched.nudge_employers(settings)
    assert len([m for m in await sent_mail("hr@acmehealth.org", settings) if "waiting" in m["subject"]]) == 1
    assert (await Application.objects().get(Application.id == third)).employer_nudged_at is not None


def test_the_status_line_in_words():
    now = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
    app = {"stage": "submitted", "first_employer_action_at": None}
    assert untouched.response_notice(app | {"created_at": now - 9 * DAY}, now) == ""
    assert untouched.response_notice(app | {"created_at": now - 12 * DAY}, now) == \
        "No response yet from the employer (12 days)"
    assert untouched.response_notice(app | {"created_at": now - 30 * DAY}, now) == "Likely not moving forward"
    assert untouched.response_notice(app | {"created_at": now - 40 * DAY, "stage": "withdrawn"}, now) == ""
    assert untouched.response_notice(app | {"created_at": now - 40 * DAY, "first_employer_action_at": now}, now) == ""
