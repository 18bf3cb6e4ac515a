"""Screener questions (issue 19, part 1): one shape on the listing (form, importer, API, moderation), the coder's
verdict before applying, screening out on apply with one mail, and the employer's filters, sort and CSV."""

from __future__ import annotations

import csv
import io
import json
import re

from careers.accounts.tables import User
from careers.coders.tables import Application, ApplicationEvent, CoderProfile
from employers.tables import Employer
from listings import commands, screening, service
from listings.tables import Listing
from tests import factories
from tests.conftest import outbox_mail, register_coder, register_employer

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PROFILE = {
    "name": "Casey Coder", "headline": "Inpatient coder", "years_experience": "4", "tools": "Epic", "zip": "60614",
    "desired_work_mode": "remote", "desired_pay_min": "26", "desired_pay_unit": "hour", "summary_md": "I code.",
    "member_number": "", "credentials": ["CCS"], "year_CCS": "2019", "settings": ["inpatient"],
    "code_sets": ["icd10pcs"], "visible": "",
}
QUESTIONS = [
    {"template": "inpatient_pcs_years", "must_meet": True, "min": 2},
    {"template": "encoders", "must_meet": True, "accepted": ["Epic", "3M"]},
    {"text": "Can you work on call one weekend a month?", "kind": "yes_no"},
]
FULL_KEYS = {"text", "kind", "choices", "must_meet", "min", "accepted", "template"}


def listing_fields(**changes) -> dict:
    fields = {"title": "Remote inpatient coder", "description": "Code inpatient charts.", "credentials_any_of": ["CCS"],
              "work_mode": "remote", "employment_type": "full_time", "pay_min": "30", "pay_max": "36",
              "pay_unit": "hour", "screening_questions": QUESTIONS}
    return fields | changes


async def published_listing(employer_name: str = "Acme Health", *, verified: bool = True, **changes) -> Listing:
    employer = await factories.make_employer(employer_name, verified=verified)
    data = await service.validate_listing(listing_fields(**changes))
    listing = await service.create_listing(employer.id, data, actor_kind="admin")
    return await service.publish_without_payment(listing.id)


async def coder(browser, email: str = "casey@example.org", **profile) -> User:
    await register_coder(browser, email)
    handle = re.sub(r"[^a-z0-9]+", "-", email.split("@")[0]) + "-page"
    saved = await browser.submit("/account/profile", PROFILE | {"handle": handle} | profile)
    assert saved.status_code == 303, saved.text
    return await User.objects().get(User.email == email)


def loaded(value):
    """A JSONB value as the driver gives it (a string on SQLite, maybe decoded on PostgreSQL)."""
    return json.loads(value) if isinstance(value, str) else value


def page_text(response) -> str:
    return response.text.replace("&#39;", "'").replace("&#34;", '"')


# ---- one shape: validation, storage, API, importer -----------------------------------------------------------


async def test_questions_take_defaults_on_input_and_carry_every_key_in_the_api(browser):
    listing = await published_listing()
    answer = await browser.get(f"/api/v1/listings/{listing.id}")
    assert answer.status_code == 200
    questions = answer.json()["screening_questions"]
    assert [set(q) for q in questions] == [FULL_KEYS] * 3
    assert questions[0] == {"text": screening.TEMPLATES["inpatient_pcs_years"][0], "kind": "number", "choices": [],
                            "must_meet": True, "min": 2.0, "accepted": [], "template": "inpatient_pcs_years"}
    assert questions[1]["kind"] == "multiple_choice" and questions[1]["accepted"] == ["Epic", "3M"]
    assert "Optum" in questions[1]["choices"]
    assert questions[2] == {"text": "Can you work on call one weekend a month?", "kind": "yes_no",
                            "choices": ["yes", "no"], "must_meet": False, "min": None, "accepted": [],
                            "template": None}


async def test_bad_questions_get_field_named_messages():
    bad = [
        {"text": "Years?", "kind": "number", "must_meet": True},
        {"text": "Shift?", "kind": "single_choice", "choices": ["Day", "Night"], "must_meet": True,
         "accepted": ["Evening"]},
        {"template": "nope"},
        {"text": "Odd", "kind": "essay"},
    ]
    try:
        await service.validate_listing(listing_fields(screening_questions=bad))
    except service.ListingInvalid as exc:
        errors = exc.errors
    else:
        raise AssertionError("bad screener questions were accepted")
    assert "minimum" in errors["screening_questions.1.min"]
    assert "Evening is not one of the choices" in errors["screening_questions.2.accepted"]
    assert "unknown template" in errors["screening_questions.3.template"]
    assert "choose the kind" in errors["screening_questions.4.kind"]
    too_many = [{"text": f"Question {n}?", "kind": "yes_no"} for n in range(9)]
    try:
        await service.validate_listing(listing_fields(screening_questions=too_many))
    except service.ListingInvalid as exc:
        assert "at most 8" in exc.errors["screening_questions"]


async def test_the_importer_reads_screening_questions_and_names_the_bad_field(tmp_path, capsys):
    await factories.make_employer("Acme Health", verified=True)
    good = listing_fields(requisition_id="R-1")
    bad = listing_fields(requisition_id="R-2", title="Another coder",
                         screening_questions=[{"text": "Years?", "kind": "number", "must_meet": True}])
    path = tmp_path / "jobs.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    out = io.StringIO()
    await commands.import_listings(path, "Acme Health", out=out)
    assert "line 2: screening_questions.1.min: Question 1: give the minimum" in capsys.readouterr().err
    listing = await Listing.objects().get(Listing.requisition_id == "R-1")
    assert [q["template"] for q in screening.normalise(listing.screening_questions)] == [
        "inpatient_pcs_years", "encoders", None]


async def test_the_posting_form_saves_questions_without_javascript_and_keeps_bad_input(browser):
    await register_employer(browser)
    form = {k: v for k, v in listing_fields().items() if k != "screening_questions"}
    form |= {"screening_questions.1.template": "accuracy_95", "screening_questions.1.must_meet": "1",
             "screening_questions.1.accepted": "yes",
             "screening_questions.2.text": "Which shift?", "screening_questions.2.kind": "single_choice",
             "screening_questions.2.choices": "Day, Night", "screening_questions.2.must_meet": "1",
             "screening_questions.2.accepted": "Evening"}
    refused = await browser.submit("/employer/listings/new", form)
    assert refused.status_code == 400
    text = page_text(refused)
    assert "Question 2: Evening is not one of the choices" in text and 'value="Which shift?"' in text
    saved = await browser.submit("/employer/listings/new", form | {"screening_questions.2.accepted": "Day"})
    assert saved.status_code == 303, saved.text
    listing = await Listing.objects().get(Listing.title == "Remote inpatient coder")
    questions = screening.normalise(listing.screening_questions)
    assert questions[0]["template"] == "accuracy_95" and questions[0]["accepted"] == ["yes"]
    assert questions[1] == {"text": "Which shift?", "kind": "single_choice", "choices": ["Day", "Night"],
                            "must_meet": True, "min": None, "accepted": ["Day"], "template": None}
    edit = await browser.get(f"/employer/listings/{listing.id}/edit")
    assert 'value="Which shift?"' in edit.text and 'name="screening_questions.8.text"' in edit.text


async def test_an_unverified_employers_edit_of_the_questions_sends_a_published_listing_back_to_review():
    listing = await published_listing("Small Clinic", verified=False)
    values = service.listing_values(listing, await service.listing_details(listing.id))
    values["screening_questions"] = [*values["screening_questions"][:2]]
    data = await service.validate_listing({**values, "pay_min": str(values["pay_min"]),
                                           "pay_max": str(values["pay_max"])})
    saved = await service.update_listing(listing.id, data, actor_kind="employer")
    assert saved.status == "in_review"
    from listings.moderation import service as moderation

    diff = moderation.snapshot_diff(saved)
    assert [d["label"] for d in diff] == ["Screener questions"] and "<del>" in diff[0]["html"]


# ---- done means 2: the verdict before applying, screened out on apply, one mail ---------------------------------


async def test_a_coder_without_a_must_meet_answer_sees_would_be_screened_out_and_applying_lands_in_not_selected(
        browser):
    listing = await published_listing()
    user = await coder(browser)
    await browser.submit("/account/profile/resume", files={"resume": ("cv.pdf", PDF, "application/pdf")})
    page = page_text(await browser.get(service.listing_path(listing)))
    assert "You would be screened out" in page
    assert page.count("? Not answered yet") == 2
    assert 'name="answer.1"' in page and 'name="answer.3"' in page

    applied = await browser.submit(f"/jobs/{listing.id}/apply", {"cover_note": "Hello"})
    assert applied.status_code == 303
    application = await Application.objects().get(Application.coder == user.id)
    assert application.stage == "not_selected" and application.screened_out
    event = await ApplicationEvent.objects().where(
        (ApplicationEvent.application == application.id) & (ApplicationEvent.to_stage == "not_selected")).first()
    assert event.actor_kind == "system" and "this employer requires at least 2" in event.note

    again = await browser.submit(f"/jobs/{listing.id}/apply", {"cover_note": "Hello again"})
    assert again.status_code == 303
    mails = [m for m in await outbox_mail("casey@example.org") if m["subject"].startswith("This employer requires")]
    assert len(mails) == 1
    assert "This employer requires" in mails[0]["text"] and "you did not answer" in mails[0]["text"]
    mine = await browser.get("/account/applications")
    assert "Not selected" in mine.text


async def test_answers_that_meet_apply_normally_are_kept_on_the_profile_and_prefill_the_next_listing(browser):
    first = await published_listing()
    user = await coder(browser)
    before = page_text(await browser.get(service.listing_path(first)))
    assert "You would be screened out" in before
    applied = await browser.submit(f"/jobs/{first.id}/apply", {
        "cover_note": "", "answer.1": "3", "answer.2": ["Epic", "Optum"], "answer.3": "yes"})
    assert applied.status_code == 303, applied.text
    application = await Application.objects().get(Application.coder == user.id)
    assert application.stage == "submitted" and not application.screened_out
    record = loaded(application.screening)
    assert [r["meets"] for r in record] == [True, True, None] and record[1]["answer"] == ["Optum", "Epic"]
    profile = await CoderProfile.objects().get(CoderProfile.user == user.id)
    answers = loaded(profile.screening_answers)
    assert answers["inpatient_pcs_years"] == 3.0 and answers["text:can you work on call one weekend a month?"] == "yes"

    second = await published_listing("Other Health", title="Inpatient DRG coder")
    page = page_text(await browser.get(service.listing_path(second)))
    assert "You meet every must-meet screener question" in page and "✓ Meets" in page
    assert 'name="answer.1" type="text" inputmode="decimal" value="3"' in page


async def test_a_failing_answer_shows_does_not_meet_and_the_state_template_uses_the_profile_state(browser):
    listing = await published_listing(screening_questions=[
        {"template": "state_of_residence", "must_meet": True, "accepted": ["TX"]}])
    await coder(browser)  # ZIP 60614: Illinois
    page = page_text(await browser.get(service.listing_path(listing)))
    assert "✗ Does not meet" in page and "your answer: IL" in page and "You would be screened out" in page


# ---- the employer's side: screened out filter, answer filter and sort, CSV, still movable ------------------------


async def test_employer_filters_and_sorts_by_answers_exports_them_and_can_still_move_a_screened_out_applicant(
        browser, make_browser):
    hr = make_browser()
    await register_employer(hr)
    employer = await Employer.objects().get(Employer.name == "Acme Health")
    await Employer.update({Employer.verified: True}).where(Employer.id == employer.id)
    listing = await published_listing()
    people = {"ana@example.org": {"answer.1": "5", "answer.2": "Epic"},
              "ben@example.org": {"answer.1": "2", "answer.2": ["3M", "Optum"]},
              "cal@example.org": {"answer.1": "1", "answer.2": "Cerner"}}
    for email, answers in people.items():
        applicant = make_browser()
        await coder(applicant, email, name=email.split("@")[0].title())
        applied = await applicant.submit(f"/jobs/{listing.id}/apply", {"cover_note": ""} | answers)
        assert applied.status_code == 303, applied.text
    base = f"/employer/listings/{listing.id}/applicants"
    told = [m["text"] for m in await outbox_mail("hr@acmehealth.org") if m["subject"].startswith("New application")]
    assert len(told) == 3 and [("Cal applied" in t, "must-meet screener question" in t) for t in told] == [
        (False, False), (False, False), (True, True)]

    def names(response) -> list[str]:
        return re.findall(r'<a href="/employer/applications/\d+">(\w+)</a>', response.text)

    out = await hr.get(base + "?screened=out")
    assert names(out) == ["Cal"] and "Screened out" in out.text
    assert sorted(names(await hr.get(base + "?screened=in"))) == ["Ana", "Ben"]
    assert names(await hr.get(base + "?answer=2:Epic")) == ["Ana"]
    assert sorted(names(await hr.get(base + "?answer=1:2"))) == ["Ana", "Ben"]  # a number filter means at least
    assert names(await hr.get(base + "?sort=answer-1")) == ["Ana", "Ben", "Cal"]
    page = await hr.get(base)
    assert 'value="2:Epic"' in page.text and 'value="answer-1"' in page.text

    export = await hr.get(base.replace("/applicants", "/applicants.csv"))
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[-4:] == ["Screened out", screening.TEMPLATES["inpatient_pcs_years"][0],
                           screening.TEMPLATES["encoders"][0], "Can you work on call one weekend a month?"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["Cal"][-4:-1] == ["yes", "1", "Cerner"] and by_name["Ben"][-3] == "2"
    assert by_name["Ben"][-2] == "3M, Optum"

    cal = await Application.objects().where(Application.stage == "not_selected").first()
    detail = page_text(await hr.get(f"/employer/applications/{cal.id}"))
    assert "Screened out when they applied" in detail and "Cerner — does not meet the requirement" in detail
    moved = await hr.submit(f"/employer/applications/{cal.id}/move", {"to_stage": "reviewed", "note": ""})
    assert moved.status_code == 303, moved.text
    assert (await Application.objects().get(Application.id == cal.id)).stage == "reviewed"


# ---- demo data ------------------------------------------------------------------------------------------------


async def test_seed_demo_has_screener_questions_answers_and_screened_out_applications():
    await commands.seed_demo(out=io.StringIO())
    listings = await Listing.select(Listing.screening_questions).where(Listing.requisition_id.like("DEMO-%"))
    asked = [screening.normalise(r["screening_questions"]) for r in listings]
    assert 30 <= sum(1 for q in asked if q) <= 50 and any(q["must_meet"] for qs in asked for q in qs)
    profiles = await CoderProfile.select(CoderProfile.screening_answers)
    answered = [loaded(p["screening_answers"]) for p in profiles]
    assert sum(1 for a in answered if a) >= 10 and any(not a for a in answered)
    apps = await Application.select(Application.stage, Application.screened_out, Application.screening)
    assert any(a["screened_out"] and a["stage"] == "not_selected" for a in apps)
    assert any(not a["screened_out"] and loaded(a["screening"]) for a in apps)


async def test_a_coder_saves_answers_without_applying_and_sees_the_verdict_change(browser):
    listing = await published_listing()
    user = await coder(browser)
    refused = await browser.submit(f"/jobs/{listing.id}/answers", {"answer.1": "lots"})
    assert refused.status_code == 303
    flashed = page_text(await browser.get(refused.headers["location"], follow_redirects=True))
    assert "Enter a number, such as 3." in flashed
    partly = await browser.submit(f"/jobs/{listing.id}/answers", {"answer.1": "1", "answer.2": "Epic"})
    assert partly.status_code == 303 and partly.headers["location"].endswith("#screening-verdict")
    page = page_text(await browser.get(service.listing_path(listing)))
    assert "✗ Does not meet" in page and "✓ Meets" in page and "You would be screened out" in page
    met = await browser.submit(f"/jobs/{listing.id}/answers", {"answer.1": "4", "answer.2": "Epic", "answer.3": ""})
    assert met.status_code == 303
    page = page_text(await browser.get(service.listing_path(listing)))
    assert "You meet every must-meet screener question" in page and "You would be screened out" not in page
    assert not await Application.exists().where(Application.coder == user.id)


async def test_the_profile_keeps_template_answers_and_forgets_custom_ones(browser):
    listing = await published_listing()
    user = await coder(browser)
    await browser.submit(f"/jobs/{listing.id}/answers", {"answer.3": "yes"})
    page = page_text(await browser.get("/account/profile"))
    assert "Screener answers" in page and "Forget “can you work on call one weekend a month?”: yes" in page
    assert "IL (from your ZIP code above)" in page
    refused = await browser.submit("/account/profile/answers", {"tpl.charts_per_hour": "fast"})
    assert refused.status_code == 303
    assert "Enter a number" in page_text(await browser.get(refused.headers["location"], follow_redirects=True))
    saved = await browser.submit("/account/profile/answers", {
        "tpl.inpatient_pcs_years": "6", "tpl.encoders": ["Epic", "3M"], "tpl.accuracy_95": "yes",
        "forget": "text:can you work on call one weekend a month?"})
    assert saved.status_code == 303
    answers = loaded((await CoderProfile.objects().get(CoderProfile.user == user.id)).screening_answers)
    assert answers == {"inpatient_pcs_years": 6.0, "encoders": ["3M", "Epic"], "accuracy_95": "yes"}
    page = page_text(await browser.get(service.listing_path(listing)))
    assert "You meet every must-meet screener question" in page


async def test_a_bad_answer_is_refused_by_name_and_a_too_long_note_keeps_the_answers(browser):
    listing = await published_listing()
    user = await coder(browser)
    refused = await browser.submit(f"/jobs/{listing.id}/apply", {"cover_note": "", "answer.1": "many"})
    assert refused.status_code == 400 and "Enter a number, such as 3." in page_text(refused)
    too_long = await browser.submit(f"/jobs/{listing.id}/apply", {
        "cover_note": "x" * 3001, "answer.1": "3", "answer.2": ["Epic", "3M"]})
    assert too_long.status_code == 400
    text = page_text(too_long)
    assert '<input type="hidden" name="answer.1" value="3">' in text
    assert '<input type="hidden" name="answer.2" value="Epic">' in text and 'name="answer.2" value="3M"' in text
    assert not await Application.exists().where(Application.coder == user.id)


async def test_the_verdict_fits_the_listing_pages_three_statement_budget(browser, statements):
    listing = await published_listing()
    await coder(browser)
    await browser.submit(f"/jobs/{listing.id}/answers", {"answer.1": "1"})
    path = service.listing_path(listing)
    await browser.get(path)  # warm
    statements.clear()
    page = page_text(await browser.get(path))
    assert "✗ Does not meet" in page and "? Not answered yet" in page
    assert len(statements) <= 3, statements  # the session, the listing, the coder panel (answers included)


async def test_the_data_export_carries_the_answers_and_anonymising_clears_them(browser, settings):
    import datetime as dt
    import zipfile

    from careers.coders import privacy
    from careers.core import clock

    listing = await published_listing()
    await coder(browser)
    await browser.submit(f"/jobs/{listing.id}/apply", {"cover_note": "", "answer.1": "3", "answer.2": "Epic"})
    export = await browser.get("/account/data/export")
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        data = json.loads(archive.read("data.json"))
    assert data["screener_answers"] == {"inpatient_pcs_years": 3.0, "encoders": ["Epic"]}
    assert loaded(data["applications"][0]["screening"])[0]["answer"] == 3.0
    deleted = await browser.submit("/account/data/delete", {"password": "correct horse battery", "confirm": "yes"})
    assert deleted.status_code == 303
    assert await privacy.anonymise_due(settings, clock.now() + dt.timedelta(days=91)) == 1
    assert loaded((await Application.objects().first()).screening) == []


async def test_a_state_answer_equal_to_the_profile_state_is_not_kept_so_the_zip_stays_its_source(browser):
    listing = await published_listing(screening_questions=[
        {"template": "state_of_residence", "must_meet": True, "accepted": ["IL", "WI"]}])
    user = await coder(browser)
    page = page_text(await browser.get(service.listing_path(listing)))
    assert '<option value="IL" selected>' in page  # prefilled from the ZIP
    applied = await browser.submit(f"/jobs/{listing.id}/apply", {"cover_note": "", "answer.1": "IL"})
    assert applied.status_code == 303
    assert (await Application.objects().get(Application.coder == user.id)).stage == "submitted"
    assert loaded((await CoderProfile.objects().get(CoderProfile.user == user.id)).screening_answers) == {}
