"""Drill: Stripe delivers the same event 50 times at once (a retry storm after a timeout on our side).

The events are the emulator's own (the success) or shaped like Stripe's (the refund, which the
emulator never sends), signed with the webhook secret and posted to the real endpoint by 50
clients in flight together.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from billing.tables import Order, StripeEvent
from careers.core.tables import OutboxRow
from listings.tables import Listing, ListingEvent
from tests.billing_helpers import (
    deliver,
    emulator_event,
    emulator_get,
    employer_with_draft,
    pay_with_card,
    shaped_event,
    start_order,
)
from tests.conftest import outbox_mail
from tests.reliability.conftest import server_errors

DELIVERIES = 50


async def _transitions(listing_id: int, to_status: str) -> int:
    return await ListingEvent.count().where(
        (ListingEvent.listing == listing_id) & (ListingEvent.to_status == to_status))


async def _storm(make_browser, event: dict) -> list[httpx.Response]:
    clients = [make_browser() for _ in range(DELIVERIES)]
    responses = await asyncio.wait_for(asyncio.gather(*(deliver(c, event) for c in clients), return_exceptions=True),
                                       timeout=120)
    assert server_errors(responses) == []
    assert [r.status_code for r in responses] == [200] * DELIVERIES, [r.text[:200] for r in responses][:3]
    return responses


@pytest.mark.slow
async def test_the_same_stripe_event_delivered_50_times_at_once_has_exactly_one_effect(browser, make_browser, settings):
    """Invariant: one stored event row per event id; the order is paid once and refunded once; the listing
    is published once and removed once; one search row, one receipt and one refund mail each."""
    _, listing = await employer_with_draft(browser, verified=True)
    order_id = await start_order(browser, listing.id)
    assert (await pay_with_card(browser, settings, order_id))["state"] == "succeeded"
    order = await Order.objects().get(Order.id == order_id)
    sync_before = await OutboxRow.count().where(OutboxRow.kind == "search.sync")

    success = emulator_event(settings, "payment_intent.succeeded", order.payment_intent_id)
    results = sorted(r.json()["result"].split(":")[0] for r in await _storm(make_browser, success))
    assert results == ["duplicate"] * (DELIVERIES - 1) + ["paid"]
    order = await Order.objects().get(Order.id == order_id)
    assert order.status == "paid"
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "published"
    assert await _transitions(listing.id, "published") == 1
    assert await StripeEvent.count().where(StripeEvent.event_id == success["id"]) == 1
    assert len([m for m in await outbox_mail() if m["subject"].startswith("Receipt")]) == 1
    assert await OutboxRow.count().where(OutboxRow.kind == "search.sync") == sync_before + 1

    # The refund made in Stripe's dashboard, its event delivered 50 times at once.
    refund = httpx.post(settings.stripe_api_base + "/v1/refunds", data={"payment_intent": order.payment_intent_id},
                        headers={"Authorization": f"Bearer {settings.stripe_secret_key}"}, timeout=10)
    refund.raise_for_status()
    pi = emulator_get(settings, f"/v1/payment_intents/{order.payment_intent_id}")
    charge_id = pi["latest_charge"]["id"] if isinstance(pi["latest_charge"], dict) else pi["latest_charge"]
    refunded = shaped_event("charge.refunded", emulator_get(settings, f"/v1/charges/{charge_id}"), "evt_drill_refund")
    results = sorted(r.json()["result"].split(":")[0] for r in await _storm(make_browser, refunded))
    assert results == ["duplicate"] * (DELIVERIES - 1) + ["refunded"]
    assert (await Order.objects().get(Order.id == order_id)).status == "refunded"
    assert (await Listing.objects().get(Listing.id == listing.id)).status == "removed"
    assert await _transitions(listing.id, "removed") == 1
    assert await StripeEvent.count() == 2
    assert len([m for m in await outbox_mail() if m["subject"].startswith("Refund")]) == 1
    assert await OutboxRow.count().where(OutboxRow.kind == "search.sync") == sync_before + 2
