"""Billing pages: choose a plan, pay (Stripe.js saves the card, the server charges it), order status,
the employer's billing page and receipts, the Stripe webhook, and the admins' orders, refunds and plans.

Payment pages carry opt={"stripe": True} so the CSP allows the configured Stripe.js origin there only.
"""

from __future__ import annotations

import json
import logging

import stripe
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, RawBody
from litestar.response import Redirect, Template

from billing import service
from billing.stripe_client import StripeGateway, StripeUnavailable
from billing.tables import Order, Plan
from careers.accounts.auth import AdminPages, requires_role
from careers.core import ratelimit
from careers.core.config import Settings
from careers.core.errors import back_to
from careers.core.web import form_str, read_form, redirect, render
from employers.dependencies import current_employer
from employers.tables import Employer
from listings import pay_transparency
from listings import service as listings
from listings.tables import Listing

log = logging.getLogger("careers.billing")

SIGNATURE_TOLERANCE_SECONDS = 300


def gateway_for(settings: Settings) -> StripeGateway:
    """A Stripe gateway built from the app's settings for this request (no module-level client); built inside the
    handlers' try blocks because a missing key raises StripeUnavailable, which each page answers its own way."""
    return StripeGateway(settings)


def publishable_key(settings) -> str:
    if settings.stripe_publishable_key:
        return settings.stripe_publishable_key
    return "pk_test_localstripe" if settings.stripe_mode == "emulator" else ""


async def _own_listing(request: Request, listing_id: int) -> tuple[Employer, Listing]:
    employer = await current_employer(request)
    listing = await Listing.objects().where((Listing.id == listing_id) & (Listing.employer == employer.id)).first()
    if listing is None:
        raise NotFoundException()
    return employer, listing


async def _own_order(request: Request, order_id: int) -> tuple[Employer, Order]:
    employer = await current_employer(request)
    order = await service.order_for_employer(order_id, employer.id)
    if order is None:
        raise NotFoundException()
    return employer, order


def listing_url(listing: Listing | dict | None) -> str | None:
    if listing is None:
        return None
    get_ = listing.get if isinstance(listing, dict) else lambda k: getattr(listing, k)
    return f"/jobs/{get_('id')}/{get_('slug') or 'job'}"


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


BACK_TO_PUBLISH = back_to("/employer/listings/{listing_id}/publish", not_found_too=True)


class PublishController(Controller):
    """/employer/listings/{id}/publish (choose a plan or spend a credit), renewals, featured upgrades, packs."""

    path = "/employer"
    include_in_schema = False
    guards = [requires_role("employer")]

    async def _publish_context(self, request: Request, employer: Employer, listing: Listing) -> dict:
        postings = await service.list_plans("posting")
        featured = (await service.list_plans("featured") or [None])[0]
        renewals = await service.list_plans("renewal")
        credits = await service.available_credits(employer.id)
        return {
            "listing": listing,
            "employer": employer,
            "postings": [(p, service.money(p.price_cents)) for p in postings],
            "featured_plan": featured,
            "featured_price": service.money(featured.price_cents) if featured else None,
            "renewals": [(p, service.money(p.price_cents)) for p in renewals],
            "credits_left": sum(c.remaining for c in credits),
            "next_credit_expiry": credits[0].expires_at if credits else None,
            "open_order": await service.open_order_for_listing(listing.id) if listing.status == listings.AWAITING else None,
            "state_label": listings.STATE_LABELS.get(listing.status, listing.status),
            # Shown before the employer pays: what the pay-transparency laws of the job's states still ask.
            "pay_transparency": pay_transparency.check_listing(listing, await listings.listing_details(listing.id)),
            "errors": {},
            "form": {},
        }

    @get("/listings/{listing_id:int}/publish")
    async def publish_page(self, request: Request, listing_id: FromPath[int]) -> Template:
        employer, listing = await _own_listing(request, listing_id)
        return render(request, "billing/publish.html", await self._publish_context(request, employer, listing))

    @post("/listings/{listing_id:int}/publish")
    async def publish(self, request: Request, listing_id: FromPath[int]) -> Template | Redirect:
        employer, listing = await _own_listing(request, listing_id)
        if not request.user.email_confirmed:
            return redirect(request, f"/employer/listings/{listing_id}/publish",
                            "Confirm your email address before paying for a listing.", "error")
        form = await read_form(request)
        choice = form_str(form, "plan", 40)
        try:
            if choice == "credit":
                updated = await service.publish_with_credit(employer.id, request.user.id, listing_id)
                message = ("Your listing is live." if updated.status == listings.PUBLISHED
                           else "Your listing is in review; we publish it after a check.")
                return redirect(request, "/employer/billing", f"One pack credit used. {message}", "success")
            order = await service.start_listing_order(employer.id, request.user.id, listing_id, choice,
                                                      featured=form_str(form, "featured", 5) in ("1", "on", "yes"))
        except (service.BillingError, listings.ListingError) as exc:
            context = await self._publish_context(request, employer, await Listing.objects().get(Listing.id == listing_id))
            context["errors"] = {getattr(exc, "field", None) or "__all__": exc.message}
            context["form"] = {"plan": choice}
            return render(request, "billing/publish.html", context, status_code=400)
        return redirect(request, f"/billing/orders/{order.id}/pay")

    @post("/listings/{listing_id:int}/renew", opt=BACK_TO_PUBLISH)
    async def renew(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        return await self._upgrade(request, listing_id)

    @post("/listings/{listing_id:int}/feature", opt=BACK_TO_PUBLISH)
    async def feature(self, request: Request, listing_id: FromPath[int]) -> Redirect:
        return await self._upgrade(request, listing_id, "featured")

    async def _upgrade(self, request: Request, listing_id: int, plan_code: str | None = None) -> Redirect:
        employer, _ = await _own_listing(request, listing_id)
        if not request.user.email_confirmed:
            return redirect(request, f"/employer/listings/{listing_id}/publish",
                            "Confirm your email address before paying.", "error")
        form = await read_form(request)
        order = await service.start_listing_upgrade(employer.id, request.user.id, listing_id,
                                                    plan_code or form_str(form, "plan", 40))
        return redirect(request, f"/billing/orders/{order.id}/pay")

    @get("/billing")
    async def billing_page(self, request: Request) -> Template:
        employer = await current_employer(request)
        orders = await service.orders_for_employer(employer.id)
        for row in orders:
            row["listing_url"] = listing_url({"id": row["listing"], "slug": row["listing_slug"]}) if row["listing"] else None
        return render(request, "billing/employer_billing.html", {
            "employer": employer,
            "orders": orders,
            "credits": await service.credits_for_page(employer.id),
            "card": await service.saved_card(employer.id),
        })

    @get("/billing/packs")
    async def packs_page(self, request: Request) -> Template:
        packs = await service.list_plans("pack")
        standard = await Plan.objects().where(Plan.code == "standard_30").first()
        return render(request, "billing/packs.html", {
            "packs": [(p, service.money(p.price_cents)) for p in packs],
            "standard_price": service.money(standard.price_cents) if standard else None,
        })

    @post("/billing/packs", opt=back_to("/employer/billing/packs"))
    async def buy_pack(self, request: Request) -> Redirect:
        employer = await current_employer(request)
        if not request.user.email_confirmed:
            return redirect(request, "/employer/billing/packs", "Confirm your email address before paying.", "error")
        form = await read_form(request)
        order = await service.start_pack_order(employer.id, request.user.id, form_str(form, "plan", 40))
        return redirect(request, f"/billing/orders/{order.id}/pay")

    @get("/billing/receipts/{order_id:int}")
    async def receipt(self, request: Request, order_id: FromPath[int]) -> Template:
        employer = await current_employer(request)
        data = await service.receipt(order_id, employer.id)
        if data is None:
            raise NotFoundException()
        return render(request, "billing/receipt.html", data)


class PaymentController(Controller):
    """Paying one order: the card form (Stripe.js), the server-side charge, and the status page."""

    path = "/billing/orders"
    include_in_schema = False
    guards = [requires_role("employer")]

    @get("/{order_id:int}/pay", opt={"stripe": True})
    async def pay_page(self, request: Request, settings: NamedDependency[Settings],
                       order_id: FromPath[int]) -> Template | Redirect:
        employer, order = await _own_order(request, order_id)
        if not service.is_payable(order):
            return redirect(request, f"/billing/orders/{order_id}")
        gateway = gateway_for(settings)
        action_secret = None
        # A GET creates nothing at Stripe: the card form asks POST …/setup for its SetupIntent when it is sent.
        try:
            if order.attempt_state == service.REQUIRES_ACTION and order.payment_intent_id:
                pi = await gateway.retrieve_payment_intent(order.payment_intent_id)
                if pi.get("status") == "requires_action":
                    action_secret = pi.get("client_secret")
        except StripeUnavailable:
            log.exception("pay page for order %s: Stripe unavailable", order_id)
            return render(request, "billing/pay.html", {"order": order, "unavailable": True,
                                                        "amount": service.money(order.amount_cents)}, status_code=503)
        return render(request, "billing/pay.html", {
            "order": order,
            "amount": service.money(order.amount_cents, order.currency),
            "card": await service.saved_card(employer.id),
            "client_secret": "",
            "publishable_key": publishable_key(settings),
            "action_secret": action_secret,
            "unavailable": False,
        })

    @post("/{order_id:int}/setup", status_code=200)
    async def new_setup_intent(self, request: Request, settings: NamedDependency[Settings],
                               order_id: FromPath[int]) -> Response:
        """The SetupIntent (and, the first time, the organisation's Customer) for the card form, made when the
        form is sent (the page asks with fetch); a fresh one after a decline."""
        _, order = await _own_order(request, order_id)
        if not service.is_payable(order):
            return Response({"error": "This order cannot be paid now."}, status_code=409)
        await Order.update({Order.setup_intent_id: None}).where(Order.id == order.id)
        order.setup_intent_id = None
        try:
            prepared = await service.prepare_payment(order, request.user.email, gateway_for(settings))
        except StripeUnavailable:
            return Response({"error": "We could not reach the payment service. Try again in a minute."}, status_code=503)
        return Response({"client_secret": prepared["setup_intent"]["client_secret"]})

    @post("/{order_id:int}/charge", status_code=200)
    async def charge(self, request: Request, settings: NamedDependency[Settings],
                     order_id: FromPath[int]) -> Response | Redirect:
        employer, order = await _own_order(request, order_id)
        form = await read_form(request)
        status_url = f"/billing/orders/{order_id}"
        try:
            await ratelimit.hit("billing-charge", str(request.user.id), settings.post_rate)
            result = await service.charge_order(
                order_id, employer.id, gateway_for(settings),
                setup_intent_id=form_str(form, "setup_intent", 100) or None,
                use_saved_card=form_str(form, "use_saved_card", 5) == "1",
            )
        except ratelimit.RateLimited as exc:
            result = service.ChargeResult("failed", str(exc))
        except service.BillingError as exc:
            result = service.ChargeResult("failed", exc.message)
        except StripeUnavailable:
            result = service.ChargeResult("failed", "We could not reach the payment service. Try again in a minute.")
        if _wants_json(request):
            return Response({"state": result.state, "message": result.message, "client_secret": result.client_secret,
                             "redirect": status_url})
        if result.state == "failed":
            return redirect(request, f"/billing/orders/{order_id}/pay", result.message, "error")
        if result.state == "requires_action":
            return redirect(request, f"/billing/orders/{order_id}/pay",
                            "Your bank asks you to confirm this payment: choose “Confirm with your bank”.")
        return redirect(request, status_url)

    @get("/{order_id:int}")
    async def status_page(self, request: Request, settings: NamedDependency[Settings],
                          order_id: FromPath[int]) -> Template:
        _, order = await _own_order(request, order_id)
        try:
            order = await service.refresh_attempt(order, gateway_for(settings))
        except StripeUnavailable:
            pass
        listing = await Listing.objects().where(Listing.id == order.listing).first() if order.listing else None
        waiting = order.status == service.PENDING and order.attempt_state in (service.SUCCEEDED, service.IN_FLIGHT)
        return render(request, "billing/order_status.html", {
            "order": order,
            "amount": service.money(order.amount_cents, order.currency),
            "status_label": service.STATUS_LABELS.get(order.status, order.status),
            "listing": listing,
            "listing_url": listing_url(listing) if listing is not None and listings.is_public(listing) else None,
            "listing_state": listings.STATE_LABELS.get(listing.status, listing.status) if listing else None,
            "waiting": waiting,
            "payable": service.is_payable(order),
        })


@post("/billing/stripe/webhook", include_in_schema=False, exclude_from_auth=True, status_code=200)
async def stripe_webhook(request: Request, settings: NamedDependency[Settings], body: RawBody) -> Response:
    """Stripe's events: the signature is checked on the raw body; each event id is applied once."""
    header = request.headers.get("stripe-signature")
    if not settings.stripe_webhook_secret or not header:
        return Response({"error": "missing signature"}, status_code=400)
    try:
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), header, settings.stripe_webhook_secret,
                                              tolerance=SIGNATURE_TOLERANCE_SECONDS)
        event = json.loads(body)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        return Response({"error": "bad signature"}, status_code=400)
    if not isinstance(event, dict):
        return Response({"error": "bad payload"}, status_code=400)
    result = await service.handle_event(event, settings)
    return Response({"received": True, "result": result})


class AdminBillingController(AdminPages):
    path = "/admin"

    @get("/orders")
    async def orders(self, request: Request) -> Template:
        status = request.query_params.get("status") or None
        if status not in service.STATUS_LABELS:
            status = None
        return render(request, "billing/admin_orders.html", {
            "orders": await service.all_orders(status=status), "status": status,
            "statuses": service.STATUS_LABELS,
        })

    @post("/orders/{order_id:int}/refund", opt=back_to("/admin/orders", "Order {order_id}: "))
    async def refund(self, request: Request, settings: NamedDependency[Settings], order_id: FromPath[int]) -> Redirect:
        form = await read_form(request)
        order = await service.refund_order(order_id, form_str(form, "reason", 2000), gateway_for(settings),
                                           actor_kind="admin", actor_id=request.user.id)
        return redirect(request, "/admin/orders", f"Order {order.id} refunded ({service.money(order.amount_cents)}).",
                        "success")

    @get("/plans")
    async def plans(self, request: Request) -> Template:
        return await self._plans_page(request)

    async def _plans_page(self, request: Request, errors: dict[int, str] | None = None,
                          kept: dict[int, str] | None = None, status_code: int = 200) -> Template:
        plans = await service.list_plans(active_only=False)
        kept = kept or {}
        return render(request, "billing/admin_plans.html", {
            "plans": [(p, kept.get(p.id, "%d.%02d" % divmod(p.price_cents, 100))) for p in plans],
            "errors": errors or {},
        }, status_code=status_code)

    @post("/plans/{plan_id:int}")
    async def update_plan(self, request: Request, plan_id: FromPath[int]) -> Template | Redirect:
        form = await read_form(request)
        plan = await Plan.objects().where(Plan.id == plan_id).first()
        if plan is None:
            raise NotFoundException()
        price = form_str(form, "price", 20)
        try:
            await service.update_plan(plan_id, price_cents=service.parse_dollars(price),
                                      active=form_str(form, "active", 5) in ("1", "on"), admin=request.user)
        except service.BillingError as exc:
            # Inline, next to the price the admin typed, which is kept.
            return await self._plans_page(request, {plan_id: exc.message}, {plan_id: price}, status_code=400)
        return redirect(request, "/admin/plans", f"{plan.name} saved. Orders already made keep their amount.", "success")


ROUTES = [PublishController, PaymentController, stripe_webhook, AdminBillingController]
