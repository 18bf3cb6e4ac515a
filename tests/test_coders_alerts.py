"""Job alerts (digests, dedupe, one-click unsubscribe, guest opt-in), saved jobs, withdrawing and my data."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import pytest

from careers.accounts.tables import User
from careers.coders import alerts, applications, privacy, service
from careers.coders.tables import AlertSentListing, Application, CoderProfile, JobAlert, SavedJob
from listings import service as listings_service
from tests.conftest import link_in, login, register_coder, register_employer, sent_mail, stored
from tests.search_helpers import fresh_index
from tests.test_coders import PDF, coder_with_profile, employer_id, make_listing

DAY = dt.timedelta(days=1)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def digest_mails(email: str) -> list[dict]:
    return [m for m in await sent_mail(email) if "for your alert" in m["subject"]]


async def sync_search(worker) -> None:
    """Let the worker push listing changes into Meilisearch (the alert digest searches the index)."""
    await worker.drain()


# ---- done means 4 ------------------------------------------------------------------------------


async def test_daily_alert_sends_only_new_listings_never_twice_and_one_click_unsubscribes(
        browser, make_browser, settings, worker):
    await fresh_index(settings)
    await register_employer(make_browser())
    employer = await employer_id()
    start = utcnow()
    await make_listing(employer, "Old CPC job", required=["CPC"], now=start - dt.timedelta(hours=2))

    await register_coder(browser, "casey@example.org")
    created = await browser.submit("/alerts", {"query": "credential=CPC&page=3", "frequency": "daily"})
    assert created.status_code == 303 and created.headers["location"] == "/account/alerts"
    alert = await JobAlert.objects().get(JobAlert.email == "casey@example.org")
    assert alert.query == "credential=CPC" and alert.confirmed_at is not None
    page = await browser.get("/account/alerts")
    assert "credential: CPC" in page.text and "Daily" in page.text

    t0 = alert.created_at
    await make_listing(employer, "New CPC <b>job</b>", required=["CPC"], now=t0 + dt.timedelta(hours=1))
    await make_listing(employer, "New CCS job", required=["CCS"], now=t0 + dt.timedelta(hours=1))
    await sync_search(worker)

    assert await alerts.send_due_digests(settings, now=t0 + dt.timedelta(hours=12)) == 0  # not a day yet
    assert await alerts.send_due_digests(settings, now=t0 + DAY + dt.timedelta(minutes=1)) == 1
    mails = await digest_mails("casey@example.org")
    assert len(mails) == 1
    first = mails[0]
    assert "New CPC <b>job</b>" in first["text"] and "Old CPC job" not in first["text"] and "CCS" not in first["text"]
    assert "New CPC &lt;b&gt;job&lt;/b&gt;" in first["html"] and "<b>job" not in first["html"]
    assert "Manage this alert: http://testserver/alerts/manage?token=" in first["text"]
    assert first["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert re.fullmatch(r"<http://testserver/alerts/unsubscribe\?token=\d+\.[0-9a-f]+>", first["headers"]["List-Unsubscribe"])

    # the same day again: nothing; the next day with nothing new: nothing
    assert await alerts.send_due_digests(settings, now=t0 + DAY + dt.timedelta(minutes=2)) == 0
    assert await alerts.send_due_digests(settings, now=t0 + 2 * DAY + dt.timedelta(minutes=2)) == 0
    # a listing published since the last digest is sent, the one already sent is not
    await make_listing(employer, "Second CPC job", required=["CPC"], now=t0 + 2 * DAY + dt.timedelta(hours=1))
    await sync_search(worker)
    assert await alerts.send_due_digests(settings, now=t0 + 3 * DAY + dt.timedelta(minutes=3)) == 1
    second = (await digest_mails("casey@example.org"))[-1]
    assert "Second CPC job" in second["text"] and "New CPC" not in second["text"]
    assert await AlertSentListing.count().where(AlertSentListing.alert == alert.id) == 2

    # a mail scanner following the link changes nothing; the one-click POST from the header unsubscribes
    url = second["headers"]["List-Unsubscribe"].strip("<>").replace("http://testserver", "")
    scanner = make_browser()
    confirm_page = await scanner.get(url)
    assert confirm_page.status_code == 200 and "Unsubscribe from this job alert?" in confirm_page.text
    assert (await JobAlert.objects().get(JobAlert.id == alert.id)).active
    mail_client = make_browser()  # no cookies, no CSRF token: the token authenticates
    one_click = await mail_client.post(url, content=b"List-Unsubscribe=One-Click",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200 and "You are unsubscribed" in one_click.text
    assert not (await JobAlert.objects().get(JobAlert.id == alert.id)).active
    await make_listing(employer, "Third CPC job", required=["CPC"], now=t0 + 4 * DAY)
    await sync_search(worker)
    assert await alerts.send_due_digests(settings, now=t0 + 5 * DAY) == 0

    forged = url.rsplit(".", 1)[0] + ".0000"
    assert (await mail_client.post(forged, content=b"List-Unsubscribe=One-Click",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})).status_code == 404


async def test_guest_alert_waits_for_double_opt_in(browser, make_browser, settings, worker):
    await fresh_index(settings)
    await register_employer(make_browser())
    response = await browser.submit("/alerts", {"query": "q=coder&qualified=true", "frequency": "weekly",
                                                "email": "guest@example.org"})
    assert response.status_code == 200 and "Check your mail" in response.text
    alert = await JobAlert.objects().get(JobAlert.email == "guest@example.org")
    assert alert.confirmed_at is None and alert.query == "q=coder" and alert.user is None
    await make_listing(await employer_id(), "Remote coder", now=alert.created_at + dt.timedelta(hours=1))
    await sync_search(worker)
    assert await alerts.send_due_digests(settings, now=alert.created_at + 8 * DAY) == 0  # not confirmed

    link = link_in((await sent_mail("guest@example.org"))[-1]["text"], "/alerts/confirm")
    page = await browser.get(link)
    assert page.status_code == 200 and "Yes, start my alert" in page.text
    assert (await JobAlert.objects().get(JobAlert.id == alert.id)).confirmed_at is None  # a GET confirms nothing
    token = link.split("token=")[1]
    done = await browser.submit("/alerts/confirm", {"token": token})
    assert done.status_code == 200 and "Your alert is on" in done.text
    assert await alerts.send_due_digests(settings, now=alert.created_at + 8 * DAY) == 1
    assert "Remote coder" in (await digest_mails("guest@example.org"))[-1]["text"]


async def test_a_bad_guest_email_is_explained(browser):
    response = await browser.submit("/alerts", {"query": "q=coder", "frequency": "daily", "email": "nope"})
    assert response.status_code == 400 and "That email address is not valid" in response.text
    assert await JobAlert.count() == 0


async def test_account_alerts_can_be_deleted_only_by_their_owner(browser, make_browser):
    await register_coder(browser, "a@example.org")
    await browser.submit("/alerts", {"query": "q=audit", "frequency": "weekly"})
    alert = await JobAlert.objects().first()
    other = make_browser()
    await register_coder(other, "b@example.org")
    assert (await other.submit(f"/account/alerts/{alert.id}/delete")).status_code == 404
    assert (await browser.submit(f"/account/alerts/{alert.id}/delete")).status_code == 303
    assert await JobAlert.count() == 0


# ---- saved jobs ------------------------------------------------------------------------------------


async def test_saved_jobs_are_kept_and_marked_when_they_expire(browser, make_browser):
    await register_employer(make_browser())
    employer = await employer_id()
    live = await make_listing(employer, "Live job")
    ending = await make_listing(employer, "Ending job")
    await register_coder(browser)
    for listing_id in (live, ending, live):
        assert (await browser.submit(f"/jobs/{listing_id}/save")).status_code == 303
    assert await SavedJob.count() == 2
    await listings_service.transition(ending, "expired", actor_kind="system")
    page = await browser.get("/account/saved")
    assert "Live job" in page.text and "Ending job" in page.text and "This job has expired." in page.text
    assert (await browser.submit(f"/jobs/{live}/unsave", {"next": "/account/saved"})).headers["location"] == "/account/saved"
    assert await SavedJob.count() == 1
    assert (await browser.submit(f"/jobs/{ending}/save")).status_code == 404  # only live jobs can be saved

    anonymous = make_browser()
    response = await anonymous.submit(f"/jobs/{live}/save")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/jobs/")


# ---- withdrawing -----------------------------------------------------------------------------------


async def test_withdrawn_application_is_frozen(browser, make_browser):
    employer_browser = make_browser()
    await register_employer(employer_browser)
    listing_id = await make_listing(await employer_id())
    await coder_with_profile(browser)
    await browser.submit(f"/jobs/{listing_id}/apply", {})
    application = await Application.objects().first()
    other = make_browser()
    await register_coder(other, "other@example.org")
    assert (await other.submit(f"/account/applications/{application.id}/withdraw")).status_code == 404
    assert (await browser.submit(f"/account/applications/{application.id}/withdraw")).status_code == 303
    page = await browser.get("/account/applications")
    assert '<span class="stage stage-withdrawn">Withdrawn</span>' in page.text
    assert "Withdraw this application" not in page.text
    hr = await User.objects().get(User.email == "hr@acmehealth.org")
    with pytest.raises(service.CoderError, match="withdrew"):
        await applications.move_application(application.id, "interviewing", hr.id)


async def test_closed_listing_is_visible_in_my_applications(browser, make_browser):
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id(), "Soon closed")
    await coder_with_profile(browser)
    await browser.submit(f"/jobs/{listing_id}/apply", {})
    await listings_service.transition(listing_id, "closed", actor_kind="employer")
    page = await browser.get("/account/applications")
    assert "This job was closed by the employer." in page.text


# ---- my data ------------------------------------------------------------------------------------------


async def test_export_then_delete_account_with_the_retention_rule(browser, make_browser, settings):
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id())
    saved_id = await make_listing(await employer_id(), "Saved one")
    user = await coder_with_profile(browser)
    await browser.submit(f"/jobs/{listing_id}/apply", {"cover_note": "Hire me"})
    await browser.submit(f"/jobs/{saved_id}/save")
    await browser.submit("/alerts", {"query": "q=coder", "frequency": "daily"})

    page = await browser.get("/account/data")
    assert "90 days after you sent each one" in page.text
    export = await browser.get("/account/data/export")
    assert export.status_code == 200 and export.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        data = json.loads(archive.read("data.json"))
        assert archive.read("resume/my resume.pdf") == PDF
    assert data["account"]["email"] == "casey@example.org" and data["profile"]["name"] == "Casey Coder"
    assert data["applications"][0]["cover_note"] == "Hire me" and data["applications"][0]["history"]
    assert data["saved_jobs"][0]["listing_title"] == "Saved one" and data["job_alerts"][0]["query"] == "q=coder"

    profile = await CoderProfile.objects().get(CoderProfile.user == user.id)
    assert await stored(settings, profile.resume_key) is not None
    wrong = await browser.submit("/account/data/delete", {"password": "not my password", "confirm": "yes"})
    assert wrong.status_code == 400 and "That password is wrong." in wrong.text
    deleted = await browser.submit("/account/data/delete", {"password": "correct horse battery", "confirm": "yes"})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/"

    assert not await CoderProfile.exists().where(CoderProfile.user == user.id)
    assert await stored(settings, profile.resume_key) is None
    assert await SavedJob.count() == 0 and await JobAlert.count() == 0
    assert (await login(make_browser(), "casey@example.org")).status_code == 400
    application = await Application.objects().first()
    copy_key = application.resume_key
    assert application.coder_deleted_at is not None and application.anonymised_at is None
    assert await stored(settings, copy_key) is not None
    # the employer keeps it for the retention window, then it is anonymised
    assert await privacy.anonymise_due(settings, utcnow() + dt.timedelta(days=89)) == 0
    assert await privacy.anonymise_due(settings, utcnow() + dt.timedelta(days=91)) == 1
    application = await Application.objects().first()
    snapshot = application.profile_snapshot
    snapshot = json.loads(snapshot) if isinstance(snapshot, str) else snapshot
    assert snapshot == {"anonymised": True} and application.cover_note == "" and application.resume_key is None
    assert await stored(settings, copy_key) is None


async def test_the_jobs_page_offers_save_and_alert_forms_for_the_current_search(browser, make_browser, settings, worker):
    await fresh_index(settings)
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id(), "Remote CPC coder", required=["CPC"], work_mode="remote")
    await worker.drain()
    guest = make_browser()
    page = await guest.get("/jobs?credential=CPC&work_mode=remote")
    assert page.status_code == 200 and 'action="/alerts"' in page.text
    assert 'name="query" value="credential=CPC&amp;work_mode=remote"' in page.text
    assert f'action="/jobs/{listing_id}/save"' not in page.text  # only coders save jobs

    await register_coder(browser)
    page = await browser.get("/jobs?credential=CPC")
    assert f'action="/jobs/{listing_id}/save"' in page.text
    saved = await browser.submit(f"/jobs/{listing_id}/save", {"next": "/jobs?credential=CPC"})
    assert saved.headers["location"] == "/jobs?credential=CPC"
    created = await browser.submit("/alerts", {"query": "credential=CPC", "frequency": "weekly"})
    assert created.status_code == 303
    assert (await JobAlert.objects().first()).frequency == "weekly"
