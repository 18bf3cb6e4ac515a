"""Shared helpers for the moderation and admin tests (no tests here).

Listings are written straight into the tables and moved through the real lifecycle
(`listings.service.transition`), so these tests do not depend on the posting forms.
"""

from __future__ import annotations

import datetime as dt

import httpx

from careers.accounts.tables import User
from employers.tables import Employer
from listings.tables import Listing
from tests import factories
from tests.conftest import register_employer

CODING_DESCRIPTION = (
    "Remote outpatient coder reviewing physician documentation and assigning ICD-10-CM and CPT codes for "
    "evaluation and management visits across our multi-specialty clinics. Two years of profee coding experience "
    "and a current CPC are required; we offer full benefits, a coding productivity bonus and paid CEUs."
)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


async def make_employer(browser, email: str, org: str, website: str, *, days_old: int = 0,
                        verified: bool = False) -> Employer:
    """An employer registered through the site (its owner is logged in on `browser`), optionally back-dated."""
    await register_employer(browser, email, org=org, website=website)
    employer = await Employer.objects().get(Employer.name == org)
    changes = {}
    if days_old:
        changes[Employer.created_at] = utcnow() - dt.timedelta(days=days_old)
    if verified:
        changes[Employer.verified] = True
    if changes:
        await Employer.update(changes).where(Employer.id == employer.id)
    return await Employer.objects().get(Employer.id == employer.id)


async def make_listing(employer: Employer, *, title: str = "Remote Outpatient Coder", description: str = CODING_DESCRIPTION,
                       status: str = "published", credentials: tuple[str, ...] = ("CPC",),
                       created_by_email: str | None = None, **options) -> Listing:
    """A remote listing of `employer` moved by the employer through the real lifecycle to `status`."""
    created_by = None
    if created_by_email:
        created_by = (await User.select(User.id).where(User.email == created_by_email).first())["id"]
    job = {"work_mode": "remote", "pay": (28, 34, "hour"), "zip_code": "", "city": "", "state": ""}
    return await factories.make_listing(employer, title, description=description, status=status, required=credentials,
                                        created_by=created_by, actor_kind="employer", **(job | options))


async def search_document(settings, listing_id: int) -> dict | None:
    """The listing's document in the Meilisearch index, or None if it has none."""
    async with httpx.AsyncClient(base_url=settings.meili_url, timeout=10,
                                 headers={"Authorization": f"Bearer {settings.meili_master_key}"}) as client:
        response = await client.get(f"/indexes/{settings.meili_index}/documents/{listing_id}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()


def search_is_wired() -> bool:
    """True once the search domain handles the search-outbox rows (its worker handler exists)."""
    from careers.core import outbox
    from careers.worker import default_handlers

    return outbox.SEARCH_SYNC in default_handlers()


async def search_sync_rows(listing_id: int) -> list[dict]:
    from careers.core import outbox
    from careers.core.tables import OutboxRow

    rows = await OutboxRow.select().where(OutboxRow.kind == outbox.SEARCH_SYNC).output(load_json=True)
    return [r for r in rows if r["payload"].get("listing_id") == listing_id]


def billing_refunds_wired() -> bool:
    from careers.worker import default_handlers

    return "billing.refund_listing" in default_handlers()


async def make_paid_order(settings, employer: Employer, listing: Listing) -> int:
    """A posting order really paid on the Stripe emulator (saved test card, confirmed PaymentIntent)."""
    import anyio

    from billing.stripe_client import StripeGateway
    from careers.stripe_emulator import emulator_confirm_card_setup
    from billing.tables import Order, Plan

    plan = await Plan.objects().where(Plan.kind == "posting").first()
    gateway = StripeGateway(settings)
    customer = await gateway.create_customer(name=employer.name, email="", employer_id=employer.id)
    order = Order(employer=employer.id, kind="posting", plan=plan.id, listing=listing.id, amount_cents=plan.price_cents,
                  status="pending", description=plan.name)
    await order.save()
    setup = await gateway.create_setup_intent(customer=customer["id"], order_id=order.id)
    confirmed = await anyio.to_thread.run_sync(emulator_confirm_card_setup, settings, setup, "4242424242424242")
    assert confirmed.status_code == 200, confirmed.text
    method = (await gateway.retrieve_setup_intent(setup["id"]))["payment_method"]
    intent = await gateway.create_and_confirm_payment(order_id=order.id, attempt=1, amount_cents=plan.price_cents,
                                                      currency="usd", customer=customer["id"], payment_method=method)
    assert intent["status"] == "succeeded", intent
    await Order.update({Order.status: "paid", Order.payment_intent_id: intent["id"], Order.paid_at: utcnow(),
                        Order.attempts: 1}).where(Order.id == order.id)
    return order.id
