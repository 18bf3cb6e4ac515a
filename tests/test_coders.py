"""Coders: profile and resume, the qualification rule, applying, my applications and resume access."""

from __future__ import annotations

import asyncio
import io
import json
import re
import zipfile

from careers.accounts.tables import User
from careers.coders import applications, profiles, service
from careers.coders.tables import Application, ApplicationEvent, CoderCredential, CoderProfile
from employers.tables import Employer
from listings import service as listings_service
from listings import stats as listing_stats
from tests import factories
from tests.conftest import outbox_mail, register_coder, register_employer
from tests.conftest import stored, stored_count

PASSWORD = "correct horse battery"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


async def employer_id(name: str = "Acme Health") -> int:
    return (await Employer.objects().get(Employer.name == name)).id


async def make_listing(employer: int, title: str = "Remote CPC coder", **options) -> int:
    return (await factories.make_listing(employer, title, **options)).id


PROFILE = {
    "handle": "casey-coder", "name": "Casey Coder", "headline": "CPC with E/M experience", "years_experience": "4",
    "tools": "Epic, 3M 360", "zip": "60614", "desired_work_mode": "remote", "desired_pay_min": "26",
    "desired_pay_unit": "hour", "summary_md": "I code **E/M** charts.\n\n<script>alert(1)</script>",
    "member_number": "AAPC-0123456", "credentials": ["CPC", "CRC"], "year_CPC": "2019", "year_CRC": "",
    "settings": ["profee", "risk_adjustment"], "specialties": ["cardiology"], "code_sets": ["icd10cm", "cpt"],
    "remote_states": ["IL", "WI"], "visible": "on",
}


async def coder_with_profile(browser, email: str = "casey@example.org", *, resume: bytes | None = PDF, **profile):
    await register_coder(browser, email)
    data = PROFILE | {"handle": email.split("@")[0].replace(".", "-") + "-page"} | profile
    response = await browser.submit("/account/profile", data)
    assert response.status_code == 303, response.text
    if resume is not None:
        response = await browser.submit("/account/profile/resume", files={"resume": ("my resume.pdf", resume, "application/pdf")})
        assert response.status_code == 303, response.text
    return await User.objects().get(User.email == email)


# ---- done means 1: the whole journey -----------------------------------------------------------


async def test_coder_completes_profile_sees_match_applies_and_employer_is_mailed(browser, make_browser):
    employer_browser = make_browser()
    await register_employer(employer_browser)
    listing_id = await make_listing(await employer_id(), "Remote CPC coder", required=["CPC"], preferred=["CRC", "CCS"],
                                    work_mode="remote", remote_states=["IL", "IN"])

    await register_coder(browser, "casey@example.org")
    empty = await browser.get("/account/profile")
    assert empty.status_code == 200 and "your resume (PDF or DOCX)" in empty.text
    saved = await browser.submit("/account/profile", PROFILE)
    assert saved.status_code == 303
    # the multipart upload (a real multipart body through Litestar's parser)
    uploaded = await browser.submit("/account/profile/resume", files={"resume": ("my resume.pdf", PDF, "application/pdf")})
    assert uploaded.status_code == 303
    page = await browser.get("/account/profile")
    assert "Profile 100% complete" in page.text and "my resume.pdf" in page.text
    assert "Chicago, IL" in page.text  # the ZIP resolved offline
    profile = await CoderProfile.objects().get(CoderProfile.handle == "casey-coder")
    assert "<strong>E/M</strong>" in profile.summary_html and "<script" not in profile.summary_html
    assert profile.resume_key.startswith("resumes/") and profile.resume_content_type == "application/pdf"

    # the match, credential by credential (the service the listing page panel renders)
    panel = (await applications.listing_panel((await _current(browser)), listing_id))["coder_panel"]
    match = panel["match"]
    assert match["qualifies"] and match["required"] == [{"code": "CPC", "held": True}]
    assert match["preferred_met"] == ["CRC"] and match["state_eligible"] is True and panel["can_apply"]
    listing_page = await browser.get(f"/jobs/{listing_id}/remote-cpc-coder", follow_redirects=True)
    assert listing_page.status_code == 200 and 'class="coder-panel"' in listing_page.text
    text = listing_page.text.replace("&#39;", "'")
    assert "You meet this job's requirements" in text
    assert "✓ Required: CPC — you hold it" in text and "✓ Preferred: CRC — you hold it" in text
    assert "– Preferred: CCS — you do not hold it" in text
    assert "Remote for residents of IL, IN:" in text and "your state (IL) is eligible" in text
    assert 'name="cover_note"' in text and "Save this job" in text
    anonymous_page = await make_browser().get(f"/jobs/{listing_id}/remote-cpc-coder", follow_redirects=True)
    assert "to see which requirements you meet" in anonymous_page.text

    applied = await browser.submit(f"/jobs/{listing_id}/apply", {"cover_note": "I would love to code for you."})
    assert applied.status_code == 303 and applied.headers["location"].startswith("/account/applications#application-")
    mine = await browser.get("/account/applications")
    assert "Remote CPC coder" in mine.text and "Submitted" in mine.text and "Not viewed by the employer yet" in mine.text

    application = await Application.objects().get(Application.listing == listing_id)
    snapshot = json.loads(application.profile_snapshot) if isinstance(application.profile_snapshot, str) else application.profile_snapshot
    assert snapshot["name"] == "Casey Coder" and snapshot["member_number"] == "AAPC-0123456"
    assert application.resume_key and application.resume_key != profile.resume_key  # a copy, not the live file
    await listing_stats.flush()
    assert (await listing_stats.totals([listing_id]))[listing_id]["apply_clicks"] == 1
    assert await ApplicationEvent.count().where(ApplicationEvent.application == application.id) == 1

    mails = await outbox_mail("hr@acmehealth.org")
    assert any(m["subject"] == "New application: Remote CPC coder" and "Casey Coder" in m["text"] for m in mails)

    # the employer views it and moves it: the coder sees both, in plain words, and gets a kind mail
    await applications.mark_viewed(application.id)
    first_view = (await Application.objects().get(Application.id == application.id)).viewed_at
    await applications.mark_viewed(application.id)
    assert (await Application.objects().get(Application.id == application.id)).viewed_at == first_view
    hr = await User.objects().get(User.email == "hr@acmehealth.org")
    await applications.move_application(application.id, "interviewing", hr.id, "Can you talk on Tuesday?")
    mine = await browser.get("/account/applications")
    assert "Viewed by the employer on" in mine.text and "Interviewing" in mine.text and "Can you talk on Tuesday?" in mine.text
    invite = (await outbox_mail("casey@example.org"))[-1]
    assert "Acme Health invites you to interview" in invite["text"] and "Can you talk on Tuesday?" in invite["text"]


async def _current(browser):
    """The signed-in coder as the pages see them."""
    from careers.accounts.service import load_session
    from careers.core.web import SESSION_COOKIE

    return await load_session(browser.cookies.get(SESSION_COOKIE))


# ---- done means 2: refusals create nothing ----------------------------------------------------------


async def test_applying_twice_shows_the_first_application_and_creates_nothing(browser, make_browser):
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id())
    await coder_with_profile(browser)
    first = await browser.submit(f"/jobs/{listing_id}/apply", {"cover_note": "Hello"})
    assert first.status_code == 303
    mails_before = len(await outbox_mail("hr@acmehealth.org"))
    second = await browser.submit(f"/jobs/{listing_id}/apply", {"cover_note": "Hello again"}, follow=True)
    assert second.status_code == 200 and "You already applied to" in second.text
    assert await Application.count() == 1 and await ApplicationEvent.count() == 1
    assert len(await outbox_mail("hr@acmehealth.org")) == mails_before
    await listing_stats.flush()
    assert (await listing_stats.totals([listing_id]))[listing_id]["apply_clicks"] == 1


async def test_concurrent_applies_create_exactly_one_application(browser, make_browser):
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id())
    user = await coder_with_profile(browser, resume=None)
    current = await _current(browser)
    settings = browser._transport.app.state.settings
    results = await asyncio.gather(*[applications.apply(listing_id, current, "", settings) for _ in range(40)])
    assert sum(r.created for r in results) == 1
    assert len({r.application_id for r in results}) == 1
    assert await Application.count().where(Application.coder == user.id) == 1
    assert await ApplicationEvent.count() == 1
    assert len([m for m in await outbox_mail("hr@acmehealth.org") if m["subject"].startswith("New application")]) == 1


async def test_applying_is_rate_limited_per_account(frozen_clock, app, settings, browser, make_browser):
    app.state.settings = settings.replace(apply_rate=(2, 3600))
    await register_employer(make_browser())
    jobs = [await make_listing(await employer_id(), f"Coder job {n}") for n in range(3)]
    await coder_with_profile(browser)
    statuses = [(await browser.submit(f"/jobs/{job}/apply", {})).status_code for job in jobs]
    assert statuses == [303, 303, 429]
    assert await Application.count() == 2
    refused = await browser.submit(f"/jobs/{jobs[2]}/apply", {})
    assert refused.status_code == 429 and "We could not send your application" in refused.text
    # in words a person reads: minutes, or seconds near the end of the window — never "3540 seconds"
    assert re.search(r"Too many attempts; try again in (\d+ minutes|\d{1,2} seconds?)\.", refused.text)
    other = make_browser()  # another account is counted on its own
    await coder_with_profile(other, "robin@example.org")
    assert (await other.submit(f"/jobs/{jobs[2]}/apply", {})).status_code == 303


async def test_applying_to_an_expired_listing_is_refused_clearly(browser, make_browser):
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id())
    await listings_service.transition(listing_id, "expired", actor_kind="system")
    await coder_with_profile(browser)
    response = await browser.submit(f"/jobs/{listing_id}/apply", {"cover_note": ""})
    assert response.status_code == 400 and "This job has expired." in response.text
    assert await Application.count() == 0


async def test_unconfirmed_email_and_ineligible_state_cannot_apply(browser, make_browser):
    await register_employer(make_browser())
    remote_tx = await make_listing(await employer_id(), "Texas only", work_mode="remote", remote_states=["TX"])
    await coder_with_profile(browser)  # ZIP 60614 is in Illinois
    current = await _current(browser)
    panel = (await applications.listing_panel(current, remote_tx))["coder_panel"]
    assert not panel["can_apply"] and "open only to residents of TX" in panel["blockers"][0]
    page = (await browser.get(f"/jobs/{remote_tx}/texas-only", follow_redirects=True)).text.replace("&#39;", "'")
    assert "your state (IL) is not eligible" in page and "You cannot apply to it." in page
    assert 'name="cover_note"' not in page
    response = await browser.submit(f"/jobs/{remote_tx}/apply", {})
    assert response.status_code == 400 and "your profile&#39;s ZIP is in IL" in response.text
    assert await Application.count() == 0

    other = make_browser()
    await register_coder(other, "new@example.org", confirm=False)
    onsite = await make_listing(await employer_id(), "Onsite")
    response = await other.submit(f"/jobs/{onsite}/apply", {})
    assert response.status_code == 400 and "Confirm your email address before applying" in response.text
    assert await Application.count() == 0


async def test_cover_note_over_the_limit_is_refused(browser, make_browser):
    await register_employer(make_browser())
    listing_id = await make_listing(await employer_id())
    await coder_with_profile(browser)
    long_note = "Dear hiring team, " + "x" * applications.COVER_NOTE_MAX
    response = await browser.submit(f"/jobs/{listing_id}/apply", {"cover_note": long_note})
    assert response.status_code == 400 and "Keep your cover note to" in response.text
    assert await Application.count() == 0
    # the note comes back in the form, inline with its message, to be shortened rather than retyped
    assert f">{long_note}</textarea>" in response.text and 'aria-invalid="true"' in response.text
    assert f'action="/jobs/{listing_id}/apply"' in response.text
    shortened = await browser.submit(f"/jobs/{listing_id}/apply", {"cover_note": long_note[:200]})
    assert shortened.status_code == 303 and await Application.count() == 1


async def stored_files(settings) -> int:
    return await stored_count(settings)


async def test_an_executable_renamed_pdf_is_refused_and_nothing_stored(browser, settings):
    await register_coder(browser)
    files_before = await stored_files(settings)
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 2000
    response = await browser.submit("/account/profile/resume", files={"resume": ("resume.pdf", elf, "application/pdf")})
    assert response.status_code == 400 and "That file is not a PDF or a Word (DOCX) document" in response.text
    windows = b"MZ\x90\x00" + b"\x00" * 2000
    response = await browser.submit("/account/profile/resume", files={"resume": ("cv.docx", windows, "application/pdf")})
    assert response.status_code == 400 and "not a PDF or a Word" in response.text
    profile = await CoderProfile.objects().first()
    assert profile.resume_key is None
    assert await stored_files(settings) == files_before


async def test_a_six_megabyte_file_is_refused_with_a_clear_message(browser, settings):
    await register_coder(browser)
    files_before = await stored_files(settings)
    big = b"%PDF-1.7\n" + b"0" * (6 * 1024 * 1024)
    response = await browser.submit("/account/profile/resume", files={"resume": ("big.pdf", big, "application/pdf")})
    assert response.status_code == 400 and "a resume may be at most 5 MB" in response.text
    assert "5.0 MB" not in response.text  # the file was 6 MB: never tell the person it is 5.0
    assert (await CoderProfile.objects().first()).resume_key is None
    assert await stored_files(settings) == files_before


async def test_a_docx_resume_is_accepted_by_its_content_whatever_its_name(browser):
    await register_coder(browser)
    response = await browser.submit("/account/profile/resume", files={"resume": ("resume.txt", docx_bytes(), "text/plain")})
    assert response.status_code == 303
    download = await browser.get("/account/resume")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith(profiles.DOCX_TYPE)
    assert download.headers["content-disposition"].startswith('attachment; filename="resume.docx"')
    assert download.headers["x-content-type-options"] == "nosniff"


# ---- done means 3: who may download a resume -------------------------------------------------------


async def test_resume_downloads_for_owner_and_the_employer_only(browser, make_browser):
    acme = make_browser()
    await register_employer(acme)
    other_employer = make_browser()
    await register_employer(other_employer, "hr@otherclinic.org", org="Other Clinic", website="https://otherclinic.org")
    listing_id = await make_listing(await employer_id())
    await coder_with_profile(browser)
    await browser.submit(f"/jobs/{listing_id}/apply", {})
    application = await Application.objects().first()

    own = await browser.get("/account/resume")
    assert own.status_code == 200 and own.content == PDF
    assert own.headers["content-type"].startswith("application/pdf")
    assert own.headers["content-disposition"].startswith("attachment;")
    assert own.headers["x-content-type-options"] == "nosniff"
    assert (await browser.get(f"/applications/{application.id}/resume")).status_code == 200

    sent = await acme.get(f"/applications/{application.id}/resume")
    assert sent.status_code == 200 and sent.content == PDF and sent.headers["content-disposition"].startswith("attachment;")

    another_coder = make_browser()
    await register_coder(another_coder, "nosy@example.org")
    anonymous = make_browser()
    for stranger in (another_coder, other_employer, anonymous):
        assert (await stranger.get(f"/applications/{application.id}/resume")).status_code == 404
    assert (await other_employer.get("/account/resume")).status_code == 404  # not a coder
    assert (await anonymous.get("/account/resume")).status_code == 303  # a dashboard: log in first
    assert (await another_coder.get("/account/resume")).status_code == 404  # they have none of their own
    assert (await acme.get("/applications/999999/resume")).status_code == 404


# ---- profile rules ---------------------------------------------------------------------------------


async def test_profile_errors_are_inline_and_keep_the_input(browser):
    await register_coder(browser)
    response = await browser.submit("/account/profile", PROFILE | {"zip": "00000", "year_CPC": "19", "name": ""})
    assert response.status_code == 400
    assert "We do not know the ZIP code 00000" in response.text
    assert "Enter your name." in response.text
    assert "Enter the year you earned CPC" in response.text
    assert 'value="CPC with E/M experience"' in response.text  # kept
    assert 'value="CPC" checked' in response.text
    assert await CoderCredential.count() == 0


async def test_public_page_only_when_visible_and_never_shows_resume_or_member_number(browser, make_browser):
    await coder_with_profile(browser, handle="casey-public")
    visitor = make_browser()
    page = await visitor.get("/coders/casey-public")
    assert page.status_code == 200 and "Casey Coder" in page.text and "CPC" in page.text
    assert "AAPC-0123456" not in page.text and "resume" not in page.text.lower() and "60614" not in page.text
    await browser.submit("/account/profile", PROFILE | {"handle": "casey-public", "visible": ""})
    assert (await visitor.get("/coders/casey-public")).status_code == 404
    assert (await visitor.get("/coders/nobody-here")).status_code == 404


async def test_profile_pages_redirect_anonymous_and_hide_from_employers(browser, make_browser):
    assert (await browser.get("/account/profile")).headers["location"].startswith("/login?next=/account/profile")
    employer = make_browser()
    await register_employer(employer)
    for path in ("/account/profile", "/account/applications", "/account/saved", "/account/alerts", "/account/data"):
        assert (await employer.get(path)).status_code == 404


# ---- done means 5: the qualification rule --------------------------------------------------------------


def facts(work_mode="onsite", required=(), any_of=(), preferred=(), remote_states=()):
    return {"work_mode": work_mode, "credentials_required": list(required), "credentials_any_of": list(any_of),
            "credentials_preferred": list(preferred), "remote_states": list(remote_states)}


def test_qualification_needs_every_required_credential_exactly():
    assert service.qualification_match({"CPC"}, "IL", facts(required=["CPC"]))["qualifies"]
    assert not service.qualification_match({"CPC"}, "IL", facts(required=["CPC-A"]))["qualifies"]
    assert not service.qualification_match({"CPC-A"}, "IL", facts(required=["CPC"]))["qualifies"]
    assert not service.qualification_match({"CCS-P"}, "IL", facts(required=["CCS"]))["qualifies"]
    assert not service.qualification_match({"CPC"}, "IL", facts(required=["CPC", "CRC"]))["qualifies"]
    result = service.qualification_match({"CPC"}, "IL", facts(required=["CPC", "CRC"]))
    assert result["missing"] == ["CRC"] and "You do not hold the required CRC." in result["reasons"]
    assert service.qualification_match(set(), None, facts())["qualifies"]


def test_qualification_any_of_needs_one_of_them():
    assert service.qualification_match({"CCS"}, "IL", facts(any_of=["CCS", "CIC"]))["qualifies"]
    assert not service.qualification_match({"CCS-P"}, "IL", facts(any_of=["CCS", "CIC"]))["qualifies"]
    preferred_only = service.qualification_match(set(), "IL", facts(preferred=["CPC"]))
    assert preferred_only["qualifies"] and preferred_only["preferred_met"] == []


def test_remote_state_matters_only_for_remote_listings():
    assert service.qualification_match({"CPC"}, "IL", facts("remote", ["CPC"], remote_states=["IL", "WI"]))["qualifies"]
    assert not service.qualification_match({"CPC"}, "IN", facts("remote", ["CPC"], remote_states=["IL", "WI"]))["qualifies"]
    assert service.qualification_match({"CPC"}, "IN", facts("remote", ["CPC"]))["qualifies"]  # any state
    assert not service.qualification_match({"CPC"}, None, facts("remote", ["CPC"], remote_states=["IL"]))["qualifies"]
    for mode in ("onsite", "hybrid"):
        assert service.qualification_match({"CPC"}, "IN", facts(mode, ["CPC"], remote_states=["IL"]))["qualifies"]
    onsite = service.qualification_match({"CPC"}, "IN", facts("onsite", ["CPC"]))
    assert onsite["state_eligible"] is None


async def test_qualification_profile_reads_held_codes_and_zip_state(browser):
    user = await coder_with_profile(browser, resume=None)
    held, state = await service.qualification_profile(user.id)
    assert held == {"CPC", "CRC"} and state == "IL"
    assert await service.qualification_profile(987654) == (set(), None)


async def test_jobs_i_qualify_for_returns_exactly_what_the_rule_admits(browser, make_browser, settings, worker):
    """Listings differing by one credential or one state; the search filter agrees with qualification_match."""
    try:
        from search import service as search_service
    except ImportError:  # the search domain is not there yet: the rule itself is tested above
        return
    await register_employer(make_browser())
    employer = await employer_id()
    cases = {
        "needs CPC": dict(required=["CPC"]),
        "needs CPC-A": dict(required=["CPC-A"]),
        "needs CPC and CRC": dict(required=["CPC", "CRC"]),
        "needs CCS": dict(required=["CCS"]),
        "any of CRC or CIC": dict(any_of=["CRC", "CIC"]),
        "any of CIC or CCS": dict(any_of=["CIC", "CCS"]),
        "remote IL": dict(required=["CPC"], work_mode="remote", remote_states=["IL"]),
        "remote TX": dict(required=["CPC"], work_mode="remote", remote_states=["TX"]),
        "remote anywhere": dict(required=["CPC"], work_mode="remote"),
        "hybrid TX": dict(required=["CPC"], work_mode="hybrid", remote_states=["TX"]),
    }
    ids = {title: await make_listing(employer, title, **kw) for title, kw in cases.items()}
    user = await coder_with_profile(browser, resume=None, credentials=["CPC", "CRC"], year_CRC="")
    held, state = await service.qualification_profile(user.id)
    expected = {t for t, lid in ids.items() if service.qualification_match(held, state, await service.listing_facts(lid))["qualifies"]}
    assert expected == {"needs CPC", "needs CPC and CRC", "any of CRC or CIC", "remote IL", "remote anywhere", "hybrid TX"}
    query = search_service.parse_query({"per_page": ["100"]}).replace(qualified_for=(frozenset(held), state))
    found = await search_service.search_database(query, settings)
    assert {h["title"] for h in found.hits} == expected
    # and through Meilisearch
    from tests.search_helpers import fresh_index

    await fresh_index(settings)
    await worker.drain()
    found = await search_service.search_listings(query, settings, allow_degraded=False)
    assert {h["title"] for h in found.hits} == expected


async def test_demo_coders_get_profiles_applications_and_alerts_once(browser, make_browser, settings):
    from careers.coders.demo import demo_pdf
    from careers.coders.tables import JobAlert

    assert profiles.resume_kind(demo_pdf("Demo Coder")) == (profiles.PDF_TYPE, ".pdf")
    await register_employer(make_browser())
    for n in range(4):
        await make_listing(await employer_id(), f"Demo job {n}")
    ids = []
    for n in range(4):
        await register_coder(make_browser(), f"demo{n}@example.org")
        ids.append((await User.objects().get(User.email == f"demo{n}@example.org")).id)
    assert await service.seed_demo_profiles(ids, settings) == 4
    assert await service.seed_demo_profiles(ids, settings) == 0  # idempotent
    assert await CoderCredential.count() >= 4 and await JobAlert.count() >= 1
    profile = await CoderProfile.objects().get(CoderProfile.user == ids[0])
    assert profile.state and profile.resume_key and await stored(settings, profile.resume_key) is not None
