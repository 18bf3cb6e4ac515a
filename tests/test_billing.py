"""Paying for listings against the real Stripe emulator: plans, the card step, the charge, the webhook, receipts."""

from __future__ import annotations

import datetime as dt
import re

from billing import service
from billing.tables import Order, SavedCard
from careers.core import clock
from careers.core.tables import OutboxRow
from employers.tables import Employer
from listings.tables import Listing, ListingEvent
from tests.billing_helpers import (
    DECLINED_AT_CHARGE,
    DECLINED_AT_SETUP,
    GOOD_CARD,
    NEEDS_AUTHENTICATION,
    charge,
    deliver,
    deliver_success,
    employer_with_draft,
    emulator_event,
    enter_card,
    make_listing,
    pay_page,
    pay_with_card,
    setup_secret,
    start_order,
)
from tests.conftest import outbox_mail, register_coder, register_employer


async def listing_status(listing_id: int) -> str:
    return (await Listing.objects().get(Listing.id == listing_id)).status


async def test_plans_are_seeded_in_integer_cents():
    prices = {p.code: p.price_cents for p in await service.list_plans(active_only=False)}
    assert prices["standard_30"] == 19900 and prices["standard_60"] == 29900 and prices["featured"] == 9900
    assert prices["renewal_30"] == 14925 and prices["renewal_60"] == 22425  # 75% of the plan price
    assert prices["pack_3"] == 3 * 19900 * 85 // 100
    assert prices["pack_5"] == 5 * 19900 * 75 // 100
    assert prices["pack_10"] == 10 * 19900 * 65 // 100
    assert service.money(19900) == "$199.00" and service.money(129350) == "$1,293.50"


async def test_paying_for_a_30_day_post_puts_the_listing_in_review_and_the_receipt_shows_199(browser, settings):
    employer, listing = await employer_with_draft(browser)
    choose = await browser.get(f"/employer/listings/{listing.id}/publish")
    assert "Standard listing, 30 days — $199.00" in choose.text and "Standard listing, 60 days — $299.00" in choose.text

    order_id = await start_order(browser, listing.id, "standard_30")
    order = await Order.objects().get(Order.id == order_id)
    assert order.amount_cents == 19900 and order.status == "pending" and order.employer == employer.id
    assert await listing_status(listing.id) == "awaiting_payment"

    page = await pay_page(browser, order_id)
    assert f'<script src="{settings.stripe_js_url}"></script>' in page.text
    assert '<script src="/static/billing.js"></script>' in page.text
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    assert settings.stripe_api_base in page.headers["content-security-policy"]
    assert "Card details" in page.text and "needs JavaScript" in page.text and "Pay $199.00" in page.text
    # Opening the page creates nothing at Stripe; sending the card form asks for the Customer and SetupIntent.
    order = await Order.objects().get(Order.id == order_id)
    assert (await Employer.objects().get(Employer.id == employer.id)).stripe_customer_id is None
    assert order.setup_intent_id is None

    secret = await setup_secret(browser, order_id)
    assert (await Employer.objects().get(Employer.id == employer.id)).stripe_customer_id.startswith("cus_")
    assert f'href="/billing/orders/{order_id}/pay">Pay</a>' in (await browser.get("/employer/billing")).text
    assert enter_card(settings, secret, GOOD_CARD).status_code == 200
    answer = await charge(browser, order_id, secret.split("_secret_")[0])
    assert answer["state"] == "succeeded" and answer["redirect"] == f"/billing/orders/{order_id}"
    # charged, waiting for the webhook: no "Pay" link invites a second payment
    assert f'/billing/orders/{order_id}/pay"' not in (await browser.get("/employer/billing")).text

    # Until the webhook arrives the order is pending and the return page waits (and refreshes itself).
    waiting = await browser.get(f"/billing/orders/{order_id}")
    assert "Pending" in waiting.text and 'http-equiv="refresh"' in waiting.text
    assert (await Order.objects().get(Order.id == order_id)).status == "pending"

    result = await deliver_success(browser, settings, order_id)
    assert result.json()["result"].startswith("paid")
    order = await Order.objects().get(Order.id == order_id)
    assert order.status == "paid" and order.paid_at is not None and order.card_last4 == "4242"
    listing = await Listing.objects().get(Listing.id == listing.id)
    assert listing.status == "in_review" and listing.duration_days == 30

    done = await browser.get(f"/billing/orders/{order_id}")
    assert "Payment received" in done.text and "in review" in done.text and 'http-equiv="refresh"' not in done.text
    history = (await browser.get(f"/employer/listings/{listing.id}")).text
    assert "<td>Payment confirmed by Stripe</td>" in history and "<td>Your team</td>" in history
    assert "<td>webhook</td>" not in history  # the employer's history speaks their words
    receipt = await browser.get(f"/employer/billing/receipts/{order_id}")
    assert receipt.status_code == 200 and "$199.00" in receipt.text and "Acme Health" in receipt.text
    billing = await browser.get("/employer/billing")
    assert "$199.00" in billing.text and "Paid" in billing.text and listing.title in billing.text
    assert "card ending 4242" in billing.text
    assert any("Receipt: $199.00" in m["subject"] for m in await outbox_mail("hr@acmehealth.org"))


async def test_verified_employer_goes_live_with_60_days_and_the_featured_upgrade(browser, settings):
    _, listing = await employer_with_draft(browser, verified=True)
    order_id = await start_order(browser, listing.id, "standard_60", featured=True)
    assert (await Order.objects().get(Order.id == order_id)).amount_cents == 29900 + 9900
    assert (await pay_with_card(browser, settings, order_id))["state"] == "succeeded"
    await deliver_success(browser, settings, order_id)

    listing = await Listing.objects().get(Listing.id == listing.id)
    assert listing.status == "published" and listing.featured and listing.duration_days == 60
    assert dt.timedelta(days=59) < listing.expires_at - listing.published_at <= dt.timedelta(days=60)
    assert await OutboxRow.exists().where((OutboxRow.kind == "search.sync"))
    done = await browser.get(f"/billing/orders/{order_id}")
    assert f'href="/jobs/{listing.id}/{listing.slug}"' in done.text
    receipt = await browser.get(f"/employer/billing/receipts/{order_id}")
    assert "$299.00" in receipt.text and "$99.00" in receipt.text and "$398.00" in receipt.text


async def test_the_amount_comes_from_the_plan_never_from_the_browser(browser, settings):
    _, listing = await employer_with_draft(browser)
    response = await browser.submit(f"/employer/listings/{listing.id}/publish",
                                    {"plan": "standard_30", "amount_cents": "1", "amount": "0.01", "price": "1"})
    order_id = int(re.search(r"/billing/orders/(\d+)/pay", response.headers["location"]).group(1))
    assert (await Order.objects().get(Order.id == order_id)).amount_cents == 19900
    bogus = await browser.submit(f"/employer/listings/{listing.id}/publish", {"plan": "pack_10"})
    assert bogus.status_code in (303, 400)  # the listing already awaits payment; a pack is no posting plan
    assert await Order.count() == 1


async def test_card_declined_while_saving_is_answered_at_once_and_a_good_card_then_succeeds(browser, settings):
    _, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    await pay_page(browser, order_id)
    secret = await setup_secret(browser, order_id)
    declined = enter_card(settings, secret, DECLINED_AT_SETUP)
    assert declined.status_code == 402 and declined.json()["error"]["message"] == "Your card was declined."
    # Nothing was charged; the order and listing stay payable.
    assert (await Order.objects().get(Order.id == order_id)).status == "pending"
    assert await listing_status(listing.id) == "awaiting_payment"
    # The declined SetupIntent cannot be reused: the page asks for a fresh one, then the good card goes through.
    await browser.get("/login")
    fresh = await browser.post(f"/billing/orders/{order_id}/setup", data={"_csrf_token": browser.cookies.get("cc_csrf")})
    new_secret = fresh.json()["client_secret"]
    assert new_secret != secret
    assert enter_card(settings, new_secret, GOOD_CARD).status_code == 200
    assert (await charge(browser, order_id, new_secret.split("_secret_")[0]))["state"] == "succeeded"
    await deliver_success(browser, settings, order_id)
    assert await listing_status(listing.id) == "in_review"


async def test_card_declined_at_charge_keeps_the_listing_payable_with_a_clear_message(browser, settings):
    _, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    answer = await pay_with_card(browser, settings, order_id, DECLINED_AT_CHARGE)
    assert answer["state"] == "failed" and "declined" in answer["message"] and "another card" in answer["message"]
    order = await Order.objects().get(Order.id == order_id)
    assert order.status == "failed" and order.attempts == 1 and order.payment_intent_id.startswith("pi_")
    assert await listing_status(listing.id) == "awaiting_payment"
    assert not await SavedCard.exists()  # a card refused at charge is not offered again

    # The emulator's own payment_failed event changes nothing more (the API result was already applied).
    failed = emulator_event(settings, "payment_intent.payment_failed", order.payment_intent_id)
    assert (await deliver(browser, failed)).status_code == 200
    order = await Order.objects().get(Order.id == order_id)
    assert order.status == "failed" and "declined" in order.failure_message

    status = await browser.get(f"/billing/orders/{order_id}")
    assert "The payment did not go through" in status.text and "Try again" in status.text
    retry = await browser.get(f"/billing/orders/{order_id}/pay")
    assert "Your card was declined" in retry.text

    assert (await pay_with_card(browser, settings, order_id, GOOD_CARD))["state"] == "succeeded"
    order = await Order.objects().get(Order.id == order_id)
    assert order.attempts == 2 and order.status == "pending"
    await deliver_success(browser, settings, order_id)
    assert (await Order.objects().get(Order.id == order_id)).status == "paid"
    assert await listing_status(listing.id) == "in_review"


async def test_card_that_needs_authentication_is_confirmed_by_the_page_then_paid(browser, settings):
    from careers.stripe_emulator import emulator_authenticate_payment

    _, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    answer = await pay_with_card(browser, settings, order_id, NEEDS_AUTHENTICATION)
    assert answer["state"] == "requires_action" and answer["client_secret"].startswith("pi_")
    order = await Order.objects().get(Order.id == order_id)
    assert order.attempt_state == "requires_action"
    pending = await browser.get(f"/billing/orders/{order_id}")
    assert "Your bank asks you to confirm" in pending.text
    page = await browser.get(f"/billing/orders/{order_id}/pay")
    assert 'id="authenticate-button"' in page.text and answer["client_secret"] in page.text

    # What confirmCardPayment does in the browser when the person completes 3-D Secure.
    done = emulator_authenticate_payment(settings, order.payment_intent_id, answer["client_secret"])
    assert done.status_code == 200 and done.json()["status"] == "succeeded"
    waiting = await browser.get(f"/billing/orders/{order_id}")
    assert "We are confirming your payment" in waiting.text
    await deliver_success(browser, settings, order_id)
    assert await listing_status(listing.id) == "in_review"


async def test_saved_card_pays_a_renewal_without_javascript(browser, settings):
    employer, listing = await employer_with_draft(browser, verified=True)
    order_id = await start_order(browser, listing.id)
    await pay_with_card(browser, settings, order_id)
    await deliver_success(browser, settings, order_id)
    listing = await Listing.objects().get(Listing.id == listing.id)
    assert listing.status == "published"
    old_expiry = listing.expires_at

    choose = await browser.get(f"/employer/listings/{listing.id}/publish")
    assert "Renewal, 30 more days — $149.25" in choose.text
    response = await browser.submit(f"/employer/listings/{listing.id}/renew", {"plan": "renewal_30"})
    renewal_id = int(re.search(r"/billing/orders/(\d+)/pay", response.headers["location"]).group(1))
    page = await browser.get(f"/billing/orders/{renewal_id}/pay")
    assert "Pay $149.25 with the card ending 4242" in page.text
    # A plain form post (no JavaScript) charges the saved card and lands on the status page.
    paid = await browser.submit(f"/billing/orders/{renewal_id}/charge", {"use_saved_card": "1"})
    assert paid.status_code == 303 and paid.headers["location"] == f"/billing/orders/{renewal_id}"
    await deliver_success(browser, settings, renewal_id)
    renewed = await Listing.objects().get(Listing.id == listing.id)
    assert renewed.expires_at - old_expiry == dt.timedelta(days=30)
    assert (await Order.objects().get(Order.id == renewal_id)).amount_cents == 14925


async def test_a_live_listing_is_featured_later_with_the_saved_card(browser, settings):
    _, listing = await employer_with_draft(browser, verified=True)
    order_id = await start_order(browser, listing.id)
    await pay_with_card(browser, settings, order_id)
    await deliver_success(browser, settings, order_id)
    assert not (await Listing.objects().get(Listing.id == listing.id)).featured

    choose = await browser.get(f"/employer/listings/{listing.id}/publish")
    assert "Feature for $99.00" in choose.text
    response = await browser.submit(f"/employer/listings/{listing.id}/feature", {"plan": "standard_30", "amount": "1"})
    upgrade_id = int(re.search(r"/billing/orders/(\d+)/pay", response.headers["location"]).group(1))
    upgrade = await Order.objects().get(Order.id == upgrade_id)
    assert upgrade.kind == "featured" and upgrade.amount_cents == 9900  # from the plan, whatever the form said
    syncs = await OutboxRow.count().where(OutboxRow.kind == "search.sync")
    paid = await browser.submit(f"/billing/orders/{upgrade_id}/charge", {"use_saved_card": "1"})
    assert paid.status_code == 303
    await deliver_success(browser, settings, upgrade_id)
    featured = await Listing.objects().get(Listing.id == listing.id)
    assert featured.featured and featured.status == "published"
    assert await OutboxRow.count().where(OutboxRow.kind == "search.sync") == syncs + 1  # lifted in search too
    assert "This listing is featured." in (await browser.get(f"/employer/listings/{listing.id}/publish")).text
    again = await browser.submit(f"/employer/listings/{listing.id}/feature", {})
    assert again.status_code == 303 and again.headers["location"].endswith("/publish")
    assert await Order.count().where(Order.kind == "featured") == 1
    receipt = await browser.get(f"/employer/billing/receipts/{upgrade_id}")
    assert "Featured" in receipt.text and "$99.00" in receipt.text


async def test_pack_credits_publish_a_draft_without_stripe(browser, settings):
    employer, listing = await employer_with_draft(browser)
    packs = await browser.get("/employer/billing/packs")
    assert "Pack of 3 postings (30 days each) — $507.45 (15% off)" in packs.text
    response = await browser.submit("/employer/billing/packs", {"plan": "pack_3"})
    order_id = int(re.search(r"/billing/orders/(\d+)/pay", response.headers["location"]).group(1))
    await pay_with_card(browser, settings, order_id)
    await deliver_success(browser, settings, order_id)
    from billing.tables import Credit

    await Credit.insert(Credit(employer=employer.id, total=7, remaining=7, duration_days=30,
                               expires_at=clock.now() - dt.timedelta(days=1)))
    billing = await browser.get("/employer/billing")
    assert "Pack credits" in billing.text and re.search(r"<td>3</td><td>3</td>", billing.text)
    assert "<td>7</td>" not in billing.text  # an expired pack is not offered as credits left

    choose = await browser.get(f"/employer/listings/{listing.id}/publish")
    assert "Use a pack credit (3 left" in choose.text
    used = await browser.submit(f"/employer/listings/{listing.id}/publish", {"plan": "credit"})
    assert used.status_code == 303 and used.headers["location"] == "/employer/billing"
    assert await listing_status(listing.id) == "in_review"
    assert await Order.count() == 1  # no order, no Stripe
    assert [c.remaining for c in await service.available_credits(employer.id)] == [2]
    credit = (await service.available_credits(employer.id))[0]
    assert dt.timedelta(days=364) < credit.expires_at - clock.now() <= dt.timedelta(days=365)  # 12 months


async def test_pages_answer_404_to_other_employers_and_send_visitors_to_login(browser, make_browser, settings):
    _, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    await pay_with_card(browser, settings, order_id)
    await deliver_success(browser, settings, order_id)

    other = make_browser()
    await register_employer(other, "hr@otherclinic.org", org="Other Clinic", website="https://otherclinic.org")
    for url in (f"/employer/listings/{listing.id}/publish", f"/billing/orders/{order_id}/pay",
                f"/billing/orders/{order_id}", f"/employer/billing/receipts/{order_id}"):
        assert (await other.get(url)).status_code == 404, url
    assert (await other.submit(f"/billing/orders/{order_id}/charge", {"use_saved_card": "1"})).status_code == 404
    coder = make_browser()
    await register_coder(coder, "casey@example.org")
    assert (await coder.get("/employer/billing")).status_code == 404
    anonymous = make_browser()
    response = await anonymous.get(f"/billing/orders/{order_id}/pay")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    # A receipt exists only for a paid order.
    draft = await make_listing(listing.employer, "Inpatient Coder (CCS)")
    unpaid = await start_order(browser, draft.id)
    assert (await browser.get(f"/employer/billing/receipts/{unpaid}")).status_code == 404


async def test_unconfirmed_employer_cannot_start_a_payment(browser):
    await register_employer(browser, "new@acmehealth.org", confirm=False)
    employer = await Employer.objects().get(Employer.name == "Acme Health")
    listing = await make_listing(employer.id)
    page = await browser.get(f"/employer/listings/{listing.id}/publish")
    assert "Confirm your email address before paying" in page.text
    response = await browser.submit(f"/employer/listings/{listing.id}/publish", {"plan": "standard_30"})
    assert response.status_code == 303 and response.headers["location"].endswith("/publish")
    assert await Order.count() == 0 and await listing_status(listing.id) == "draft"


async def test_an_order_abandoned_for_24_hours_is_released_and_the_listing_is_a_draft_again(browser, settings):
    _, listing = await employer_with_draft(browser)
    order_id = await start_order(browser, listing.id)
    await Order.update({Order.created_at: clock.now() - dt.timedelta(hours=25)}).where(Order.id == order_id)
    released = await service.release_abandoned(lambda: None)
    assert released == [order_id]
    assert (await Order.objects().get(Order.id == order_id)).status == "abandoned"
    assert await listing_status(listing.id) == "draft"
    event = await ListingEvent.objects().where(ListingEvent.listing == listing.id).order_by(ListingEvent.id,
                                                                                            ascending=False).first()
    assert event.actor_kind == "system" and event.to_status == "draft"
    assert (await browser.get(f"/billing/orders/{order_id}/pay")).status_code == 303  # no longer payable
    # A new order can be started from the draft.
    assert await start_order(browser, listing.id) != order_id


async def test_admin_edits_a_price_and_only_new_orders_use_it(browser, make_browser, settings):
    from tests.conftest import create_admin

    _, listing = await employer_with_draft(browser)
    first = await start_order(browser, listing.id)
    admin = make_browser()
    await create_admin(admin)
    plans = await admin.get("/admin/plans")
    plan = next(p for p in await service.list_plans() if p.code == "standard_30")
    assert plans.status_code == 200 and 'value="199.00"' in plans.text
    wrong = await admin.submit(f"/admin/plans/{plan.id}", {"price": "2l9", "active": "1"})
    assert wrong.status_code == 400 and "Enter a price in dollars, such as 199.00." in wrong.text
    assert 'value="2l9" inputmode="decimal" size="10" aria-invalid="true"' in wrong.text  # kept, marked inline
    saved = await admin.submit(f"/admin/plans/{plan.id}", {"price": "219.00", "active": "1"})
    assert saved.status_code == 303
    from careers.accounts.tables import AuditEntry

    entry = await AuditEntry.objects().where(AuditEntry.action == "plan changed").first()
    assert entry.actor_label == "admin@careercenter.org" and "$199.00" in str(entry.before) and "$219.00" in str(entry.after)
    try:
        other = await make_listing(listing.employer, "Outpatient Coder (CPC)")
        second = await start_order(browser, other.id)
        amounts = [o.amount_cents for o in await Order.objects().order_by(Order.id)]
        assert amounts == [19900, 21900] and [first, second] == [o.id for o in await Order.objects().order_by(Order.id)]
    finally:
        await service.update_plan(plan.id, price_cents=19900, active=True)  # plans are kept between tests
    assert (await browser.get("/admin/plans")).status_code == 404


async def test_a_double_clicked_plan_choice_makes_one_order(browser):
    import asyncio

    _, listing = await employer_with_draft(browser)
    await browser.get("/login")
    responses = await asyncio.gather(*(browser.submit(f"/employer/listings/{listing.id}/publish",
                                                      {"plan": "standard_30"}) for _ in range(3)))
    assert [r.status_code for r in responses] == [303, 303, 303]
    assert len({r.headers["location"] for r in responses}) == 1
    assert await Order.count() == 1 and await listing_status(listing.id) == "awaiting_payment"


async def test_the_emulator_shows_a_test_mode_banner_and_live_keys_do_not(browser, settings):
    import httpx

    from careers.app import create_app

    assert "Test mode — no real charges." in (await browser.get("/login")).text
    live = create_app(settings.replace(stripe_api_base="", stripe_secret_key="sk_live_careers"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=live), base_url="http://testserver") as client:
        page = await client.get("/login")
    assert page.status_code == 200 and "Test mode" not in page.text
