"""Employers manage applicants: the list, one application, stage moves with mail, bulk moves, private notes,
the CSV export, the dashboard figures, and who may see any of it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from careers.accounts.tables import User
from careers.coders.tables import Application, ApplicationEvent
from careers.core.filters import datetime as datetime_text
from careers.core.tables import OutboxRow
from employers import applicants as service
from employers.tables import Employer, EmployerMember
from employers.tracking.tables import ApplicationNote, MemberVisit
from listings import stats
from listings.tables import ListingDailyStat
from tests import factories
from tests.conftest import link_in, login, outbox_mail, register_coder, register_employer, sent_mail

PASSWORD = "correct horse battery"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PROFILE = {
    "name": "Casey Coder", "headline": "CPC with E/M experience", "years_experience": "4", "tools": "Epic",
    "zip": "60614", "desired_work_mode": "remote", "desired_pay_min": "26", "desired_pay_unit": "hour",
    "summary_md": "I code **E/M** charts.", "member_number": "AAPC-0123456", "credentials": ["CPC", "CRC"],
    "year_CPC": "2019", "year_CRC": "", "settings": ["profee"], "specialties": ["cardiology"],
    "code_sets": ["icd10cm", "cpt"], "remote_states": ["IL", "WI"], "visible": "",
}


# ---- how people get here ----------------------------------------------------------------------------


async def employer_id(name: str = "Acme Health") -> int:
    return (await Employer.objects().get(Employer.name == name)).id


async def make_listing(employer: int, title: str = "Remote CPC coder", **changes) -> int:
    """A published listing (as an admin import would): remote for IL and IN, CPC required, CRC preferred."""
    job = {"required": ("CPC",), "preferred": ("CRC",), "work_mode": "remote", "remote_states": ("IL", "IN")}
    return (await factories.make_listing(employer, title, **(job | changes))).id


async def coder_applies(browser, listing_id: int, email: str, *, cover_note: str = "I would love to code for you.",
                        resume: bool = True, **profile) -> int:
    """A coder registers, fills in the profile (and resume) and applies; returns the application id."""
    await register_coder(browser, email, name=profile.get("name", "Casey Coder"))
    handle = re.sub(r"[^a-z0-9]+", "-", email.split("@")[0].lower()) + "-page"
    saved = await browser.submit("/account/profile", PROFILE | {"handle": handle} | profile)
    assert saved.status_code == 303, saved.text
    if resume:
        uploaded = await browser.submit("/account/profile/resume",
                                        files={"resume": ("my resume.pdf", PDF, "application/pdf")})
        assert uploaded.status_code == 303, uploaded.text
    applied = await browser.submit(f"/jobs/{listing_id}/apply", {"cover_note": cover_note})
    assert applied.status_code == 303, applied.text
    user = await User.objects().get(User.email == email)
    return (await Application.objects().get(Application.listing_coder == f"{listing_id}:{user.id}")).id


async def invite_and_join(owner, colleague, email: str, name: str = "Colin Colleague") -> None:
    sent = await owner.submit("/employer/team/invite", {"email": email})
    assert sent.status_code == 303, sent.text
    token = link_in((await sent_mail(email))[-1]["text"], "/employer/invites/accept").split("token=")[1]
    joined = await colleague.submit("/employer/invites/accept", {"token": token, "display_name": name,
                                                                  "password": PASSWORD, "password_confirm": PASSWORD})
    assert joined.status_code == 303, joined.text


async def stage_of(application_id: int) -> str:
    return (await Application.objects().get(Application.id == application_id)).stage


# ---- done means 1: move to interviewing; the coder sees it and is mailed; history says who and when -----------


async def test_employer_moves_an_applicant_to_interviewing_and_the_coder_sees_it_and_is_mailed(browser, make_browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    coder = make_browser()
    app_id = await coder_applies(coder, listing_id, "casey@example.org")

    listing_page = await browser.get(f"/employer/listings/{listing_id}/applicants")
    assert listing_page.status_code == 200
    text = listing_page.text
    assert "Casey Coder" in text and "Meets the requirements" in text
    assert '<span class="stage stage-submitted">Submitted</span>' in text
    assert "Holds: CPC, CRC" in text and "4 years" in text and "Chicago, IL" in text
    assert "Eligible for this remote job" in text and "I would love to code for you." in text
    assert f'href="/applications/{app_id}/resume"' in text
    assert f'<label for="select-{app_id}">Select Casey Coder</label>' in text

    page = await browser.get(f"/employer/applications/{app_id}")
    assert page.status_code == 200 and "casey@example.org" in page.text and "AAPC-0123456" in page.text
    assert "<strong>E/M</strong>" in page.text  # the sanitised summary
    before = dt.datetime.now(dt.timezone.utc)
    moved = await browser.submit(f"/employer/applications/{app_id}/move",
                                 {"to_stage": "interviewing", "note": "Can you talk on Tuesday? <b>bold</b>"})
    assert moved.status_code == 303 and moved.headers["location"] == f"/employer/applications/{app_id}"
    assert await stage_of(app_id) == "interviewing"

    mine = await coder.get("/account/applications")
    assert "Interviewing" in mine.text and "Viewed by the employer on" in mine.text
    assert "Can you talk on Tuesday? &lt;b&gt;bold&lt;/b&gt;" in mine.text
    mail = (await outbox_mail("casey@example.org"))[-1]
    assert "Acme Health invites you to interview" in mail["text"] and "Can you talk on Tuesday?" in mail["text"]

    event = await ApplicationEvent.objects().where(ApplicationEvent.application == app_id).order_by(
        ApplicationEvent.id, ascending=False).first()
    hr = await User.objects().get(User.email == "hr@acmehealth.org")
    assert (event.actor, event.from_stage, event.to_stage) == (hr.id, "submitted", "interviewing")
    assert event.created_at >= before - dt.timedelta(seconds=2)
    history = (await browser.get(f"/employer/applications/{app_id}")).text
    row = re.findall(r'<tr class="history-row">(.*?)</tr>', history, re.S)[-1]
    cells = [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
    assert cells[1:4] == ["Hana HR", "Submitted", "Interviewing"]  # the coder's words too
    assert cells[0] == datetime_text(event.created_at)
    assert "&lt;b&gt;bold&lt;/b&gt;" in row and "<b>bold" not in history

    # submitting the form with the stage it is already at says so, and changes and mails nothing
    mails = len(await outbox_mail("casey@example.org"))
    again = await browser.submit(f"/employer/applications/{app_id}/move", {"to_stage": "interviewing"}, follow=True)
    assert "Already at Interviewing: nothing changed and no mail was sent." in again.text
    assert "Moved to Interviewing" not in again.text
    assert len(await outbox_mail("casey@example.org")) == mails
    assert await ApplicationEvent.count().where(ApplicationEvent.application == app_id) == 2


async def test_opening_an_application_sets_viewed_at_once(browser, make_browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    coder = make_browser()
    app_id = await coder_applies(coder, listing_id, "casey@example.org")
    assert "Not viewed by the employer yet" in (await coder.get("/account/applications")).text
    await browser.get(f"/employer/listings/{listing_id}/applicants")  # the list does not count as opening it
    assert (await Application.objects().get(Application.id == app_id)).viewed_at is None

    await browser.get(f"/employer/applications/{app_id}")
    first = (await Application.objects().get(Application.id == app_id)).viewed_at
    assert first is not None
    await browser.get(f"/employer/applications/{app_id}")
    assert (await Application.objects().get(Application.id == app_id)).viewed_at == first
    assert "Viewed by the employer on" in (await coder.get("/account/applications")).text


async def test_a_withdrawn_application_is_frozen(browser, make_browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    coder = make_browser()
    app_id = await coder_applies(coder, listing_id, "casey@example.org")
    withdrawn = await coder.submit(f"/account/applications/{app_id}/withdraw")
    assert withdrawn.status_code == 303

    page = await browser.get(f"/employer/applications/{app_id}")
    assert "Withdrawn by the candidate" in page.text
    assert f'action="/employer/applications/{app_id}/move"' not in page.text
    events = await ApplicationEvent.count().where(ApplicationEvent.application == app_id)
    mails = len(await outbox_mail("casey@example.org"))
    refused = await browser.submit(f"/employer/applications/{app_id}/move", {"to_stage": "offer"})
    assert refused.status_code == 400 and "withdrew this application" in refused.text
    assert await stage_of(app_id) == "withdrawn"
    assert await ApplicationEvent.count().where(ApplicationEvent.application == app_id) == events
    assert len(await outbox_mail("casey@example.org")) == mails


async def test_a_withdrawal_and_a_move_arriving_together_leave_one_consistent_history(browser, make_browser):
    import asyncio

    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    coder = make_browser()
    app_id = await coder_applies(coder, listing_id, "casey@example.org")
    await browser.get("/login")
    await coder.get("/login")
    await asyncio.gather(coder.submit(f"/account/applications/{app_id}/withdraw"),
                         browser.submit(f"/employer/applications/{app_id}/move", {"to_stage": "interviewing"}))
    events = await ApplicationEvent.select().where(ApplicationEvent.application == app_id).order_by(ApplicationEvent.id)
    # each move starts where the previous one ended, and the stage is where the last one ended
    assert all(b["from_stage"] == a["to_stage"] for a, b in zip(events, events[1:])), events
    assert await stage_of(app_id) == events[-1]["to_stage"]
    assert "withdrawn" in [e["to_stage"] for e in events]


async def test_bulk_move_moves_the_selected_in_one_go_and_skips_withdrawn(browser, make_browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    people = [("ann@example.org", "Ann Able"), ("bo@example.org", "Bo Brown"), ("cy@example.org", "Cy Cole"),
              ("di@example.org", "Di Dunn")]
    ids = {}
    for email, name in people:
        ids[name] = await coder_applies(make_browser(), listing_id, email, name=name, resume=False)
    cy = make_browser()
    await login(cy, "cy@example.org")
    await cy.submit(f"/account/applications/{ids['Cy Cole']}/withdraw")

    chosen = [ids["Ann Able"], ids["Bo Brown"], ids["Cy Cole"]]
    response = await browser.submit(f"/employer/listings/{listing_id}/applicants/move",
                                    {"application_id": [str(i) for i in chosen], "to_stage": "not_selected",
                                     "note": "Thank you for your time.", "sort": "match"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/employer/listings/{listing_id}/applicants?sort=match"
    page = await browser.get(response.headers["location"])
    assert "Moved 2 applicants to Not selected." in page.text
    assert "Skipped 1 withdrawn application (frozen by the candidate): Cy Cole." in page.text
    assert [await stage_of(ids[n]) for n in ("Ann Able", "Bo Brown", "Cy Cole", "Di Dunn")] == [
        "not_selected", "not_selected", "withdrawn", "submitted"]
    for email in ("ann@example.org", "bo@example.org"):
        last = (await outbox_mail(email))[-1]
        assert "not to move forward" in last["text"] and "Thank you for your time." in last["text"]
    assert not any("not to move forward" in m["text"] for m in await outbox_mail("cy@example.org"))

    nothing = await browser.submit(f"/employer/listings/{listing_id}/applicants/move", {"to_stage": "reviewed"})
    assert nothing.status_code == 400 and "Select at least one applicant" in nothing.text


async def test_bulk_move_with_an_application_of_another_listing_moves_nothing(browser, make_browser):
    await register_employer(browser)
    first = await make_listing(await employer_id(), "First job")
    second = await make_listing(await employer_id(), "Second job")
    a = await coder_applies(make_browser(), first, "ann@example.org", name="Ann Able", resume=False)
    b = await coder_applies(make_browser(), second, "bo@example.org", name="Bo Brown", resume=False)
    response = await browser.submit(f"/employer/listings/{first}/applicants/move",
                                    {"application_id": [str(a), str(b)], "to_stage": "reviewed"})
    assert response.status_code == 404
    assert [await stage_of(a), await stage_of(b)] == ["submitted", "submitted"]


async def test_the_list_sorts_filters_and_searches_from_the_url(browser, make_browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id(), required=("CPC",), preferred=("CRC",))
    ann = await coder_applies(make_browser(), listing_id, "ann@example.org", name="Ann Able", resume=False,
                              credentials=["CCS"], year_CPC="")
    bo = await coder_applies(make_browser(), listing_id, "bo@example.org", name="Bo Brown", resume=False)
    cy = await coder_applies(make_browser(), listing_id, "cy@example.org", name="Cy Cole", resume=False,
                             credentials=["CPC"], year_CRC="")
    await browser.submit(f"/employer/applications/{cy}/move", {"to_stage": "reviewed"})
    base = f"/employer/listings/{listing_id}/applicants"

    def order(html: str) -> list[str]:
        return re.findall(r'<a href="/employer/applications/\d+">([^<]+)</a>', html)

    assert order((await browser.get(base)).text) == ["Cy Cole", "Bo Brown", "Ann Able"]  # newest first
    assert order((await browser.get(base + "?sort=oldest")).text) == ["Ann Able", "Bo Brown", "Cy Cole"]
    assert order((await browser.get(base + "?sort=match")).text) == ["Bo Brown", "Cy Cole", "Ann Able"]
    assert order((await browser.get(base + "?sort=stage")).text) == ["Bo Brown", "Ann Able", "Cy Cole"]
    missing = await browser.get(base + "?match=missing")
    assert order(missing.text) == ["Ann Able"] and "Missing:</strong> CPC" in missing.text
    assert order((await browser.get(base + "?match=meets&sort=oldest")).text) == ["Bo Brown", "Cy Cole"]
    assert order((await browser.get(base + "?stage=reviewed")).text) == ["Cy Cole"]
    assert order((await browser.get(base + "?q=bRoW")).text) == ["Bo Brown"]
    junk = await browser.get(base + "?sort=%3Cscript%3E&stage=nope&match=x")  # hand-edited URLs fall back
    assert junk.status_code == 200 and order(junk.text) == ["Cy Cole", "Bo Brown", "Ann Able"]
    assert ann and bo


# ---- notes ---------------------------------------------------------------------------------------------


async def test_private_notes_are_shared_with_teammates_with_author_and_time(browser, make_browser):
    await register_employer(browser)
    colleague = make_browser()
    await invite_and_join(browser, colleague, "colin@acmehealth.org")
    listing_id = await make_listing(await employer_id())
    coder = make_browser()
    app_id = await coder_applies(coder, listing_id, "casey@example.org")

    added = await browser.submit(f"/employer/applications/{app_id}/notes", {"body": "Strong E/M.\n<i>call</i> her"})
    assert added.status_code == 303
    empty = await browser.submit(f"/employer/applications/{app_id}/notes", {"body": "  "})
    assert empty.status_code == 400 and "Write the note first." in empty.text
    page = await colleague.get(f"/employer/applications/{app_id}")
    assert "Hana HR ·" in page.text and "Strong E/M.<br>&lt;i&gt;call&lt;/i&gt; her" in page.text
    note = await ApplicationNote.objects().first()
    assert datetime_text(note.created_at) in page.text
    mine = await coder.get("/account/applications")
    assert "Strong E/M." not in mine.text


# ---- done means 2: every route, as the wrong people, answers 404 (or /login) and changes nothing ----------------


async def _state() -> dict:
    return {
        "applications": await Application.select(Application.id, Application.stage, Application.viewed_at,
                                                  Application.updated_at).order_by(Application.id),
        "events": await ApplicationEvent.count(),
        "notes": await ApplicationNote.count(),
        "outbox": await OutboxRow.count(),
        "visits": await MemberVisit.count(),
    }


def _routes(listing_id: int, app_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"/employer/listings/{listing_id}/applicants", None),
        ("GET", f"/employer/listings/{listing_id}/applicants?stage=submitted&sort=match&q=casey", None),
        ("GET", f"/employer/listings/{listing_id}/applicants.csv", None),
        ("POST", f"/employer/listings/{listing_id}/applicants/move",
         {"application_id": str(app_id), "to_stage": "hired", "note": "x"}),
        ("GET", f"/employer/applications/{app_id}", None),
        ("POST", f"/employer/applications/{app_id}/move", {"to_stage": "offer", "note": "x"}),
        ("POST", f"/employer/applications/{app_id}/notes", {"body": "sneaky"}),
        ("GET", f"/applications/{app_id}/resume", None),
    ]


async def _call(client, method: str, path: str, data: dict | None):
    if method == "GET":
        return await client.get(path)
    return await client.submit(path, data)


async def test_every_applicant_route_answers_404_to_strangers_and_login_to_anonymous_and_changes_nothing(
        browser, make_browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    coder = make_browser()
    app_id = await coder_applies(coder, listing_id, "casey@example.org")
    other_employer = make_browser()
    await register_employer(other_employer, "boss@rivalclinic.org", org="Rival Clinic",
                            website="https://rivalclinic.org")
    other_coder = make_browser()
    await register_coder(other_coder, "nosy@example.org")
    anonymous = make_browser()
    routes = _routes(listing_id, app_id)
    # an id that does not exist is the same 404
    routes += [("GET", f"/employer/applications/{app_id + 999}", None),
               ("GET", f"/employer/listings/{listing_id + 999}/applicants", None)]
    before = await _state()

    for client, who in ((other_employer, "another employer's member"), (other_coder, "another coder"),
                        (coder, "the applicant themself")):
        for method, path, data in routes:
            if who == "the applicant themself" and path.startswith("/applications/") and path.endswith("/resume"):
                continue  # the applicant may download the resume they sent
            response = await _call(client, method, path, data)
            assert response.status_code == 404, (who, method, path, response.status_code)
            assert "Casey Coder" not in response.text and "casey@example.org" not in response.text, (who, path)

    for method, path, data in routes:
        response = await _call(anonymous, method, path, data)
        if path.startswith("/employer/"):
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login?next=/employer/"), path
        else:
            assert response.status_code == 404, (method, path)

    assert await _state() == before

    # and the owner does reach every one of them (the walk above tested real routes)
    for method, path, data in routes[:-2]:
        response = await _call(browser, method, path, data)
        assert response.status_code in (200, 303), (method, path, response.status_code)


async def test_a_removed_teammate_loses_access_at_once(browser, make_browser):
    await register_employer(browser)
    colleague = make_browser()
    await invite_and_join(browser, colleague, "colin@acmehealth.org")
    listing_id = await make_listing(await employer_id())
    app_id = await coder_applies(make_browser(), listing_id, "casey@example.org")
    assert (await colleague.get(f"/employer/listings/{listing_id}/applicants")).status_code == 200
    assert (await colleague.get(f"/applications/{app_id}/resume")).status_code == 200

    member = await EmployerMember.objects().get(EmployerMember.user.email == "colin@acmehealth.org")
    removed = await browser.submit(f"/employer/team/members/{member.id}/remove")
    assert removed.status_code == 303
    before = await _state()
    for method, path, data in _routes(listing_id, app_id):
        response = await _call(colleague, method, path, data)
        assert response.status_code == 404, (method, path, response.status_code)
    assert await _state() == before


# ---- done means 3: the CSV export -------------------------------------------------------------------------


async def test_csv_export_opens_cleanly_and_escapes_formulas(browser, make_browser):
    await register_employer(browser)
    listing_id = await make_listing(await employer_id())
    await coder_applies(make_browser(), listing_id, "evil@example.org", name='=HYPERLINK("http://x","click")',
                        cover_note="+1 call me\n@SUM(A1)")
    await coder_applies(make_browser(), listing_id, "zoe@example.org", name="Zoë Ångström, CPC",
                        cover_note='She said "hi", twice.', credentials=["CCS"], year_CPC="")

    response = await browser.get(f"/employer/listings/{listing_id}/applicants.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="applicants-')
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheets look for
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert rows[0] == service.CSV_HEADER
    assert len(rows) == 3 and all(len(r) == len(service.CSV_HEADER) for r in rows)
    evil, zoe = rows[1], rows[2]
    assert evil[0] == '\'=HYPERLINK("http://x","click")'
    assert evil[1] == "evil@example.org" and evil[2] == "Submitted"
    assert evil[10] == "'+1 call me\n@SUM(A1)"
    assert zoe[0] == "Zoë Ångström, CPC" and zoe[10] == 'She said "hi", twice.'
    assert evil[5] == "CPC (2019), CRC" and evil[6] == "Meets the requirements"
    assert zoe[6] == "Missing CPC" and zoe[7] == "4" and zoe[8] == "Chicago, IL"
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row


def test_csv_safe_escapes_every_formula_lead():
    for lead in ("=", "+", "-", "@", "\t", "\r"):
        assert service.csv_safe(lead + "1") == "'" + lead + "1"
    assert service.csv_safe("Plain name") == "Plain name" and service.csv_safe(None) == ""


# ---- the dashboard figures -----------------------------------------------------------------------------------


async def test_dashboard_counts_new_applicants_since_the_last_visit_and_listing_stats(browser, make_browser):
    await register_employer(browser)
    hr = await User.objects().get(User.email == "hr@acmehealth.org")
    listing_id = await make_listing(await employer_id())
    await ListingDailyStat.insert(ListingDailyStat(listing=listing_id, day=dt.date(2026, 1, 5), views=40))
    await coder_applies(make_browser(), listing_id, "ann@example.org", name="Ann Able", resume=False)
    await stats.flush()  # the apply click

    dashboard = await browser.get("/employer")
    assert dashboard.status_code == 200
    # a first visit counts from joining the organisation
    assert "<strong>1</strong> new applicant since your last visit" in dashboard.text
    row = re.search(r'<tr>\s*<td data-label="Listing"><a href="/employer/listings/%d/applicants">.*?</tr>'
                    % listing_id, dashboard.text, re.S)
    cells = dict(re.findall(r'<td data-label="([^"]+)">(.*?)</td>', row.group(0), re.S))  # labelled for phones
    assert {k: v for k, v in cells.items() if k != "Listing"} == {
        "Views": "40", "Apply clicks": "1", "Applications": "1", "New": "1", "Conversion": "2.5%"}
    again = await service.dashboard_applicants(hr.id)  # a reload within the same visit keeps the count
    assert again.new_since_last_visit == 1

    t1 = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)
    assert (await service.dashboard_applicants(hr.id, now=t1)).new_since_last_visit == 0  # a new visit
    await coder_applies(make_browser(), listing_id, "bo@example.org", name="Bo Brown", resume=False)
    bo = await User.objects().get(User.email == "bo@example.org")
    await Application.update({Application.created_at: t1 + dt.timedelta(minutes=5)}).where(Application.coder == bo.id)
    t2 = t1 + dt.timedelta(hours=3)
    visit = await service.dashboard_applicants(hr.id, now=t2)
    assert visit.new_since_last_visit == 1 and visit.listings[0]["new"] == 1
    assert (await service.dashboard_applicants(hr.id, now=t2 + dt.timedelta(minutes=10))).new_since_last_visit == 1
    settled = await service.dashboard_applicants(hr.id, now=t2 + dt.timedelta(hours=6))
    assert settled.new_since_last_visit == 0 and settled.listings[0]["conversion"] == "5.0%"
    assert service.conversion(3, 0) == "—"
