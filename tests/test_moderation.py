"""The review queue: risk signals, approve / reject (mail, refund, audit) / request changes, edit diffs."""

from __future__ import annotations

import datetime as dt
import json
import re

from careers.accounts.tables import AuditEntry
from careers.core.tables import OutboxRow
from listings import service as listings
from listings.moderation import risk
from listings.tables import Listing
from tests.conftest import create_admin, outbox_mail
from tests.test_moderation_support import (
    CODING_DESCRIPTION,
    billing_refunds_wired,
    make_employer,
    make_listing,
    make_paid_order,
)

SCAM_TEXT = ("Work from home coding! No experience needed. Before you start, a $99 training kit fee is required; "
             "we then mail you a check to deposit for your home office. ICD-10 coding from day one.")


def article(page_text: str, listing_id: int) -> str:
    match = re.search(rf'<article class="review-item" id="listing-{listing_id}".*?</article>', page_text, re.S)
    assert match, f"listing {listing_id} is not in the queue"
    return match.group(0)


async def test_training_kit_fee_from_new_employer_is_flagged_and_rejecting_it_mails_refunds_and_audits(
        browser, make_browser, settings, worker):
    employer = await make_employer(browser, "hr@quickcode.org", "Quick Code Jobs", "https://quickcode.org")
    listing = await make_listing(employer, title="Remote Coding Trainee", description=SCAM_TEXT, status="in_review",
                                 created_by_email="hr@quickcode.org")
    order_id = await make_paid_order(settings, employer, listing) if billing_refunds_wired() else None
    admin = make_browser()
    await create_admin(admin)

    queue = await admin.get("/admin/review")
    assert queue.status_code == 200
    item = article(queue.text, listing.id)
    assert "Scam phrases" in item and "training kit" in item and "$99" in item
    assert "New employer" in item
    assert "Quick Code Jobs" in item and "Past rejections" in item
    if order_id is not None:
        assert re.search(rf"Order #{order_id} · [^<]*·\s+\$199\.00 · paid</p>", item)

    # a reason is required
    refused = await admin.submit(f"/admin/review/{listing.id}/reject", {"reason": "  "})
    assert refused.status_code == 303
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "in_review"

    reason = "Applicants are asked to pay for a training kit; we do not publish jobs that charge fees."
    done = await admin.submit(f"/admin/review/{listing.id}/reject", {"reason": reason}, follow=True)
    assert done.status_code == 200 and "Rejected" in done.text
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "rejected"

    mails = [m for m in await outbox_mail("hr@quickcode.org") if "not approved" in m["subject"]]
    assert len(mails) == 1 and reason in mails[0]["text"]

    refunds = await OutboxRow.select().where(OutboxRow.kind == "billing.refund_listing").output(load_json=True)
    assert [r["payload"] for r in refunds] == [{"listing_id": listing.id, "reason": reason}]

    entry = await AuditEntry.objects().where(AuditEntry.action == "listing rejected").first()
    assert entry.listing_id == listing.id and entry.employer_id == employer.id and entry.reason == reason
    assert entry.actor_label == "admin@careercenter.org"
    before = json.loads(entry.before) if isinstance(entry.before, str) else entry.before
    assert before == {"status": "in_review"}
    log = await admin.get(f"/admin/audit?listing={listing.id}")
    assert "listing rejected" in log.text and "admin@careercenter.org" in log.text

    if order_id is not None:
        from billing.tables import Order

        await worker.drain()
        order = await Order.objects().get(Order.id == order_id)
        assert order.status == "refunded"


async def test_approving_publishes_mails_the_employer_and_audits(browser, make_browser):
    employer = await make_employer(browser, "jobs@valleyhealth.org", "Valley Health", "https://valleyhealth.org",
                                   days_old=400)
    listing = await make_listing(employer, status="in_review", created_by_email="jobs@valleyhealth.org")
    admin = make_browser()
    await create_admin(admin)
    item = article((await admin.get("/admin/review")).text, listing.id)
    assert "No automated signals." in item

    assert 'name="version" value="1"' in item
    response = await admin.submit(f"/admin/review/{listing.id}/approve", {"version": "1"})
    assert response.status_code == 303
    published = await Listing.objects().get(Listing.id == listing.id)
    assert published.status == "published" and published.expires_at is not None
    assert any("is live" in m["subject"] for m in await outbox_mail("jobs@valleyhealth.org"))
    assert await AuditEntry.exists().where((AuditEntry.action == "listing approved") & (AuditEntry.listing_id == listing.id))
    assert f'id="listing-{listing.id}"' not in (await admin.get("/admin/review")).text


async def test_request_changes_sends_the_listing_back_to_draft_with_the_note(browser, make_browser):
    employer = await make_employer(browser, "hr@northclinic.org", "North Clinic", "https://northclinic.org", days_old=90)
    listing = await make_listing(employer, status="in_review", created_by_email="hr@northclinic.org")
    admin = make_browser()
    await create_admin(admin)
    note = "Please state the pay range as hourly and name the required credential."
    response = await admin.submit(f"/admin/review/{listing.id}/changes", {"note": note})
    assert response.status_code == 303
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "draft"
    mail = [m for m in await outbox_mail("hr@northclinic.org") if "Changes needed" in m["subject"]]
    assert len(mail) == 1 and note in mail[0]["text"]
    from listings.tables import ListingEvent

    assert await ListingEvent.exists().where((ListingEvent.listing == listing.id) & (ListingEvent.to_status == "draft")
                                             & (ListingEvent.reason == note) & (ListingEvent.actor_kind == "admin"))
    assert await AuditEntry.exists().where((AuditEntry.action == "changes requested") & (AuditEntry.reason == note))


async def test_an_edit_to_a_published_listing_shows_an_escaped_diff_against_the_approved_version(browser, make_browser):
    employer = await make_employer(browser, "hr@diffcare.org", "Diff Care", "https://diffcare.org", days_old=60)
    listing = await make_listing(employer, title="Inpatient Coder", status="published")
    await Listing.update({Listing.title: "Inpatient Coder <b>II</b>", Listing.pay_max: 45}).where(Listing.id == listing.id)
    await listings.transition(listing.id, "in_review", actor_kind="employer", reason="edited title and pay")
    admin = make_browser()
    await create_admin(admin)
    item = article((await admin.get("/admin/review")).text, listing.id)
    assert "Changes since the approved version" in item
    assert "<ins> &lt;b&gt;II&lt;/b&gt;</ins>" in item  # the employer's text is escaped, the markers are ours
    pay = item.split("<h4>Pay</h4>")[1]
    assert re.search(r"<del>28(\.00)?–34(\.00)?</del><ins>28(\.00)?–45(\.00)?</ins>", pay)


async def test_risk_signals_cover_duplicates_domains_links_missing_coding_terms_and_pay_outliers(browser, make_browser):
    original = await make_employer(browser, "hr@realhealth.org", "Real Health", "https://realhealth.org", days_old=300)
    await make_listing(original, title="Outpatient Coder", status="published")
    for i in range(5):
        await make_listing(original, title=f"Remote Coder {i}", description=f"Coder number {i} for CPT work.",
                           status="published", pay=(60000 + i * 1000, 70000, "year"))
    copier = await make_employer(make_browser(), "recruit@gmail.com", "Copy Cat Staffing", "https://copycat.example",
                                 days_old=30)
    dupe = await make_listing(copier, title="Outpatient Coder", description=CODING_DESCRIPTION + " Apply today.",
                              status="in_review", pay=(250000, 300000, "year"))
    vague = await make_listing(copier, title="Remote assistant", credentials=(),
                               description="Data entry from home. Details at https://bit.ly/xyz and www.jobs-now.example",
                               status="in_review", pay=(20, 22, "hour"))
    codes = {s.code for s in await risk.assess(dupe)}
    assert {"duplicate_text", "freemail", "pay_outlier"} <= codes
    assert "new_employer" not in codes and "scam_phrases" not in codes
    vague_codes = {s.code: s for s in await risk.assess(vague)}
    assert {"no_coding_terms", "external_links"} <= set(vague_codes)
    assert "bit.ly/xyz" in vague_codes["external_links"].detail


async def test_domain_mismatch_and_own_website_links_are_told_apart(browser):
    employer = await make_employer(browser, "hr@othername.org", "Mismatch Medical", "https://mismatch-medical.org",
                                   days_old=300)
    listing = await make_listing(employer, status="in_review", created_by_email="hr@othername.org",
                                 description=CODING_DESCRIPTION + " See https://www.mismatch-medical.org/careers")
    codes = {s.code for s in await risk.assess(listing)}
    assert "domain_mismatch" in codes and "external_links" not in codes


def test_scam_phrases_are_recognised_in_their_usual_wordings():
    for text in ("a $99 training kit fee is required", "Send your SSN to get started", "provide your bank account and "
                 "routing number", "we will send a check for deposit — check deposit via mobile app",
                 "you pay for training up front", "Starter kit ships after payment", "social security number required"):
        assert risk.scam_phrases(text), text
    assert not risk.scam_phrases("Full benefits, paid CEUs and a productivity bonus. CPC required.")


async def test_the_queue_lists_the_longest_waiting_listing_first(browser, make_browser):
    employer = await make_employer(browser, "hr@orderly.org", "Orderly Health", "https://orderly.org", days_old=100)
    later = await make_listing(employer, title="Second in", status="in_review")
    first = await make_listing(employer, title="First in", status="draft")
    await listings.transition(first.id, "in_review", actor_kind="employer")
    from listings.tables import ListingEvent

    await ListingEvent.update({ListingEvent.created_at: dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=5)}).where(
        (ListingEvent.listing == first.id) & (ListingEvent.to_status == "in_review"))
    admin = make_browser()
    await create_admin(admin)
    text = (await admin.get("/admin/review")).text
    assert text.index(f'id="listing-{first.id}"') < text.index(f'id="listing-{later.id}"')


async def test_two_admins_deciding_at_once_make_one_decision_and_the_other_is_told(browser, make_browser, settings):
    import asyncio

    from careers.accounts.tables import User
    from listings.moderation import service as moderation
    from listings.tables import ListingEvent

    employer = await make_employer(browser, "hr@twice.org", "Twice Health", "https://twice.org", days_old=100)
    listing = await make_listing(employer, status="in_review", created_by_email="hr@twice.org")
    await create_admin(make_browser())
    admin = await User.objects().get(User.email == "admin@careercenter.org")
    outcomes = await asyncio.gather(moderation.approve(listing.id, admin, settings),
                                    moderation.reject(listing.id, admin, "Not a coding job.", settings),
                                    return_exceptions=True)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], moderation.ModerationError), outcomes
    assert "no longer waiting for review" in errors[0].message
    decided = await ListingEvent.count().where((ListingEvent.listing == listing.id)
                                              & ListingEvent.to_status.is_in(["published", "rejected"]))
    assert decided == 1
    assert await AuditEntry.count().where(AuditEntry.listing_id == listing.id) == 1
    rejected = (await Listing.objects().get(Listing.id == listing.id)).status == "rejected"
    refunds = await OutboxRow.count().where(OutboxRow.kind == "billing.refund_listing")
    assert refunds == (1 if rejected else 0)  # the loser's refund request rolled back with it
