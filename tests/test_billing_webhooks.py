"""The Stripe webhook and what must hold under replay, disorder and concurrency, plus refunds, disputes,
reconcile, credits and the production guards. Events come from the emulator, or are shaped like Stripe's
(for what the emulator never sends) and signed with the webhook secret."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys

import httpx
import pytest

from billing import service
from billing.stripe_client import LiveKeyRefused, StripeGateway, make_client
from billing.tables import Credit, Order, StripeEvent
from careers.accounts.tables import AuditEntry
from careers.core import clock, outbox
from careers.core.config import PROJECT_ROOT, ConfigurationError, load_settings
from careers.core.tables import OutboxRow
from careers.stripe_emulator import emulator_confirm_card_setup
from employers.tables import Employer
from listings.tables import Listing, ListingEvent
from tests.billing_helpers import (
    GOOD_CARD,
    charge,
    deliver,
    deliver_success,
    employer_with_draft,
    emulator_event,
    emulator_get,
    enter_card,
    pay_page,
    pay_with_card,
    setup_secret,
    shaped_event,
    signed,
    start_order,
)
from tests.conftest import create_admin, outbox_mail


async def paid_order(browser, settings, *, verified=False) -> tuple[Order, Listing]:
    """An employer's draft bought and paid through the emulator, the success webhook delivered."""
    _, listing = await employer_with_draft(browser, verified=verified)
    order_id = await start_order(browser, listing.id)
    assert (await pay_with_card(browser, settings, order_id))["state"] == "succeeded"
    await deliver_success(browser, settings, order_id)
    return await Order.objects().get(Order.id == order_id), await Listing.objects().get(Listing.id == listing.id)


async def charged_order(browser, settings) -> Order:
    """Charged in the emulator, but no webhook delivered yet."""
    _, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    assert (await pay_with_card(browser, settings, order_id))["state"] == "succeeded"
    return await Order.objects().get(Order.id == order_id)


def emulator_charge_of(settings, payment_intent_id: str) -> dict:
    pi = emulator_get(settings, f"/v1/payment_intents/{payment_intent_id}")
    charge = pi["latest_charge"]
    charge_id = charge["id"] if isinstance(charge, dict) else charge
    return emulator_get(settings, f"/v1/charges/{charge_id}")


def emulator_refund(settings, payment_intent_id: str) -> None:
    """A refund made in the Stripe dashboard, not through us (the emulator sends no event for it)."""
    response = httpx.post(settings.stripe_api_base + "/v1/refunds", data={"payment_intent": payment_intent_id},
                          headers={"Authorization": f"Bearer {settings.stripe_secret_key}"}, timeout=10)
    response.raise_for_status()


async def transitions_to(listing_id: int, status: str) -> int:
    return await ListingEvent.count().where((ListingEvent.listing == listing_id) & (ListingEvent.to_status == status))


# ---- signatures and replays ------------------------------------------------------------------------


async def test_a_webhook_with_a_wrong_or_missing_signature_gets_400_and_changes_nothing(browser, settings):
    order = await charged_order(browser, settings)
    event = emulator_event(settings, "payment_intent.succeeded", order.payment_intent_id)
    wrong_secret = await deliver(browser, event, secret="whsec_someone_else")
    payload, headers = signed(event)
    missing = await browser.post("/billing/stripe/webhook", content=payload,
                                 headers={"Content-Type": "application/json"})
    tampered = await browser.post("/billing/stripe/webhook", content=payload.replace(b"19900", b"00100"), headers=headers)
    stale_payload, stale_headers = signed(event, timestamp=int(dt.datetime.now().timestamp()) - 3600)
    stale = await browser.post("/billing/stripe/webhook", content=stale_payload, headers=stale_headers)
    garbage = await browser.post("/billing/stripe/webhook", content=b"not json",
                                 headers={"Stripe-Signature": "t=1,v1=00"})
    assert [r.status_code for r in (wrong_secret, missing, tampered, stale, garbage)] == [400] * 5
    assert (await Order.objects().get(Order.id == order.id)).status == "pending"
    assert await StripeEvent.count() == 0
    assert (await Listing.objects().get(Listing.id == order.listing)).status == "awaiting_payment"


async def test_a_replayed_webhook_answers_200_and_changes_nothing_again(browser, settings):
    order, listing = await paid_order(browser, settings)
    event = emulator_event(settings, "payment_intent.succeeded", order.payment_intent_id)
    before_mail = len(await outbox_mail())
    replay = await deliver(browser, event)
    assert replay.status_code == 200 and replay.json()["result"].startswith("duplicate")
    assert await transitions_to(listing.id, "in_review") == 1
    assert len(await outbox_mail()) == before_mail
    assert await StripeEvent.count() == 1


async def test_the_same_webhook_delivered_five_times_at_once_has_one_effect(browser, make_browser, settings):
    order = await charged_order(browser, settings)
    event = emulator_event(settings, "payment_intent.succeeded", order.payment_intent_id)
    clients = [make_browser() for _ in range(5)]
    responses = await asyncio.gather(*(deliver(client, event) for client in clients))
    assert [r.status_code for r in responses] == [200] * 5
    results = sorted(r.json()["result"].split(":")[0] for r in responses)
    assert results == ["duplicate"] * 4 + ["paid"]
    assert (await Order.objects().get(Order.id == order.id)).status == "paid"
    assert await transitions_to(order.listing, "in_review") == 1
    assert await StripeEvent.count() == 1
    receipts = [m for m in await outbox_mail() if m["subject"].startswith("Receipt")]
    assert len(receipts) == 1


async def test_events_out_of_order_move_state_forward_only(browser, settings):
    # The refund (made in Stripe's dashboard) reaches us before the success event.
    order = await charged_order(browser, settings)
    emulator_refund(settings, order.payment_intent_id)
    refunded = shaped_event("charge.refunded", emulator_charge_of(settings, order.payment_intent_id))
    assert (await deliver(browser, refunded)).json()["result"].startswith("refunded")
    late_success = emulator_event(settings, "payment_intent.succeeded", order.payment_intent_id)
    assert (await deliver(browser, late_success)).json()["result"] == "ignored: order already refunded"
    order = await Order.objects().get(Order.id == order.id)
    assert order.status == "refunded"
    assert (await Listing.objects().get(Listing.id == order.listing)).status == "draft"  # never published


async def test_a_late_failure_event_of_an_earlier_attempt_never_undoes_a_payment(browser, settings):
    from tests.billing_helpers import DECLINED_AT_CHARGE

    _, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    assert (await pay_with_card(browser, settings, order_id, DECLINED_AT_CHARGE))["state"] == "failed"
    first_pi = (await Order.objects().get(Order.id == order_id)).payment_intent_id
    assert (await pay_with_card(browser, settings, order_id, GOOD_CARD))["state"] == "succeeded"
    await deliver_success(browser, settings, order_id)
    late_failure = emulator_event(settings, "payment_intent.payment_failed", first_pi)
    assert (await deliver(browser, late_failure)).json()["result"] == "ignored: order already paid"
    assert (await Order.objects().get(Order.id == order_id)).status == "paid"


async def test_events_for_unknown_orders_or_types_are_recorded_and_never_crash(browser, settings):
    unknown_pi = {"id": "pi_not_ours", "object": "payment_intent", "amount": 500, "currency": "usd",
                  "metadata": {"order_id": "999999"}, "status": "succeeded"}
    no_order = await deliver(browser, shaped_event("payment_intent.succeeded", unknown_pi, "evt_unknown_order"))
    other_type = await deliver(browser, shaped_event("customer.created", {"id": "cus_x", "object": "customer"},
                                                     "evt_other_type"))
    no_metadata = await deliver(browser, shaped_event("charge.dispute.created", {"id": "dp_x", "object": "dispute"},
                                                      "evt_no_refs"))
    assert [r.status_code for r in (no_order, other_type, no_metadata)] == [200, 200, 200]
    rows = {r.event_id: r.result for r in await StripeEvent.objects()}
    assert rows["evt_unknown_order"].startswith("recorded: no order")
    assert rows["evt_other_type"].startswith("ignored")
    assert rows["evt_no_refs"].startswith("recorded: no order")


async def test_a_payment_landing_after_the_employer_was_suspended_never_goes_live(browser, make_browser, settings):
    from careers.accounts.tables import User
    from employers import trust

    employer, listing = await employer_with_draft(browser, verified=True)
    order_id = await start_order(browser, listing.id)
    assert (await pay_with_card(browser, settings, order_id))["state"] == "succeeded"
    await create_admin(make_browser())
    admin = await User.objects().get(User.email == "admin@careercenter.org")
    await trust.suspend(employer.id, admin, "fake clinic")  # while the webhook is on its way
    result = await deliver_success(browser, settings, order_id)
    assert result.json()["result"].startswith("paid")
    listing = await Listing.objects().get(Listing.id == listing.id)
    assert listing.status == "in_review"  # verified, but suspended: an admin decides, and approval is refused
    assert await transitions_to(listing.id, "published") == 0


# ---- concurrency ------------------------------------------------------------------------------------------


async def test_two_concurrent_payment_attempts_for_one_order_charge_once(browser, settings):
    employer, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    await pay_page(browser, order_id)
    secret = await setup_secret(browser, order_id)
    assert enter_card(settings, secret, GOOD_CARD).status_code == 200
    seti = secret.split("_secret_")[0]
    answers = await asyncio.gather(charge(browser, order_id, seti), charge(browser, order_id, seti),
                                   charge(browser, order_id, seti))
    states = sorted(a["state"] for a in answers)
    assert states == ["failed", "failed", "succeeded"], answers
    customer = (await Employer.objects().get(Employer.id == employer.id)).stripe_customer_id
    intents = await _payment_intents_of(settings, customer)
    assert len(intents) == 1 and intents[0]["status"] == "succeeded"
    # A double click after success is refused by our database, not by Stripe.
    again = await charge(browser, order_id, seti)
    assert again["state"] == "failed" and "went through" in again["message"]
    await deliver_success(browser, settings, order_id)
    again = await charge(browser, order_id, saved=True)
    assert again["state"] == "failed" and "already paid" in again["message"]
    assert len(await _payment_intents_of(settings, customer)) == 1
    assert (await Order.objects().get(Order.id == order_id)).attempts == 1


async def _payment_intents_of(settings, customer: str) -> list[dict]:
    found = []
    async for pi in StripeGateway(settings).payment_intents_since(0):
        if pi.get("customer") == customer:
            found.append(pi)
    return found


async def test_ten_concurrent_spends_of_three_credits_succeed_exactly_three_times(browser):
    employer, _ = await employer_with_draft(browser)
    now = clock.now()
    await Credit.insert(
        Credit(employer=employer.id, total=2, remaining=2, duration_days=30, expires_at=now + dt.timedelta(days=200)),
        Credit(employer=employer.id, total=1, remaining=1, duration_days=30, expires_at=now + dt.timedelta(days=20)),
        Credit(employer=employer.id, total=5, remaining=5, duration_days=30, expires_at=now - dt.timedelta(days=1)),
    )
    spent = await asyncio.gather(*(service.spend_credit(employer.id) for _ in range(10)))
    taken = [c for c in spent if c is not None]
    assert len(taken) == 3
    credits = {c.total: c.remaining for c in await Credit.objects()}
    assert credits == {2: 0, 1: 0, 5: 5}  # the expired pack is never touched


async def test_credits_are_spent_soonest_expiring_first(browser):
    employer, _ = await employer_with_draft(browser)
    now = clock.now()
    await Credit.insert(
        Credit(employer=employer.id, total=3, remaining=3, duration_days=30, expires_at=now + dt.timedelta(days=300)),
        Credit(employer=employer.id, total=1, remaining=1, duration_days=30, expires_at=now + dt.timedelta(days=10)),
    )
    first = await service.spend_credit(employer.id)
    assert first.total == 1 and first.remaining == 0
    second = await service.spend_credit(employer.id)
    assert second.total == 3 and second.remaining == 2


# ---- refunds and disputes ------------------------------------------------------------------------------


async def test_an_admin_refund_removes_the_listing_from_the_site_and_search(browser, make_browser, settings):
    order, listing = await paid_order(browser, settings, verified=True)
    assert listing.status == "published"
    admin = make_browser()
    await create_admin(admin)
    orders_page = await admin.get("/admin/orders")
    assert orders_page.status_code == 200 and "$199.00" in orders_page.text and "Acme Health" in orders_page.text
    assert f'action="/admin/orders/{order.id}/refund"' in orders_page.text
    search_rows_before = await OutboxRow.count().where(OutboxRow.kind == outbox.SEARCH_SYNC)

    refused = await admin.submit(f"/admin/orders/{order.id}/refund", {"reason": ""})
    assert refused.status_code == 303 and (await Order.objects().get(Order.id == order.id)).status == "paid"
    done = await admin.submit(f"/admin/orders/{order.id}/refund", {"reason": "Duplicate posting"})
    assert done.status_code == 303
    order = await Order.objects().get(Order.id == order.id)
    assert order.status == "refunded" and order.refund_reason == "Duplicate posting" and order.refund_id.startswith("re_")
    listing = await Listing.objects().get(Listing.id == listing.id)
    assert listing.status == "removed"
    assert await OutboxRow.count().where(OutboxRow.kind == outbox.SEARCH_SYNC) == search_rows_before + 1
    public = await make_browser().get(f"/jobs/{listing.id}/{listing.slug}")
    assert public.status_code in (404, 410)
    mails = [m for m in await outbox_mail("hr@acmehealth.org") if m["subject"].startswith("Refund")]
    assert len(mails) == 1 and "Duplicate posting" in mails[0]["text"]
    charge = emulator_charge_of(settings, order.payment_intent_id)
    assert charge["refunded"] is True
    entry = await AuditEntry.objects().where(AuditEntry.action == "order refunded").first()
    assert entry.actor_label == "admin@careercenter.org" and entry.reason == "Duplicate posting"
    assert entry.listing_id == listing.id and entry.employer_id == order.employer
    assert "order refunded" in (await admin.get(f"/admin/audit?listing={listing.id}")).text

    # Real Stripe then sends charge.refunded: it changes nothing twice.
    late = await deliver(browser, shaped_event("charge.refunded", charge))
    assert late.json()["result"] == "ignored: order already refunded"
    assert len([m for m in await outbox_mail("hr@acmehealth.org") if m["subject"].startswith("Refund")]) == 1
    assert await transitions_to(listing.id, "removed") == 1
    assert f'action="/admin/orders/{order.id}/refund"' not in (await admin.get("/admin/orders")).text
    # Refunding again is a no-op, not a second refund.
    await admin.submit(f"/admin/orders/{order.id}/refund", {"reason": "again"})
    assert len(emulator_get(settings, "/v1/refunds", {"payment_intent": order.payment_intent_id})["data"]) == 1


async def test_moderation_reject_refunds_through_the_outbox_once(browser, settings, worker):
    from billing.jobs import REFUND_LISTING

    order, listing = await paid_order(browser, settings)
    assert listing.status == "in_review"
    await outbox.enqueue(REFUND_LISTING, {"listing_id": listing.id, "reason": "Not a coding job"})
    await outbox.enqueue(REFUND_LISTING, {"listing_id": listing.id, "reason": "Not a coding job"})  # delivered twice
    await worker.drain()
    order = await Order.objects().get(Order.id == order.id)
    assert order.status == "refunded" and order.refund_reason == "Not a coding job"
    assert len(emulator_get(settings, "/v1/refunds", {"payment_intent": order.payment_intent_id})["data"]) == 1
    rows = await OutboxRow.objects().where(OutboxRow.kind == REFUND_LISTING)
    assert [r.status for r in rows] == ["done", "done"]
    assert (await Listing.objects().get(Listing.id == listing.id)).hidden  # an in-review listing is never published


async def test_a_listing_paid_with_a_pack_credit_and_rejected_gets_its_credit_back_once(browser, make_browser, settings,
                                                                                       worker):
    from careers.accounts.tables import User
    from listings.moderation import service as moderation

    employer, listing = await employer_with_draft(browser)
    await Credit.insert(Credit(employer=employer.id, total=3, remaining=3, duration_days=30,
                               expires_at=clock.now() + dt.timedelta(days=200)))
    assert (await browser.submit(f"/employer/listings/{listing.id}/publish", {"plan": "credit"})).status_code == 303
    assert [c.remaining for c in await Credit.objects()] == [2]
    await create_admin(make_browser())
    admin = await User.objects().get(User.email == "admin@careercenter.org")
    await moderation.reject(listing.id, admin, "Not a coding job", settings)
    await outbox.enqueue("billing.refund_listing", {"listing_id": listing.id, "reason": "Not a coding job"})  # again
    await worker.drain()
    assert [c.remaining for c in await Credit.objects()] == [3]  # returned once, not twice
    mails = [m for m in await outbox_mail("hr@acmehealth.org") if m["subject"].startswith("Pack credit returned")]
    assert len(mails) == 1 and "Not a coding job" in mails[0]["text"]


async def test_a_dispute_hides_the_listing_and_tells_the_admins(browser, make_browser, settings):
    order, listing = await paid_order(browser, settings, verified=True)
    admin = make_browser()
    await create_admin(admin)
    charge = emulator_charge_of(settings, order.payment_intent_id)
    dispute = {"id": "dp_test_1", "object": "dispute", "amount": order.amount_cents, "currency": "usd",
               "charge": charge["id"], "payment_intent": order.payment_intent_id, "reason": "fraudulent",
               "status": "needs_response"}
    response = await deliver(browser, shaped_event("charge.dispute.created", dispute))
    assert response.json()["result"].startswith("disputed")
    assert (await Order.objects().get(Order.id == order.id)).status == "disputed"
    listing = await Listing.objects().get(Listing.id == listing.id)
    assert listing.hidden and listing.status == "published"
    assert (await make_browser().get(f"/jobs/{listing.id}/{listing.slug}")).status_code in (404, 410)
    mails = [m for m in await outbox_mail("admin@careercenter.org") if "dispute" in m["subject"].lower()]
    assert len(mails) == 1 and "fraudulent" in mails[0]["text"]
    hide = await AuditEntry.objects().where((AuditEntry.action == "automated hide")
                                            & (AuditEntry.listing_id == listing.id)).first()
    assert hide is not None and hide.actor_label == "system" and f"order {order.id}" in hide.reason

    # The admin clears the flag from the listings page: a reason is required, the decision is audited.
    found = await admin.get("/admin/listings", params={"q": str(listing.id)})
    assert "(hidden)" in found.text and "Show again" in found.text
    assert (await admin.submit(f"/admin/listings/{listing.id}/show", {"reason": ""})).status_code == 303
    assert (await Listing.objects().get(Listing.id == listing.id)).hidden
    sync_before = await OutboxRow.count().where(OutboxRow.kind == outbox.SEARCH_SYNC)
    shown = await admin.submit(f"/admin/listings/{listing.id}/show", {"reason": "Dispute won; the charge stands."})
    assert shown.status_code == 303
    assert not (await Listing.objects().get(Listing.id == listing.id)).hidden
    assert await OutboxRow.count().where(OutboxRow.kind == outbox.SEARCH_SYNC) == sync_before + 1
    assert (await make_browser().get(f"/jobs/{listing.id}/{listing.slug}")).status_code == 200
    assert await AuditEntry.exists().where((AuditEntry.action == "listing shown again")
                                           & (AuditEntry.reason == "Dispute won; the charge stands."))


# ---- reconcile --------------------------------------------------------------------------------------------


def run_cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "MEILI_"))}
    env.update(STRIPE_SECRET_KEY=settings.stripe_secret_key, STRIPE_API_BASE=settings.stripe_api_base,
               STRIPE_WEBHOOK_SECRET=settings.stripe_webhook_secret, SECRET_KEY="test-secret-key",
               PYTHONPATH=str(PROJECT_ROOT))
    return subprocess.run([sys.executable, "-m", "careers.cli", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


async def test_reconcile_repairs_an_order_whose_webhook_never_arrived(browser, settings):
    order = await charged_order(browser, settings)  # the webhook was dropped
    result = run_cli(settings, "billing", "reconcile", "--since", "2")
    assert result.returncode == 0, result.stderr
    assert f"order {order.id}: pending -> paid (PaymentIntent {order.payment_intent_id}, $199.00)" in result.stdout
    assert (await Order.objects().get(Order.id == order.id)).status == "paid"
    assert (await Listing.objects().get(Listing.id == order.listing)).status == "in_review"

    again = run_cli(settings, "billing", "reconcile", "--since", "2")
    assert again.returncode == 0 and "Nothing to repair" in again.stdout
    # The real webhook arriving late changes nothing either.
    late = await deliver_success(browser, settings, order.id)
    assert late.json()["result"] == "ignored: order already paid"
    assert await transitions_to(order.listing, "in_review") == 1


# ---- production and live keys -------------------------------------------------------------------------------


PRODUCTION = {
    "CAREERS_ENV": "production", "DATABASE_URL": "postgresql://u:p@127.0.0.1:5432/careers",
    "MEILI_URL": "http://127.0.0.1:7700", "MEILI_MASTER_KEY": "k" * 32, "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_x", "STRIPE_WEBHOOK_SECRET": "whsec_x", "SMTP_URL": "smtp://mail:25",
    "MAIL_FROM": "jobs@example.org", "SECRET_KEY": "s" * 48, "BASE_URL": "https://jobs.example.org",
}


@pytest.mark.parametrize("missing", ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])
def test_production_refuses_to_start_without_stripe_keys(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigurationError) as info:
        load_settings(env)
    assert any(missing in problem for problem in info.value.problems)


def test_production_refuses_the_emulator_and_emulator_code_refuses_live_keys(settings):
    with pytest.raises(ConfigurationError) as info:
        load_settings(PRODUCTION | {"STRIPE_API_BASE": settings.stripe_api_base})
    assert any("STRIPE_API_BASE" in p for p in info.value.problems)
    live = settings.replace(stripe_secret_key="sk_live_123")
    with pytest.raises(LiveKeyRefused):
        make_client(live)
    with pytest.raises(LiveKeyRefused):
        emulator_confirm_card_setup(live, {"id": "seti_x", "client_secret": "seti_x_secret_y"}, GOOD_CARD)
    launcher = subprocess.run([sys.executable, "-m", "careers.stripe_emulator", "--port", "1", "--memory"],
                              cwd=PROJECT_ROOT, env={**os.environ, "STRIPE_SECRET_KEY": "sk_live_123"},
                              capture_output=True, text=True, timeout=30)
    assert launcher.returncode != 0 and "live key" in launcher.stderr
