"""Billing rules: plans and prices, orders, the charge attempt, webhook effects, refunds, credits, reconcile.

Guarantees (docs/architecture.md, "Billing"):
- An order's amount comes from its plan in our database, computed when the order is made.
- At most one successful charge per order, guaranteed by the order row: a new attempt is refused
  while one is in flight, authenticating or succeeded, or once the order is paid. Attempt n is
  allocated under the row lock and uses the idempotency key `order-<id>-attempt-<n>`.
- Stripe's webhook is authoritative for "paid". Every event id is stored once (unique column,
  INSERT ... ON CONFLICT DO NOTHING) in the same transaction as its effect, so a replay or a
  concurrent duplicate changes nothing; order states only move forward.
- Pack credits are spent with one conditional UPDATE (soonest-expiring first).

Services take their Stripe gateway (billing.stripe_client.StripeGateway) as an argument.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from billing.stripe_client import CardDeclined, StripeGateway, StripeUnavailable, friendly_card_message, object_id
from billing.tables import Credit, CreditUse, Order, OrderStatus, Plan, SavedCard, StripeEvent
from careers.accounts import audit
from careers.accounts.tables import User
from careers.core import clock, db, filters, mail, text
from careers.core.config import Settings
from careers.core.errors import DomainError, NotFound
from employers.tables import Employer, EmployerMember
from listings import service as listings
from listings.tables import Listing

log = logging.getLogger("careers.billing")

PENDING, PAID, FAILED, REFUNDED, DISPUTED, ABANDONED = OrderStatus
PAYABLE = frozenset({PENDING, FAILED})
STATUS_LABELS = {PENDING: "Pending", PAID: "Paid", FAILED: "Payment failed", REFUNDED: "Refunded",
                 DISPUTED: "Disputed", ABANDONED: "Released (not paid within 24 hours)"}
KIND_LABELS = {"posting": "Listing", "featured": "Featured upgrade", "renewal": "Renewal", "pack": "Posting pack"}
# Attempt states on the order row.
IN_FLIGHT, REQUIRES_ACTION, SUCCEEDED, ATTEMPT_FAILED = "in_flight", "requires_action", "succeeded", "failed"

ATTEMPT_LEASE = dt.timedelta(minutes=2)  # an attempt older than this is presumed crashed and retried with the same key
REFUND_LEASE = dt.timedelta(minutes=5)
ABANDON_AFTER = dt.timedelta(hours=24)
CREDIT_VALIDITY = dt.timedelta(days=365)
CURRENCY = "usd"


class BillingError(DomainError):
    """A billing rule was broken; pages show `message` plainly."""


class OrderNotFound(BillingError, NotFound):
    pass



def money(cents: int, currency: str = CURRENCY) -> str:
    """Integer cents as the page shows them: 19900 -> "$199.00"."""
    return text.money(Decimal(int(cents)) / 100, cents=True, currency=currency)


# ---- plans -----------------------------------------------------------------------------------


async def list_plans(kind: str | None = None, *, active_only: bool = True) -> list[Plan]:
    query = Plan.objects().order_by(Plan.sort_order)
    if kind:
        query = query.where(Plan.kind == kind)
    if active_only:
        query = query.where(Plan.active == True)  # noqa: E712 (Piccolo builds SQL from ==)
    return await query


async def plan_by_code(code: str, kind: str | None = None) -> Plan:
    plan = await Plan.objects().where((Plan.code == code) & (Plan.active == True)).first()  # noqa: E712
    if plan is None or (kind and plan.kind != kind):
        raise BillingError("Choose one of the offered options.", "plan")
    return plan


async def update_plan(plan_id: int, *, price_cents: int, active: bool, admin=None) -> None:
    """Admins change a price or withdraw a plan (audited); orders already made keep their amount."""
    if price_cents < 50 or price_cents > 10_000_000:
        raise BillingError("Enter a price between $0.50 and $100,000.00.", "price")
    async with db.transaction():
        plan = await Plan.objects().where(Plan.id == plan_id).first()
        if plan is None:
            raise BillingError("That plan does not exist.")
        await Plan.update({Plan.price_cents: price_cents, Plan.active: active}).where(Plan.id == plan_id)
        if admin is not None and (plan.price_cents, plan.active) != (price_cents, active):
            await audit.record("plan changed", actor=admin, reason=plan.name,
                               before={"plan": plan.code, "price": money(plan.price_cents), "active": plan.active},
                               after={"plan": plan.code, "price": money(price_cents), "active": active})


def parse_dollars(text: str) -> int:
    """"199", "199.00" or "$1,299.5" as integer cents; BillingError otherwise."""
    cleaned = (text or "").strip().replace("$", "").replace(",", "")
    try:
        whole, _, frac = cleaned.partition(".")
        if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
            raise ValueError
        return int(whole) * 100 + int((frac + "00")[:2] or 0)
    except ValueError:
        raise BillingError("Enter a price in dollars, such as 199.00.", "price") from None


# ---- orders ----------------------------------------------------------------------------------


async def _lock_order(order_id: int) -> Order:
    return await db.locked_row(Order, Order.id == order_id, OrderNotFound("That order does not exist."))


async def order_for_employer(order_id: int, employer_id: int) -> Order | None:
    """The order if it belongs to this employer organisation (pages answer 404 otherwise)."""
    return await Order.objects().where((Order.id == order_id) & (Order.employer == employer_id)).first()


async def _listing_of_employer(listing_id: int, employer_id: int) -> Listing:
    """The employer's listing, row-locked on PostgreSQL (call inside a transaction): two clicks make one order."""
    return await db.locked_row(Listing, (Listing.id == listing_id) & (Listing.employer == employer_id),
                               OrderNotFound("That listing does not exist."))


async def open_order_for_listing(listing_id: int, kind: str = "posting") -> Order | None:
    """The listing's order of `kind` that can still be paid, if any."""
    return await Order.objects().where(
        (Order.listing == listing_id) & (Order.kind == kind) & Order.status.is_in(list(PAYABLE))
    ).order_by(Order.id, ascending=False).first()


async def start_listing_order(employer_id: int, user_id: int, listing_id: int, plan_code: str,
                              featured: bool = False) -> Order:
    """Buy a posting for a draft: a pending order priced from the plan, and the listing moves to awaiting payment."""
    plan = await plan_by_code(plan_code, "posting")
    amount = plan.price_cents
    description = plan.name
    if featured:
        upgrade = await plan_by_code("featured", "featured")
        amount += upgrade.price_cents
        description += " + featured"
    async with db.transaction():
        listing = await _listing_of_employer(listing_id, employer_id)
        if listing.status == listings.AWAITING:
            existing = await open_order_for_listing(listing_id)
            if existing is not None:
                return existing
        if listing.status != listings.DRAFT:
            raise BillingError("Only a draft listing can be paid for and submitted.")
        order = Order(employer=employer_id, created_by=user_id, kind="posting", plan=plan.id, featured=featured,
                      listing=listing_id, description=f"{description}: {listing.title}"[:300], amount_cents=amount,
                      currency=plan.currency, status=PENDING)
        await order.save()
        await listings.transition(listing_id, listings.AWAITING, actor_kind="employer", actor_id=user_id,
                                  reason=f"order {order.id}: {plan.name}")
    return order


async def start_listing_upgrade(employer_id: int, user_id: int, listing_id: int, plan_code: str) -> Order:
    """A renewal (published or expired listing) or the featured upgrade (published listing), as a pending order."""
    plan = await plan_by_code(plan_code)
    if plan.kind not in ("renewal", "featured"):
        raise BillingError("Choose one of the offered options.", "plan")
    async with db.transaction():
        listing = await _listing_of_employer(listing_id, employer_id)
        if plan.kind == "renewal" and listing.status not in (listings.PUBLISHED, listings.EXPIRED):
            raise BillingError("Only a published or expired listing can be renewed.")
        if plan.kind == "featured":
            if listing.status != listings.PUBLISHED:
                raise BillingError("Only a published listing can be featured.")
            if listing.featured:
                raise BillingError("This listing is already featured.")
        existing = await open_order_for_listing(listing_id, plan.kind)
        if existing is not None:
            return existing
        order = Order(employer=employer_id, created_by=user_id, kind=plan.kind, plan=plan.id, listing=listing_id,
                      description=f"{plan.name}: {listing.title}"[:300], amount_cents=plan.price_cents,
                      currency=plan.currency, status=PENDING)
        await order.save()
    return order


async def start_pack_order(employer_id: int, user_id: int, plan_code: str) -> Order:
    plan = await plan_by_code(plan_code, "pack")
    order = Order(employer=employer_id, created_by=user_id, kind="pack", plan=plan.id, listing=None,
                  description=plan.name, amount_cents=plan.price_cents, currency=plan.currency, status=PENDING)
    await order.save()
    return order


async def orders_for_employer(employer_id: int) -> list[dict]:
    rows = await Order.select(
        Order.all_columns(), Order.listing.title.as_alias("listing_title"), Order.listing.slug.as_alias("listing_slug"),
        Order.listing.status.as_alias("listing_status"),
    ).where(Order.employer == employer_id).order_by(Order.id, ascending=False)
    now = clock.now()
    for row in rows:
        row["amount"] = money(row["amount_cents"], row["currency"])
        row["status_label"] = STATUS_LABELS.get(row["status"], row["status"])
        row["kind_label"] = KIND_LABELS.get(row["kind"], row["kind"])
        row["payable"] = is_payable(Order(**{k: row[k] for k in ("status", "attempt_state", "attempt_started_at")}), now)
    return rows


async def all_orders(limit: int = 200, status: str | None = None) -> list[dict]:
    query = Order.select(
        Order.all_columns(), Order.employer.name.as_alias("employer_name"), Order.listing.title.as_alias("listing_title"),
    ).order_by(Order.id, ascending=False).limit(limit)
    if status:
        query = query.where(Order.status == status)
    rows = await query
    for row in rows:
        row["amount"] = money(row["amount_cents"], row["currency"])
        row["status_label"] = STATUS_LABELS.get(row["status"], row["status"])
        row["kind_label"] = KIND_LABELS.get(row["kind"], row["kind"])
        row["refundable"] = is_refundable(row["status"], row["payment_intent_id"])
    return rows


def is_refundable(status: str, payment_intent_id: str | None) -> bool:
    """Only a charged order (paid, or disputed with the bank) can be refunded through Stripe."""
    return status in (PAID, DISPUTED) and bool(payment_intent_id)


async def receipt(order_id: int, employer_id: int) -> dict | None:
    """What a printable receipt shows; None unless the order is this employer's and was paid."""
    order = await order_for_employer(order_id, employer_id)
    if order is None or order.paid_at is None:
        return None
    employer = await Employer.objects().get(Employer.id == employer_id)
    plan = await Plan.objects().get(Plan.id == order.plan)
    if order.kind == "posting" and order.featured:
        upgrade = order.amount_cents - plan.price_cents
        lines = [(plan.name, plan.price_cents), ("Featured upgrade", upgrade)]
    else:
        lines = [(plan.name, order.amount_cents)]
    listing = await Listing.objects().where(Listing.id == order.listing).first() if order.listing else None
    return {
        "order": order,
        "employer": employer,
        "listing": listing,
        "lines": [(name, money(cents, order.currency)) for name, cents in lines],
        "total": money(order.amount_cents, order.currency),
        "status_label": STATUS_LABELS.get(order.status, order.status),
    }


# ---- credits ---------------------------------------------------------------------------------


async def available_credits(employer_id: int, now: dt.datetime | None = None) -> list[Credit]:
    now = now or clock.now()
    return await Credit.objects().where(
        (Credit.employer == employer_id) & (Credit.remaining > 0) & (Credit.expires_at > now)
    ).order_by(Credit.expires_at)


async def credits_for_page(employer_id: int) -> list[dict]:
    """The packs with credits still usable (some left, not expired), soonest-expiring first."""
    now = clock.now()
    return await Credit.select().where(
        (Credit.employer == employer_id) & (Credit.remaining > 0) & (Credit.expires_at > now)
    ).order_by(Credit.expires_at)


_SPEND_SQL = (
    "UPDATE credits SET remaining = remaining - 1 "
    "WHERE id = (SELECT id FROM credits WHERE employer = {} AND remaining > 0 AND expires_at > {} "
    "ORDER BY expires_at, id LIMIT 1) AND remaining > 0 RETURNING id"
)


async def spend_credit(employer_id: int, now: dt.datetime | None = None) -> Credit | None:
    """Take one posting credit, soonest-expiring first, with one conditional UPDATE; None if none is left.

    On PostgreSQL a concurrent spender may empty the chosen row between our sub-select and our update;
    the `remaining > 0` re-check then matches nothing and we look again (a fresh snapshot per statement).
    """
    now = now or clock.now()
    async with db.transaction():
        for _ in range(50):
            rows = await db.fetch(_SPEND_SQL, employer_id, now)
            if rows:
                return await Credit.objects().get(Credit.id == rows[0]["id"])
            if not await Credit.exists().where(
                (Credit.employer == employer_id) & (Credit.remaining > 0) & (Credit.expires_at > now)
            ):
                return None
    return None


async def publish_with_credit(employer_id: int, user_id: int, listing_id: int) -> Listing:
    """Pay for a draft with a pack credit: at once in review (or published for a verified employer), no Stripe."""
    async with db.transaction():
        listing = await _listing_of_employer(listing_id, employer_id)
        if listing.status != listings.DRAFT:
            raise BillingError("Only a draft listing can be submitted with a pack credit.")
        credit = await spend_credit(employer_id)
        if credit is None:
            raise BillingError("You have no pack credits left. Choose a plan instead.", "plan")
        employer = await Employer.objects().get(Employer.id == employer_id)
        await Listing.update({Listing.duration_days: credit.duration_days}).where(Listing.id == listing_id)
        await CreditUse.insert(CreditUse(credit=credit.id, listing=listing_id))
        to_status = listings.PUBLISHED if employer.verified else listings.IN_REVIEW
        return await listings.transition(listing_id, to_status, actor_kind="employer", actor_id=user_id,
                                         reason=f"paid with pack credit {credit.id}")


# ---- paying: customer, setup intent, the charge attempt ------------------------------------------


async def saved_card(employer_id: int) -> SavedCard | None:
    return await SavedCard.objects().where(SavedCard.employer == employer_id).first()


async def ensure_customer(employer_id: int, email: str, gateway: StripeGateway) -> str:
    """The organisation's Stripe Customer, created once (a concurrent loser adopts the winner's id)."""
    employer = await Employer.objects().get(Employer.id == employer_id)
    if employer.stripe_customer_id:
        return employer.stripe_customer_id
    customer = await gateway.create_customer(name=employer.name, email=email, employer_id=employer_id)
    await Employer.update({Employer.stripe_customer_id: customer["id"]}).where(
        (Employer.id == employer_id) & Employer.stripe_customer_id.is_null()
    )
    employer = await Employer.objects().get(Employer.id == employer_id)
    return employer.stripe_customer_id


def is_payable(order: Order, now: dt.datetime | None = None) -> bool:
    return order.status in PAYABLE and not _attempt_blocks(order, now or clock.now())


def _attempt_blocks(order: Order, now: dt.datetime) -> bool:
    if order.attempt_state == SUCCEEDED:
        return True
    if order.attempt_state == IN_FLIGHT and order.attempt_started_at and now - order.attempt_started_at < ATTEMPT_LEASE:
        return True
    return False


async def prepare_payment(order: Order, email: str, gateway: StripeGateway) -> dict:
    """The Customer (once per organisation) and a SetupIntent for the pay page; an unused one is reused."""
    customer = await ensure_customer(order.employer, email, gateway)
    if order.setup_intent_id:
        try:
            existing = await gateway.retrieve_setup_intent(order.setup_intent_id)
        except StripeUnavailable:
            existing = None
        if existing and existing.get("status") == "requires_payment_method" and existing.get("customer") == customer:
            return {"customer": customer, "setup_intent": existing}
    setup_intent = await gateway.create_setup_intent(customer=customer, order_id=order.id)
    await Order.update({Order.setup_intent_id: setup_intent["id"]}).where(Order.id == order.id)
    return {"customer": customer, "setup_intent": setup_intent}


async def save_card_from_setup_intent(employer_id: int, setup_intent_id: str, gateway: StripeGateway) -> SavedCard:
    """Check the SetupIntent succeeded for this organisation's Customer and keep its card for later charges."""
    employer = await Employer.objects().get(Employer.id == employer_id)
    try:
        setup_intent = await gateway.retrieve_setup_intent(setup_intent_id)
    except StripeUnavailable:
        raise BillingError("We could not find that card. Enter it again.") from None
    if not employer.stripe_customer_id or setup_intent.get("customer") != employer.stripe_customer_id:
        raise BillingError("We could not find that card. Enter it again.")
    if setup_intent.get("status") != "succeeded":
        raise BillingError("Your card was not saved. Enter it again.")
    pm_id = object_id(setup_intent.get("payment_method"))
    if not pm_id:
        raise BillingError("Your card was not saved. Enter it again.")
    card = (await gateway.retrieve_payment_method(pm_id)).get("card") or {}
    values = {"payment_method_id": pm_id, "brand": str(card.get("brand") or "")[:20], "last4": str(card.get("last4") or "")[:4],
              "exp_month": int(card.get("exp_month") or 0), "exp_year": int(card.get("exp_year") or 0)}
    await db.fetch(
        "INSERT INTO saved_cards (employer, payment_method_id, brand, last4, exp_month, exp_year, updated_at) "
        "VALUES ({}, {}, {}, {}, {}, {}, {}) ON CONFLICT (employer) DO UPDATE SET "
        "payment_method_id = excluded.payment_method_id, brand = excluded.brand, last4 = excluded.last4, "
        "exp_month = excluded.exp_month, exp_year = excluded.exp_year, updated_at = excluded.updated_at",
        employer_id, values["payment_method_id"], values["brand"], values["last4"], values["exp_month"],
        values["exp_year"], clock.now(),
    )
    return await SavedCard.objects().get(SavedCard.employer == employer_id)


@dataclass
class ChargeResult:
    """What the pay page does next: `succeeded` (wait for the webhook), `requires_action` (authenticate with
    `client_secret`), or `failed` (show `message`, the order stays payable)."""

    state: str
    message: str = ""
    client_secret: str | None = None
    payment_intent_id: str | None = None


async def _release_stuck_authentication(order: Order, gateway: StripeGateway) -> None:
    """Before a new attempt, cancel a PaymentIntent left waiting for authentication, so it can never succeed too."""
    if order.attempt_state != REQUIRES_ACTION or not order.payment_intent_id:
        return
    pi = await gateway.retrieve_payment_intent(order.payment_intent_id)
    if pi.get("status") in ("requires_action", "requires_confirmation", "requires_payment_method"):
        try:
            await gateway.cancel_payment_intent(order.payment_intent_id)
        except StripeUnavailable:
            pi = await gateway.retrieve_payment_intent(order.payment_intent_id)
            if pi.get("status") != "canceled":
                raise
        await Order.update({Order.attempt_state: ATTEMPT_FAILED}).where(
            (Order.id == order.id) & (Order.payment_intent_id == order.payment_intent_id)
            & (Order.attempt_state == REQUIRES_ACTION)
        )
    elif pi.get("status") in ("succeeded", "processing"):
        await Order.update({Order.attempt_state: SUCCEEDED}).where(
            (Order.id == order.id) & (Order.payment_intent_id == order.payment_intent_id)
        )


async def _begin_attempt(order_id: int, employer_id: int) -> tuple[Order, int]:
    """Allocate attempt n under the row lock, or refuse: the database's guarantee of one successful charge."""
    now = clock.now()
    async with db.transaction():
        order = await _lock_order(order_id)
        if order.employer != employer_id:
            raise OrderNotFound("That order does not exist.")
        if order.status in (PAID, REFUNDED, DISPUTED):
            raise BillingError("This order is already paid.")
        if order.status == ABANDONED:
            raise BillingError("This order was released because it was not paid within 24 hours. Start again from the listing.")
        if order.attempt_state == SUCCEEDED:
            raise BillingError("Your payment went through; we are waiting for the confirmation from Stripe.")
        if order.attempt_state == REQUIRES_ACTION:
            raise BillingError("Complete your bank's authentication for the payment already started, or reload the page.")
        if order.attempt_state == IN_FLIGHT and order.attempt_started_at and now - order.attempt_started_at < ATTEMPT_LEASE:
            raise BillingError("A payment for this order is already being processed. Wait a moment and reload the page.")
        # An attempt whose lease ran out (a crash mid-call) is retried under the SAME number, hence the same
        # idempotency key: Stripe then answers with the first PaymentIntent instead of charging again.
        attempt = order.attempts if order.attempt_state == IN_FLIGHT else order.attempts + 1
        updated = await Order.update({
            Order.attempts: attempt, Order.attempt_state: IN_FLIGHT, Order.attempt_started_at: now,
            Order.status: PENDING, Order.failure_message: "", Order.updated_at: now,
        }).where((Order.id == order_id) & (Order.attempts == order.attempts)
                 & (Order.attempt_state == order.attempt_state)).returning(Order.id)
        if not updated:
            raise BillingError("A payment for this order is already being processed. Wait a moment and reload the page.")
    return order, attempt


async def _finish_attempt(order_id: int, attempt: int, changes: dict, *, failed: bool = False) -> None:
    """Record an attempt's API result unless a newer attempt or the webhook already moved the order on."""
    now = clock.now()
    changes = {**changes, Order.updated_at: now}
    if failed:
        changes.update({Order.status: FAILED, Order.failed_at: now})
    await Order.update(changes).where(
        (Order.id == order_id) & (Order.attempts == attempt) & (Order.status == PENDING)
    )


async def charge_order(order_id: int, employer_id: int, gateway: StripeGateway, *,
                       setup_intent_id: str | None = None, use_saved_card: bool = False) -> ChargeResult:
    """One payment attempt: create AND confirm one PaymentIntent for the order's amount with the saved card.

    The webhook, not this call, marks the order paid.
    """
    order = await order_for_employer(order_id, employer_id)
    if order is None:
        raise OrderNotFound("That order does not exist.")
    if setup_intent_id:
        card = await save_card_from_setup_intent(employer_id, setup_intent_id, gateway)
    elif use_saved_card:
        card = await saved_card(employer_id)
        if card is None:
            raise BillingError("There is no saved card. Enter your card details.")
    else:
        raise BillingError("Enter your card details.")
    await _release_stuck_authentication(order, gateway)
    order, attempt = await _begin_attempt(order_id, employer_id)
    employer = await Employer.objects().get(Employer.id == employer_id)
    try:
        pi = await gateway.create_and_confirm_payment(
            order_id=order.id, attempt=attempt, amount_cents=order.amount_cents, currency=order.currency,
            customer=employer.stripe_customer_id, payment_method=card.payment_method_id,
        )
    except CardDeclined as exc:
        pi_id = exc.payment_intent_id
        if not pi_id and exc.charge_id:
            try:
                pi_id = object_id((await gateway.retrieve_charge(exc.charge_id)).get("payment_intent"))
            except StripeUnavailable:
                pi_id = None
        await _finish_attempt(order_id, attempt, {Order.attempt_state: ATTEMPT_FAILED, Order.payment_intent_id: pi_id,
                                                  Order.failure_message: exc.message,
                                                  Order.card_last4: card.last4}, failed=True)
        # A card refused at charge is not offered again as "the card ending ...".
        await SavedCard.delete().where(SavedCard.payment_method_id == card.payment_method_id)
        return ChargeResult("failed", exc.message, payment_intent_id=pi_id)
    except StripeUnavailable:
        # Unknown outcome: the attempt stays in flight; after its lease a retry reuses this attempt's key.
        log.exception("payment attempt %s of order %s: Stripe unavailable", attempt, order_id)
        return ChargeResult("failed", "We could not reach the payment service. Nothing was charged twice; "
                                      "try again in a couple of minutes.")
    status = pi.get("status")
    base = {Order.payment_intent_id: pi["id"], Order.card_last4: card.last4}
    if status in ("succeeded", "processing"):
        await _finish_attempt(order_id, attempt, {**base, Order.attempt_state: SUCCEEDED})
        return ChargeResult("succeeded", payment_intent_id=pi["id"])
    if status in ("requires_action", "requires_confirmation"):
        await _finish_attempt(order_id, attempt, {**base, Order.attempt_state: REQUIRES_ACTION})
        return ChargeResult("requires_action", "Your bank asks you to confirm this payment.",
                            client_secret=pi.get("client_secret"), payment_intent_id=pi["id"])
    error = pi.get("last_payment_error") or {}
    message = friendly_card_message(error.get("decline_code") or error.get("code") or "", error.get("message") or "")
    await _finish_attempt(order_id, attempt, {**base, Order.attempt_state: ATTEMPT_FAILED, Order.failure_message: message},
                          failed=True)
    return ChargeResult("failed", message, payment_intent_id=pi["id"])


async def refresh_attempt(order: Order, gateway: StripeGateway) -> Order:
    """The return page's hint: read a PaymentIntent waiting for authentication to show progress (never marks paid)."""
    if order.status != PENDING or order.attempt_state != REQUIRES_ACTION or not order.payment_intent_id:
        return order
    try:
        pi = await gateway.retrieve_payment_intent(order.payment_intent_id)
    except StripeUnavailable:
        return order
    status = pi.get("status")
    if status in ("succeeded", "processing"):
        await _finish_attempt(order.id, order.attempts, {Order.attempt_state: SUCCEEDED})
    elif status in ("requires_payment_method", "canceled"):
        error = pi.get("last_payment_error") or {}
        message = friendly_card_message(error.get("code") or "", error.get("message") or "")
        await _finish_attempt(order.id, order.attempts, {Order.attempt_state: ATTEMPT_FAILED, Order.failure_message: message},
                              failed=True)
    return await Order.objects().get(Order.id == order.id)


# ---- webhook events ----------------------------------------------------------------------------


STATUS_RANK = {PENDING: 0, FAILED: 0, ABANDONED: 0, PAID: 1, DISPUTED: 2, REFUNDED: 3}
HANDLED_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded",
                  "charge.dispute.created")


async def handle_event(event: dict, settings: Settings) -> str:
    """Apply one verified Stripe event exactly once, in one transaction with the row that records its id.

    Returns what happened (also stored on the event row). Unknown types and unknown orders are recorded.
    """
    event_id = str(event.get("id") or "")
    event_type = str(event.get("type") or "")
    if not event_id:
        return "ignored: event without id"
    async with db.transaction():
        inserted = await db.fetch(
            "INSERT INTO stripe_events (event_id, type, result, received_at) VALUES ({}, {}, '', {}) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING id",
            event_id, event_type[:100], clock.now(),
        )
        if not inserted:
            return "duplicate: already handled"
        obj = ((event.get("data") or {}).get("object")) or {}
        order, result = await _apply_event(event_type, obj, settings)
        await StripeEvent.update({StripeEvent.result: result[:2000], StripeEvent.purchase: order.id if order else None}).where(
            StripeEvent.id == inserted[0]["id"]
        )
    log.info("stripe event %s %s: %s", event_id, event_type, result)
    return result


async def _find_order(obj: dict, *, by_metadata: bool) -> Order | None:
    if by_metadata:
        raw = (obj.get("metadata") or {}).get("order_id")
        if raw and str(raw).isdigit():
            order = await Order.objects().where(Order.id == int(raw)).first()
            if order is not None:
                return await _lock_order(order.id)
    pi_id = object_id(obj.get("payment_intent")) if obj.get("object") != "payment_intent" else obj.get("id")
    if pi_id:
        order = await Order.objects().where(Order.payment_intent_id == pi_id).first()
        if order is not None:
            return await _lock_order(order.id)
    return None


async def _apply_event(event_type: str, obj: dict, settings: Settings) -> tuple[Order | None, str]:
    if event_type not in HANDLED_EVENTS:
        return None, f"ignored: {event_type} is not handled"
    order = await _find_order(obj, by_metadata=event_type.startswith("payment_intent."))
    if order is None:
        return None, "recorded: no order of ours matches"
    if event_type == "payment_intent.succeeded":
        return order, await _payment_succeeded(order, obj, settings)
    if event_type == "payment_intent.payment_failed":
        return order, await _payment_failed(order, obj)
    if event_type == "charge.refunded":
        if not obj.get("refunded") and int(obj.get("amount_refunded") or 0) < order.amount_cents:
            return order, "recorded: partial refund, order unchanged"
        return order, await apply_refund(order, reason="refunded in Stripe", refund_id=None, actor_kind="system")
    return order, await _dispute_created(order, obj)


async def _payment_succeeded(order: Order, pi: dict, settings: Settings) -> str:
    pi_id = pi.get("id")
    if int(pi.get("amount") or 0) != order.amount_cents or str(pi.get("currency") or "").lower() != order.currency:
        await _mail_admins(f"Payment for order {order.id} does not match its amount",
                           f"PaymentIntent {pi_id} paid {pi.get('amount')} {pi.get('currency')} for order {order.id} "
                           f"({money(order.amount_cents)}). Nothing was applied; check it in Stripe.")
        return "recorded: amount does not match the order; admins told"
    if STATUS_RANK[order.status] >= STATUS_RANK[PAID]:
        if order.payment_intent_id and order.payment_intent_id != pi_id:
            await _mail_admins(f"Second payment for order {order.id}",
                               f"PaymentIntent {pi_id} succeeded for order {order.id}, already paid by "
                               f"{order.payment_intent_id}. Refund the second payment in Stripe.")
            return "recorded: second payment for an order already paid; admins told"
        return f"ignored: order already {order.status}"
    return await mark_paid(order, pi_id, settings)


async def mark_paid(order: Order, payment_intent_id: str, settings: Settings | None = None) -> str:
    """The order is paid: apply what was bought (call inside the event's transaction, order row locked)."""
    now = clock.now()
    await Order.update({
        Order.status: PAID, Order.paid_at: now, Order.payment_intent_id: payment_intent_id,
        Order.attempt_state: SUCCEEDED, Order.failure_message: "", Order.updated_at: now,
    }).where(Order.id == order.id)
    effect = await _deliver(order)
    await _mail_employer(order, f"Receipt: {money(order.amount_cents, order.currency)} paid to CareerCenter",
                         f"Thank you. We received {money(order.amount_cents, order.currency)} for order {order.id} "
                         f"({order.description}).\n\n{effect}\n\nYour receipt: "
                         f"{(settings.base_url if settings else '')}/employer/billing/receipts/{order.id}")
    return f"paid: {effect}"


async def _deliver(order: Order) -> str:
    plan = await Plan.objects().get(Plan.id == order.plan)
    if order.kind == "pack":
        await Credit.insert(Credit(employer=order.employer, purchase=order.id, total=plan.credits, remaining=plan.credits,
                                   duration_days=plan.duration_days, expires_at=clock.now() + CREDIT_VALIDITY))
        return f"{plan.credits} posting credits added, valid for 12 months."
    listing = await Listing.objects().where(Listing.id == order.listing).first() if order.listing else None
    if listing is None:
        return "The listing no longer exists; an admin will refund this order."
    if order.kind == "featured":
        await listings.set_featured(listing.id, True, actor_kind="webhook")
        return "The listing is now featured."
    employer = await Employer.objects().get(Employer.id == order.employer)
    if order.kind == "renewal":
        if employer.suspended and listing.status != listings.PUBLISHED:
            return "The employer is suspended: the listing stays off the site; an admin will look at this payment."
        try:
            renewed = await listings.renew(listing.id, plan.duration_days, actor_kind="webhook")
        except listings.ListingError as exc:
            return f"The renewal could not be applied ({exc.message}); an admin will look at it."
        return f"The listing runs until {filters.date(renewed.expires_at)}."
    # A posting.
    await Listing.update({Listing.duration_days: plan.duration_days}).where(Listing.id == listing.id)
    if listing.status == listings.DRAFT:
        # Paid after the 24-hour release put it back to draft: the employer's own payment resubmits it.
        await listings.transition(listing.id, listings.AWAITING, actor_kind="employer", actor_id=order.created_by,
                                  reason=f"late payment of order {order.id}")
        listing.status = listings.AWAITING
    if listing.status != listings.AWAITING:
        return f"The listing was {listing.status}; nothing changed."
    # A payment already under way when the employer was suspended goes to review, never live.
    to_status = listings.PUBLISHED if employer.verified and not employer.suspended else listings.IN_REVIEW
    await listings.transition(listing.id, to_status, actor_kind="webhook", reason=f"order {order.id} paid")
    if order.featured:
        await listings.set_featured(listing.id, True, actor_kind="webhook")
    return "The listing is live." if to_status == listings.PUBLISHED else "The listing is in review; we publish it after a check."


async def _payment_failed(order: Order, pi: dict) -> str:
    if order.status not in PAYABLE:
        return f"ignored: order already {order.status}"
    attempt = (pi.get("metadata") or {}).get("attempt")
    if attempt and str(attempt).isdigit() and int(attempt) < order.attempts:
        return "ignored: an older attempt; a newer one is under way"
    if order.payment_intent_id and order.payment_intent_id != pi.get("id") and not attempt:
        return "ignored: not the order's current PaymentIntent"
    error = pi.get("last_payment_error") or {}
    message = friendly_card_message(error.get("decline_code") or error.get("code") or "", error.get("message") or "")
    now = clock.now()
    # The listing stays awaiting payment so the employer can retry; the 24-hour release returns it to draft.
    await Order.update({Order.status: FAILED, Order.failed_at: now, Order.failure_message: message,
                        Order.attempt_state: ATTEMPT_FAILED, Order.payment_intent_id: pi.get("id"),
                        Order.updated_at: now}).where(Order.id == order.id)
    return f"failed: {message}"


async def _dispute_created(order: Order, dispute: dict) -> str:
    now = clock.now()
    if order.status == REFUNDED:
        await Order.update({Order.disputed_at: now}).where(Order.id == order.id)
        return "recorded: dispute on a refunded order"
    if order.status == DISPUTED:
        return "ignored: order already disputed"
    await Order.update({Order.status: DISPUTED, Order.disputed_at: now, Order.updated_at: now}).where(Order.id == order.id)
    hidden = ""
    listing = await Listing.objects().where(Listing.id == order.listing).first() if order.listing else None
    if listing is not None:
        why = f"payment disputed (order {order.id})"
        await listings.set_hidden(listing.id, True, actor_kind="system", reason=why)
        await audit.record("automated hide", actor=None, employer_id=order.employer, listing_id=listing.id,
                           reason=why, before={"hidden": listing.hidden},
                           after={"hidden": True, "order": order.id, "order_status": DISPUTED})
        hidden = f" Listing {listing.id} is hidden until an admin shows it again (Admin → Listings)."
    await _mail_admins(f"Payment dispute on order {order.id}",
                       f"Stripe reports a dispute ({dispute.get('reason') or 'no reason given'}) on order {order.id}, "
                       f"{money(order.amount_cents, order.currency)}, {order.description}.{hidden}")
    return "disputed: listing hidden, admins told"


# ---- refunds ----------------------------------------------------------------------------------


async def apply_refund(order: Order, *, reason: str, refund_id: str | None, actor_kind: str,
                       actor_id: int | None = None) -> str:
    """The order is refunded: take back what it bought (call inside a transaction, order row locked). Idempotent."""
    if order.status == REFUNDED:
        return "ignored: order already refunded"
    now = clock.now()
    changes = {Order.status: REFUNDED, Order.refunded_at: now, Order.updated_at: now}
    if refund_id:
        changes[Order.refund_id] = refund_id
    if reason and not order.refund_reason:
        changes[Order.refund_reason] = reason[:2000]
    await Order.update(changes).where(Order.id == order.id)
    effect = await _take_back(order, reason, actor_kind, actor_id)
    await _mail_employer(order, f"Refund: {money(order.amount_cents, order.currency)} for order {order.id}",
                         f"We refunded {money(order.amount_cents, order.currency)} for order {order.id} "
                         f"({order.description}).\nReason: {order.refund_reason or reason}\n\n{effect}\n\n"
                         "The money reaches your card within 5 to 10 business days.")
    return f"refunded: {effect}"


async def _take_back(order: Order, reason: str, actor_kind: str, actor_id: int | None) -> str:
    if order.kind == "pack":
        await Credit.update({Credit.remaining: 0}).where(Credit.purchase == order.id)
        return "The pack's unused credits were withdrawn."
    listing = await Listing.objects().where(Listing.id == order.listing).first() if order.listing else None
    if listing is None:
        return ""
    if order.kind == "featured":
        await listings.set_featured(listing.id, False, actor_kind="system")
        return "The listing is no longer featured."
    why = f"order {order.id} refunded: {reason}"[:500]
    kind = "admin" if actor_kind == "admin" else "system"
    if listing.status == listings.PUBLISHED:
        await listings.transition(listing.id, listings.REMOVED, actor_kind=kind, actor_id=actor_id, reason=why)
        return "The listing was taken off the site."
    if listing.status == listings.AWAITING:
        await listings.transition(listing.id, listings.DRAFT, actor_kind="system", reason=why)
        return "The listing is a draft again."
    if listing.status == listings.IN_REVIEW:
        await listings.set_hidden(listing.id, True, actor_kind=kind, actor_id=actor_id, reason=why)
        if kind == "system":  # an admin's refund is audited as a whole by refund_order
            await audit.record("automated hide", actor=None, employer_id=order.employer, listing_id=listing.id,
                               reason=why, before={"hidden": listing.hidden}, after={"hidden": True, "order": order.id})
        return "The listing will not be published."
    return f"The listing stays {listing.status}."


async def refund_order(order_id: int, reason: str, gateway: StripeGateway, *, actor_kind: str = "admin",
                       actor_id: int | None = None) -> Order:
    """A full refund through Stripe; its result is applied at once (the later charge.refunded changes nothing)."""
    reason = (reason or "").strip()
    if not reason:
        raise BillingError("Give a reason for the refund.", "reason")
    now = clock.now()
    async with db.transaction():
        order = await _lock_order(order_id)
        if order.status == REFUNDED:
            return order
        if not is_refundable(order.status, order.payment_intent_id):
            raise BillingError("Only a paid order can be refunded.")
        if order.refund_started_at and now - order.refund_started_at < REFUND_LEASE:
            raise BillingError("A refund of this order is already under way.")
        await Order.update({Order.refund_started_at: now, Order.refund_reason: reason[:2000]}).where(Order.id == order_id)
    try:
        refund = await gateway.refund(payment_intent_id=order.payment_intent_id, order_id=order.id, reason=reason)
    except (StripeUnavailable, CardDeclined) as exc:
        await Order.update({Order.refund_started_at: None}).where(Order.id == order_id)
        raise BillingError(f"Stripe did not refund the payment: {exc}") from None
    async with db.transaction():
        order = await _lock_order(order_id)
        before = order.status
        effect = await apply_refund(order, reason=reason, refund_id=refund.get("id"), actor_kind=actor_kind,
                                    actor_id=actor_id)
        if actor_kind == "admin":
            admin = await User.objects().where(User.id == actor_id).first() if actor_id else None
            await audit.record("order refunded", actor=admin, employer_id=order.employer, listing_id=order.listing,
                               reason=reason, before={"order": order.id, "status": before},
                               after={"order": order.id, "status": REFUNDED, "refund": refund.get("id"),
                                      "amount": money(order.amount_cents, order.currency), "effect": effect})
    return await Order.objects().get(Order.id == order_id)


async def refund_listing(listing_id: int, reason: str, gateway: StripeGateway) -> list[int]:
    """Moderation's reject: refund the listing's paid posting order(s). Idempotent; returns the refunded order ids."""
    orders = await Order.objects().where(
        (Order.listing == listing_id) & (Order.kind == "posting") & Order.status.is_in([PAID, DISPUTED])
    ).order_by(Order.id)
    refunded = []
    for order in orders:
        await refund_order(order.id, reason or "listing rejected", gateway, actor_kind="system")
        refunded.append(order.id)
    await return_credits(listing_id, reason or "listing rejected")
    return refunded


async def return_credits(listing_id: int, reason: str) -> int:
    """A listing paid with a pack credit and then rejected gets its credit back (the credit's "refund").

    The use row is deleted and the credit incremented in one transaction, so a redelivered outbox row
    finds nothing left to return. Returns how many credits came back.
    """
    async with db.transaction():
        uses = await CreditUse.select(CreditUse.id, CreditUse.credit).where(CreditUse.listing == listing_id)
        for use in uses:
            await CreditUse.delete().where(CreditUse.id == use["id"])
            await Credit.update({Credit.remaining: Credit.remaining + 1}).where(Credit.id == use["credit"])
        if uses:
            listing = await Listing.objects().get(Listing.id == listing_id)
            credit = await Credit.objects().get(Credit.id == uses[0]["credit"])
            owners = await EmployerMember.select(EmployerMember.user.email.as_alias("email")).where(
                (EmployerMember.employer == listing.employer) & (EmployerMember.role == "owner"))
            recipients = {r["email"] for r in owners}
            if listing.created_by:
                author = await User.objects().where(User.id == listing.created_by).first()
                if author is not None:
                    recipients.add(author.email)
            for email in sorted(recipients):
                await mail.queue_mail(email, f"Pack credit returned: {listing.title}",
                                      f"The listing \"{listing.title}\" was not published ({reason}), so the pack "
                                      f"credit it used is back in your account. It can be used until "
                                      f"{filters.date(credit.expires_at)}.")
    return len(uses)


# ---- the worker's release of abandoned orders ------------------------------------------------------


async def release_abandoned(gateway_factory, now: dt.datetime | None = None) -> list[int]:
    """Orders not paid within 24 hours are released: order abandoned, listing back to draft (system)."""
    now = now or clock.now()
    cutoff = now - ABANDON_AFTER
    candidates = await Order.objects().where(Order.status.is_in(list(PAYABLE)) & (Order.created_at < cutoff))
    released = []
    for order in candidates:
        last_activity = max(order.created_at, order.attempt_started_at or order.created_at)
        if last_activity >= cutoff or order.attempt_state == SUCCEEDED:
            continue
        if order.attempt_state == IN_FLIGHT and order.attempt_started_at and now - order.attempt_started_at < ATTEMPT_LEASE:
            continue
        if order.attempt_state == REQUIRES_ACTION and order.payment_intent_id:
            try:
                await _release_stuck_authentication(order, gateway_factory())
            except StripeUnavailable:
                continue
        async with db.transaction():
            order = await _lock_order(order.id)
            if order.status not in PAYABLE or order.attempt_state in (SUCCEEDED, REQUIRES_ACTION):
                continue
            await Order.update({Order.status: ABANDONED, Order.updated_at: now,
                                Order.failure_message: order.failure_message or "Not paid within 24 hours."}).where(
                Order.id == order.id)
            if order.kind == "posting" and order.listing:
                listing = await Listing.objects().where(Listing.id == order.listing).first()
                if listing is not None and listing.status == listings.AWAITING:
                    await listings.transition(listing.id, listings.DRAFT, actor_kind="system",
                                              reason=f"order {order.id} not paid within 24 hours")
        released.append(order.id)
    return released


# ---- reconcile ------------------------------------------------------------------------------------


async def reconcile(gateway: StripeGateway, settings: Settings, *, since_hours: float = 72,
                    now: dt.datetime | None = None) -> list[str]:
    """Repair orders paid in Stripe but not here (a webhook that never arrived); returns one line per change."""
    now = now or clock.now()
    created_after = int((now - dt.timedelta(hours=since_hours)).timestamp())
    changes: list[str] = []
    async for pi in gateway.payment_intents_since(created_after):
        if pi.get("status") != "succeeded":
            continue
        raw = (pi.get("metadata") or {}).get("order_id")
        if not raw or not str(raw).isdigit():
            continue
        order = await Order.objects().where(Order.id == int(raw)).first()
        if order is None or STATUS_RANK[order.status] >= STATUS_RANK[PAID]:
            continue
        employer = await Employer.objects().get(Employer.id == order.employer)
        if object_id(pi.get("customer")) != employer.stripe_customer_id:
            continue  # not this organisation's payment (e.g. another database's order with the same id)
        before = order.status
        # Recorded like an event (one id per PaymentIntent), so two reconcile runs cannot apply it twice.
        result = await handle_event({"id": f"reconcile:{pi['id']}", "type": "payment_intent.succeeded",
                                     "data": {"object": pi}}, settings)
        if result.startswith("paid"):
            changes.append(f"order {order.id}: {before} -> paid (PaymentIntent {pi['id']}, "
                           f"{money(int(pi.get('amount') or 0), str(pi.get('currency') or 'usd'))})")
    return changes


# ---- mail ---------------------------------------------------------------------------------------


async def _employer_emails(order: Order) -> list[str]:
    if order.created_by:
        user = await User.objects().where(User.id == order.created_by).first()
        if user is not None:
            return [user.email]
    rows = await EmployerMember.select(EmployerMember.user.email.as_alias("email")).where(
        (EmployerMember.employer == order.employer) & (EmployerMember.role == "owner")
    )
    return [r["email"] for r in rows]


async def _mail_employer(order: Order, subject: str, text: str) -> None:
    for email in await _employer_emails(order):
        await mail.queue_mail(email, subject, text)


async def _mail_admins(subject: str, text: str) -> None:
    rows = await User.select(User.email).where(User.role == "admin")
    for row in rows:
        await mail.queue_mail(row["email"], subject, text)


async def dashboard_figures(now: dt.datetime) -> dict[str, int]:
    """The admin dashboard's panel: revenue of the orders paid since the first of this month (UTC).

    Refunded or disputed orders do not count.
    """
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rows = await Order.select(Order.amount_cents).where((Order.status == OrderStatus.PAID) & (Order.paid_at >= start))
    return {"revenue_month_cents": sum(r["amount_cents"] or 0 for r in rows)}
