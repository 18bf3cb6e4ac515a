"""The listing lifecycle without pages: every state pair, events, renewal, expiry from the worker, warnings,
validation shared with the importer, import-listings and seed-demo."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from itertools import product

import pytest

from careers.core import clock
from careers.core.config import PROJECT_ROOT
from careers.core.tables import OutboxRow
from employers.tables import Employer, EmployerMember
from listings import service
from listings.tables import Listing, ListingCredential, ListingEvent
from listings.vocabulary import ListingState
from tests.conftest import outbox_mail
from tests.factories import make_employer

STATES = [s.value for s in ListingState]
ACTORS = ["employer", "admin", "system", "webhook"]
LEGAL = {
    ("draft", "awaiting_payment"): {"employer"},
    ("awaiting_payment", "draft"): {"system"},
    ("awaiting_payment", "in_review"): {"webhook"},
    ("awaiting_payment", "published"): {"webhook"},
    ("draft", "in_review"): {"employer"},
    ("draft", "published"): {"employer", "admin"},
    ("in_review", "published"): {"admin"},
    ("in_review", "rejected"): {"admin"},
    ("in_review", "draft"): {"admin"},
    ("published", "in_review"): {"employer"},
    ("published", "expired"): {"system"},
    ("published", "closed"): {"employer"},
    ("published", "removed"): {"admin", "system"},
    ("expired", "published"): {"webhook", "employer"},
    ("removed", "published"): {"admin"},
}


def listing_fields(**changes) -> dict:
    fields = {
        "title": "Remote Risk Adjustment Coder",
        "description": "Review HCC charts.",
        "credentials_any_of": ["CRC", "CPC"],
        "settings": ["risk_adjustment"],
        "code_sets": ["icd10cm", "hcc"],
        "work_mode": "remote",
        "employment_type": "full_time",
        "pay_min": 24,
        "pay_max": "29.75",
        "pay_unit": "hour",
    }
    fields.update(changes)
    return fields


async def make_listing(employer: Employer, **changes) -> Listing:
    data = await service.validate_listing(listing_fields(**changes))
    return await service.create_listing(employer.id, data)


# ---- the state machine ----------------------------------------------------------------------------------


async def test_the_lifecycle_allows_exactly_the_table_and_refuses_every_other_pair_and_actor():
    assert set(service.TRANSITIONS) == set(LEGAL)
    employer = await make_employer()
    listing = await make_listing(employer)
    future = clock.now() + dt.timedelta(days=10)
    checked = 0
    for from_status, to_status in product(STATES, STATES):
        for actor in ACTORS:
            await Listing.update({Listing.status: from_status, Listing.expires_at: future,
                                  Listing.published_at: clock.now()}).where(Listing.id == listing.id)
            events_before = await ListingEvent.count().where(ListingEvent.listing == listing.id)
            legal = actor in LEGAL.get((from_status, to_status), set())
            if legal:
                moved = await service.transition(listing.id, to_status, actor_kind=actor, reason="walk")
                assert moved.status == to_status
                event = await ListingEvent.objects().where(ListingEvent.listing == listing.id).order_by(
                    ListingEvent.id, ascending=False).first()
                assert (event.from_status, event.to_status, event.actor_kind, event.reason) == (
                    from_status, to_status, actor, "walk")
                assert await ListingEvent.count().where(ListingEvent.listing == listing.id) == events_before + 1
            else:
                with pytest.raises(service.IllegalTransition) as refused:
                    await service.transition(listing.id, to_status, actor_kind=actor)
                assert refused.value.message  # a sentence a page can show
                assert (await Listing.objects().get(Listing.id == listing.id)).status == from_status
                assert await ListingEvent.count().where(ListingEvent.listing == listing.id) == events_before
            checked += 1
    assert checked == 8 * 8 * 4


async def test_every_transition_into_or_out_of_published_queues_a_search_sync():
    employer = await make_employer()
    listing = await make_listing(employer)
    await service.transition(listing.id, "published", actor_kind="admin")
    await service.transition(listing.id, "closed", actor_kind="employer")
    rows = await OutboxRow.select().where(OutboxRow.kind == "search.sync").output(load_json=True)
    assert [r["payload"] for r in rows] == [{"listing_id": listing.id}] * 2


async def test_a_removed_listing_is_reinstated_only_while_its_expiry_is_ahead():
    employer = await make_employer()
    listing = await make_listing(employer)
    await service.transition(listing.id, "published", actor_kind="admin")
    await service.transition(listing.id, "removed", actor_kind="admin")
    await Listing.update({Listing.expires_at: clock.now() - dt.timedelta(hours=1)}).where(Listing.id == listing.id)
    with pytest.raises(service.IllegalTransition, match="expiry has passed"):
        await service.transition(listing.id, "published", actor_kind="admin")


# ---- renewal and expiry ---------------------------------------------------------------------------------------


async def test_renewing_a_live_listing_extends_from_its_current_expiry():
    employer = await make_employer()
    listing = await make_listing(employer)
    await service.transition(listing.id, "published", actor_kind="admin")
    ahead = clock.now() + dt.timedelta(days=5)
    await Listing.update({Listing.expires_at: ahead}).where(Listing.id == listing.id)
    renewed = await service.renew(listing.id, 30, actor_kind="webhook")
    assert renewed.status == "published"
    assert renewed.expires_at == ahead + dt.timedelta(days=30)


async def test_renewing_an_expired_listing_extends_from_now():
    employer = await make_employer()
    listing = await make_listing(employer)
    await service.transition(listing.id, "published", actor_kind="admin")
    await Listing.update({Listing.expires_at: clock.now() - dt.timedelta(days=4)}).where(Listing.id == listing.id)
    await service.expire_due()
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "expired"
    now = clock.now()
    renewed = await service.renew(listing.id, 30, actor_kind="employer", now=now)
    assert renewed.status == "published"
    assert renewed.expires_at == now + dt.timedelta(days=30)


async def test_the_worker_expires_a_listing_on_its_own_and_removes_it_from_search(worker):
    employer = await make_employer()
    listing = await make_listing(employer)
    await service.transition(listing.id, "published", actor_kind="admin")
    await Listing.update({Listing.expires_at: clock.now() - dt.timedelta(minutes=1)}).where(
        Listing.id == listing.id)
    sync_before = await OutboxRow.count().where(OutboxRow.kind == "search.sync")

    await worker.run_once()

    expired = await Listing.objects().get(Listing.id == listing.id)
    assert expired.status == "expired"
    event = await ListingEvent.objects().where(ListingEvent.listing == listing.id).order_by(
        ListingEvent.id, ascending=False).first()
    assert (event.from_status, event.to_status, event.actor_kind) == ("published", "expired", "system")
    rows = await OutboxRow.select().where(OutboxRow.kind == "search.sync").order_by(OutboxRow.id).output(load_json=True)
    assert len(rows) == sync_before + 1 and rows[-1]["payload"] == {"listing_id": listing.id}


async def test_members_are_mailed_once_three_days_before_expiry_with_a_renew_link(worker, settings):
    from careers.accounts.service import create_user

    employer = await make_employer()
    for email in ("owner@acmehealth.org", "mate@acmehealth.org"):
        user = await create_user(email, "correct horse battery", "employer", confirmed=True)
        await EmployerMember.insert(EmployerMember(employer=employer.id, user=user.id))
    soon = await make_listing(employer, title="Expires soon")
    later = await make_listing(employer, title="Expires later")
    for listing in (soon, later):
        await service.transition(listing.id, "published", actor_kind="admin")
    await Listing.update({Listing.expires_at: clock.now() + dt.timedelta(days=2)}).where(Listing.id == soon.id)

    await worker.run_once()
    await service.warn_expiring(settings)  # a second pass sends nothing again

    mails = [m for m in await outbox_mail() if "expires on" in m["subject"]]
    assert sorted(m["to"] for m in mails) == ["mate@acmehealth.org", "owner@acmehealth.org"]
    assert all("Expires soon" in m["subject"] for m in mails)
    assert f"http://testserver/employer/listings/{soon.id}/publish" in mails[0]["text"]
    assert (await Listing.objects().get(Listing.id == soon.id)).expiry_warned_at is not None
    assert (await Listing.objects().get(Listing.id == later.id)).expiry_warned_at is None


# ---- validation shared by the form, the importer and the demo ----------------------------------------------


async def test_a_double_submitted_posting_makes_one_draft_and_names_it_to_the_second():
    import asyncio

    employer = await make_employer()
    data = await service.validate_listing(listing_fields())
    results = await asyncio.gather(*(service.create_listing(employer.id, data) for _ in range(3)),
                                   return_exceptions=True)
    created = [r for r in results if isinstance(r, Listing)]
    refused = [r for r in results if isinstance(r, service.ListingInvalid)]
    assert len(created) == 1 and len(refused) == 2, results
    assert all(f"duplicates your listing #{created[0].id}" in r.errors["title"] for r in refused)
    assert await Listing.count() == 1


async def test_the_credential_taxonomy_holds_every_credential_the_issue_names_with_its_issuing_body():
    from listings.tables import Credential

    wanted = {
        "AAPC": "CPC CPC-A COC CIC CRC CPMA CPB CPCO CPPM CDEO CPCD CANPC CASCC CIRCC COBGC CRHC CEDC CEMC CFPC "
                "CGSC COSC CPEDC CHONC",
        "AHIMA": "CCA CCS CCS-P RHIT RHIA CDIP CHDA CHPS",
        "ACDIS": "CCDS CCDS-O",
        "NHA": "CBCS",
        "AMBA": "CMRS",
    }
    rows = {r["code"]: r for r in await Credential.select().output(load_json=True)}
    for body, codes in wanted.items():
        for code in codes.split():
            assert code in rows and rows[code]["issuing_body"] == body, code
            assert rows[code]["full_name"] and rows[code]["category"], code
    assert "CPC-H" in rows["COC"]["aliases"]
    assert "Certified Documentation Improvement Practitioner" in rows["CDIP"]["aliases"]
    assert rows["CPC-A"]["entry_level"] and not rows["CPC"]["entry_level"]


async def test_credentials_match_case_insensitively_and_by_alias_and_are_stored_as_codes():
    data = await service.validate_listing(listing_fields(credentials_required=["cpc-h"], credentials_any_of=["ccs-p"],
                                                         credentials_preferred="cdip, Certified Documentation "
                                                                               "Improvement Practitioner"))
    assert data.credentials_required == ["COC"]
    assert data.credentials_any_of == ["CCS-P"]
    assert data.credentials_preferred == ["CDIP"]


async def test_a_remote_job_has_no_zip_but_any_other_must_have_a_known_one():
    data = await service.validate_listing(listing_fields(zip=None))
    assert (data.zip, data.city, data.lat) == ("", "", None)
    with pytest.raises(service.ListingInvalid) as exc:
        await service.validate_listing(listing_fields(work_mode="onsite"))
    assert exc.value.field == "zip"
    with pytest.raises(service.ListingInvalid) as exc:
        await service.validate_listing(listing_fields(work_mode="onsite", zip="99999"))
    assert "We do not know" in exc.value.errors["zip"]
    data = await service.validate_listing(listing_fields(work_mode="hybrid", zip="60601-1234"))
    assert (data.zip, data.city, data.state) == ("60601", "Chicago", "IL")


async def test_annual_pay_is_hourly_times_2080_yearly_as_is_and_none_per_chart():
    hourly = await service.validate_listing(listing_fields(pay_min="23.50", pay_max="23.50"))
    assert (hourly.pay_annual_min, hourly.pay_annual_max) == (48880, 48880)
    yearly = await service.validate_listing(listing_fields(pay_unit="year", pay_min="$52,000", pay_max=60000))
    assert (yearly.pay_annual_min, yearly.pay_annual_max) == (52000, 60000)
    chart = await service.validate_listing(listing_fields(pay_unit="chart", pay_min="1.10", pay_max="1.50"))
    assert (chart.pay_annual_min, chart.pay_annual_max) == (None, None)


# ---- import-listings ------------------------------------------------------------------------------------------


def jsonl(*records) -> str:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n"


def problems(err: io.StringIO) -> str:
    """The importer's stderr without its pay-transparency warnings (tests/test_pay_transparency.py reads those)."""
    return "".join(line for line in err.getvalue().splitlines(keepends=True) if ": warning: " not in line)


async def test_import_listings_imports_the_good_lines_and_reports_the_bad_ones_by_line_and_field(tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text(jsonl(
        listing_fields(requisition_id="R-1"),
        listing_fields(title="Onsite coder", work_mode="onsite", zip="00000", requisition_id="R-2"),
        "",
        "{not json",
        listing_fields(title="Inpatient Coder", work_mode="onsite", zip="10001", credentials_required=["CCS"],
                       credentials_any_of=[], requisition_id="R-3", expires_at="2099-01-31T17:00:00Z",
                       application_deadline="2099-01-15", apply_url="https://careers.acme.example/3"),
        listing_fields(title="Auditor", pay_min=40, pay_max=30, colour="blue", requisition_id="R-4"),
    ))
    from listings.commands import import_listings

    out, err = io.StringIO(), io.StringIO()
    status = await import_listings(path, "Acme Import Co", out=out, err=err)
    assert status == 1
    assert problems(err).splitlines() == [
        "line 2: zip: We do not know the US ZIP code “00000”. Enter a 5-digit ZIP such as 02110.",
        "line 4: json: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "line 6: pay_max: The highest pay must be at least the lowest pay.",
        "line 6: colour: unknown field",
    ]
    assert "2 new, 0 updated, 3 line(s) failed" in out.getvalue()
    employer = await Employer.objects().get(Employer.name == "Acme Import Co")
    listings = await Listing.objects().where(Listing.employer == employer.id).order_by(Listing.requisition_id)
    assert [(l.requisition_id, l.status) for l in listings] == [("R-1", "published"), ("R-3", "published")]
    first, third = listings
    assert first.expires_at - first.published_at == dt.timedelta(days=30)
    assert third.expires_at == dt.datetime(2099, 1, 31, 17, 0, tzinfo=dt.timezone.utc)
    assert (third.city, third.state, third.apply_url) == ("New York", "NY", "https://careers.acme.example/3")
    event = await ListingEvent.objects().where(ListingEvent.listing == first.id).order_by(
        ListingEvent.id, ascending=False).first()
    assert (event.to_status, event.actor_kind, event.reason) == ("published", "admin", "admin import")


async def test_reimporting_the_same_requisition_id_updates_instead_of_duplicating(tmp_path):
    from listings.commands import import_listings

    path = tmp_path / "jobs.jsonl"
    path.write_text(jsonl(listing_fields(requisition_id="R-9")))
    assert await import_listings(path, "Acme Health", out=io.StringIO(), err=io.StringIO()) == 0
    path.write_text(jsonl(listing_fields(requisition_id="R-9", pay_max="31", credentials_any_of=["CRC"])))
    out = io.StringIO()
    assert await import_listings(path, "Acme Health", out=out, err=io.StringIO()) == 0
    assert "0 new, 1 updated" in out.getvalue()
    listing = await Listing.objects().get(Listing.requisition_id == "R-9")
    assert await Listing.count() == 1 and listing.status == "published" and listing.pay_max == Decimal("31")
    assert [r["credential"] for r in await ListingCredential.select().where(ListingCredential.listing == listing.id)] \
        == ["CRC"]
    assert await Employer.count() == 1


async def test_import_without_requisition_ids_is_stopped_by_the_duplicate_guard(tmp_path):
    from listings.commands import import_listings

    path = tmp_path / "jobs.jsonl"
    path.write_text(jsonl(listing_fields(), listing_fields()))
    err = io.StringIO()
    assert await import_listings(path, "Acme Health", out=io.StringIO(), err=err) == 1
    assert problems(err).startswith("line 2: title: This duplicates your listing #")
    assert await Listing.count() == 1


async def test_a_dry_run_checks_every_line_and_writes_nothing(tmp_path):
    from listings.commands import import_listings

    path = tmp_path / "jobs.jsonl"
    path.write_text(jsonl(listing_fields(), listing_fields(pay_unit="fortnight")))
    out, err = io.StringIO(), io.StringIO()
    assert await import_listings(path, "Nobody Yet", dry_run=True, out=out, err=err) == 1
    assert problems(err).startswith("line 2: pay_unit: “fortnight” is not one of")
    assert "1 line(s) valid, 1 failed; nothing was written" in out.getvalue()
    assert await Listing.count() == 0 and await Employer.count() == 0


async def test_a_terminal_gets_a_progress_bar_and_the_errors_stay_readable(tmp_path):
    from listings.commands import import_listings

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = tmp_path / "jobs.jsonl"
    path.write_text(jsonl(listing_fields(requisition_id="T-1"), listing_fields(pay_unit="", requisition_id="T-2")))
    err = Terminal()
    assert await import_listings(path, "Acme Health", out=io.StringIO(), err=err) == 1
    shown = err.getvalue()
    assert "] 2/2 lines" in shown and "[" + "#" * 30 + "]" in shown
    assert "\nline 2: pay_unit: Choose per hour, per year or per chart." in shown.replace("\r\033[K", "\n")


async def test_the_careers_command_imports_listings_as_a_separate_process(tmp_path):
    path = tmp_path / "jobs.jsonl"
    path.write_text(jsonl(listing_fields(requisition_id="CLI-1"), listing_fields(title="", requisition_id="CLI-2")))
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    result = subprocess.run([sys.executable, "-m", "careers.cli", "import-listings", str(path), "--employer",
                             "Cli Health"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 1, result.stderr
    assert "line 2: title: Enter the job title." in result.stderr
    assert "[#" not in result.stderr  # no progress bar when stderr is not a terminal
    assert (await Listing.objects().get(Listing.requisition_id == "CLI-1")).status == "published"


# ---- seed-demo ---------------------------------------------------------------------------------------------


async def test_seed_demo_builds_a_varied_board_once():
    from careers.accounts.tables import User
    from listings.commands import seed_demo
    from listings.tables import ListingSetting

    assert await seed_demo(out=io.StringIO()) == 0
    assert await seed_demo(out=io.StringIO()) == 0  # idempotent
    assert await Employer.count() == 8
    from listings.pay_demo import DEMO_PAY_LISTINGS, HISTORY_MONTHS, HISTORY_PER_MONTH

    expired = await Listing.count().where(Listing.status == "expired")
    history = expired - 1  # one demo listing expired two days ago (listings/liveness/demo.py, "how did it end?")
    assert HISTORY_PER_MONTH * (HISTORY_MONTHS - 1) <= history <= HISTORY_PER_MONTH * HISTORY_MONTHS  # the pay trend
    assert await Listing.count().where(Listing.status == "published") == 120 + DEMO_PAY_LISTINGS - expired
    assert await Listing.count() == 120 + DEMO_PAY_LISTINGS
    assert await User.count().where(User.role == "coder") == 20
    rows = await Listing.select(Listing.work_mode, Listing.state, Listing.pay_unit, Listing.employment_type)
    assert {r["work_mode"] for r in rows} == {"remote", "hybrid", "onsite"}
    assert {r["pay_unit"] for r in rows} == {"hour", "year", "chart"}
    assert len({r["state"] for r in rows if r["state"]}) >= 10
    assert len({r["value"] for r in await ListingSetting.select(ListingSetting.value)}) == 12
    assert len({r["credential"] for r in await ListingCredential.select(ListingCredential.credential)}) >= 15
    from listings.tables import ListingDailyStat

    traffic = await ListingDailyStat.select(ListingDailyStat.listing, ListingDailyStat.views)
    assert len({r["listing"] for r in traffic}) == 120 and sum(r["views"] for r in traffic) > 1000  # the chart's
    assert len(traffic) == len({(r["listing"], r["day"]) for r in await ListingDailyStat.select()})  # once only
