"""Billing: plans and prices, orders, pack credits, saved cards and the Stripe events we have seen.

Money is integer cents in USD. An order's amount is computed on the server from
its plan when the order is created; nothing from the browser sets it.
"""

import enum

from piccolo.columns import Boolean, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.base import OnDelete
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from careers.accounts.tables import User
from employers.tables import Employer
from listings.tables import Listing


class Plan(Table, tablename="plans"):
    """Something an employer can buy. Seeded by a migration; admins edit prices at /admin/plans."""

    id = Serial(primary_key=True)
    code = Varchar(length=32, unique=True)  # standard_30, standard_60, featured, renewal_30, renewal_60, pack_3, ...
    kind = Varchar(length=16, index=True)  # posting, featured, renewal, pack
    name = Varchar(length=100)
    price_cents = Integer()
    currency = Varchar(length=3, default="usd")
    duration_days = Integer(default=0)  # posting and renewal: days live; pack: days of each credited posting
    credits = Integer(default=0)  # pack: postings in the pack
    discount_percent = Integer(default=0)  # shown next to packs and renewals; the price is price_cents
    active = Boolean(default=True)
    sort_order = Integer(default=0)


class OrderStatus(enum.StrEnum):
    """An order's status; it only moves forward (pending -> paid -> refunded/disputed), except that a failed
    attempt may be retried (failed -> pending) and an unpaid order is released after 24 hours (abandoned)."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    ABANDONED = "abandoned"


class Order(Table, tablename="orders"):
    """One purchase (OrderStatus)."""

    id = Serial(primary_key=True)
    employer = ForeignKey(references=Employer, index=True, on_delete=OnDelete.restrict)
    created_by = ForeignKey(references=User, null=True, on_delete=OnDelete.set_null)
    kind = Varchar(length=16)  # posting, featured, renewal, pack (the plan's kind)
    plan = ForeignKey(references=Plan, on_delete=OnDelete.restrict)
    featured = Boolean(default=False)  # a posting bought with the featured upgrade
    listing = ForeignKey(references=Listing, null=True, index=True, on_delete=OnDelete.set_null)
    description = Varchar(length=300, default="")
    amount_cents = Integer()
    currency = Varchar(length=3, default="usd")
    status = Varchar(length=16, default=OrderStatus.PENDING, index=True, choices=OrderStatus)
    payment_intent_id = Varchar(length=100, null=True, default=None, index=True)
    setup_intent_id = Varchar(length=100, null=True, default=None)
    attempts = Integer(default=0)  # payment attempts so far; attempt n uses idempotency key order-<id>-attempt-<n>
    attempt_state = Varchar(length=20, default="")  # "", in_flight, requires_action, succeeded, failed
    attempt_started_at = Timestamptz(null=True, default=None)
    failure_message = Text(default="")
    card_last4 = Varchar(length=4, default="")
    refund_id = Varchar(length=100, null=True, default=None)
    refund_reason = Text(default="")
    refund_started_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    paid_at = Timestamptz(null=True, default=None)
    failed_at = Timestamptz(null=True, default=None)
    refunded_at = Timestamptz(null=True, default=None)
    disputed_at = Timestamptz(null=True, default=None)


class Credit(Table, tablename="credits"):
    """Postings bought in a pack: spent soonest-expiring first, one atomic decrement at a time."""

    id = Serial(primary_key=True)
    employer = ForeignKey(references=Employer, index=True, on_delete=OnDelete.restrict)
    purchase = ForeignKey(references=Order, null=True, unique=True, on_delete=OnDelete.set_null)
    total = Integer()
    remaining = Integer()
    duration_days = Integer(default=30)
    expires_at = Timestamptz(index=True)
    created_at = Timestamptz(default=TimestamptzNow())


class CreditUse(Table, tablename="credit_uses"):
    """One posting paid with a pack credit."""

    id = Serial(primary_key=True)
    credit = ForeignKey(references=Credit, index=True, on_delete=OnDelete.restrict)
    listing = ForeignKey(references=Listing, null=True, on_delete=OnDelete.set_null)
    created_at = Timestamptz(default=TimestamptzNow())


class SavedCard(Table, tablename="saved_cards"):
    """The card an employer organisation saved through a SetupIntent; it pays renewals and later orders."""

    id = Serial(primary_key=True)
    employer = ForeignKey(references=Employer, unique=True, on_delete=OnDelete.cascade)
    payment_method_id = Varchar(length=100)
    brand = Varchar(length=20, default="")
    last4 = Varchar(length=4, default="")
    exp_month = Integer(default=0)
    exp_year = Integer(default=0)
    updated_at = Timestamptz(default=TimestamptzNow())


class StripeEvent(Table, tablename="stripe_events"):
    """Every webhook event id we accepted, stored once (unique): a replay finds its row and changes nothing."""

    id = Serial(primary_key=True)
    event_id = Varchar(length=100, unique=True)
    type = Varchar(length=100)
    purchase = ForeignKey(references=Order, null=True, index=True, on_delete=OnDelete.set_null)
    result = Text(default="")
    received_at = Timestamptz(default=TimestamptzNow())
