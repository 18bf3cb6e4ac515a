"""The Stripe calls billing makes, built from settings per use and run in a worker thread.

`StripeGateway(settings)` wraps one `stripe.StripeClient`: with `STRIPE_API_BASE`
set it talks to the local emulator (localstripe), otherwise to Stripe. Every
method returns plain dicts (stripe-python 16 objects are not dicts). There is no
module-level client: services receive a gateway as an argument.

Anything that exists only for the emulator refuses to run with a live key.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import stripe

from careers.core.config import Settings

TIMEOUT_SECONDS = 30


class StripeUnavailable(Exception):
    """Stripe (or the emulator) could not be reached or answered with an error we cannot show as a card problem."""


class CardDeclined(Exception):
    """The card was refused; `message` is fit to show the employer. `payment_intent_id` when Stripe made one."""

    def __init__(self, message: str, *, code: str = "", payment_intent_id: str | None = None,
                 charge_id: str | None = None) -> None:
        self.message = message
        self.code = code
        self.payment_intent_id = payment_intent_id
        self.charge_id = charge_id
        super().__init__(message)


class LiveKeyRefused(RuntimeError):
    """Emulator-only code was asked to run with a live Stripe key."""


def refuse_live_key(settings: Settings, what: str) -> None:
    if settings.stripe_secret_key.startswith("sk_live_"):
        raise LiveKeyRefused(f"{what} exists only for the Stripe emulator and refuses to run with a live key.")


def make_client(settings: Settings) -> stripe.StripeClient:
    """A StripeClient for these settings; `base_addresses` points at the emulator when STRIPE_API_BASE is set."""
    if not settings.stripe_secret_key:
        raise StripeUnavailable("STRIPE_SECRET_KEY is not set.")
    kwargs: dict[str, Any] = {}
    if settings.stripe_api_base:
        refuse_live_key(settings, "STRIPE_API_BASE (the emulator address)")
        kwargs["base_addresses"] = {"api": settings.stripe_api_base.rstrip("/")}
    return stripe.StripeClient(
        settings.stripe_secret_key,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
        max_network_retries=2,  # safe: every create carries an idempotency key derived from our ids
        **kwargs,
    )


def friendly_card_message(code: str, message: str) -> str:
    """Stripe's decline in words an employer understands, with what to do next."""
    if code in ("card_declined", "generic_decline", "do_not_honor"):
        return "Your card was declined. Try another card or contact your bank."
    if code == "insufficient_funds":
        return "Your card has insufficient funds. Try another card."
    if code in ("expired_card", "invalid_expiry_year", "invalid_expiry_month"):
        return "Your card has expired or its expiry date is wrong. Check it or use another card."
    if code in ("incorrect_cvc", "invalid_cvc"):
        return "The card's security code (CVC) is wrong."
    if code in ("payment_intent_authentication_failure", "authentication_required"):
        return "Your bank's authentication did not complete. Try again and confirm the payment with your bank."
    return message or "Your card could not be charged. Try another card."


def _card_declined(exc: stripe.CardError) -> CardDeclined:
    error = (exc.json_body or {}).get("error") or {}
    pi = error.get("payment_intent")
    pi_id = pi.get("id") if isinstance(pi, dict) else pi
    return CardDeclined(
        friendly_card_message(error.get("decline_code") or error.get("code") or exc.code or "", exc.user_message or ""),
        code=error.get("code") or "",
        payment_intent_id=pi_id or None,
        charge_id=error.get("charge") or None,
    )


def object_id(value: Any) -> str | None:
    """An expandable field's id, whether Stripe sent the id or (the emulator) the whole object."""
    if isinstance(value, dict):
        return value.get("id")
    return value or None


class StripeGateway:
    """The handful of Stripe operations billing uses."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = make_client(settings)

    async def _run(self, fn, *args, **kwargs) -> dict:
        try:
            result = await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
        except stripe.CardError as exc:
            raise _card_declined(exc) from None
        except stripe.StripeError as exc:
            raise StripeUnavailable(exc.user_message or str(exc)) from exc
        return result.to_dict()

    # ---- customers and saved cards ----------------------------------------------------

    async def create_customer(self, *, name: str, email: str, employer_id: int) -> dict:
        params = {"name": name, "metadata": {"employer_id": str(employer_id)}}
        if email:
            params["email"] = email
        return await self._run(self.client.v1.customers.create, params,
                               {"idempotency_key": f"employer-{employer_id}-customer"})

    async def create_setup_intent(self, *, customer: str, order_id: int) -> dict:
        return await self._run(self.client.v1.setup_intents.create,
                               {"customer": customer, "usage": "off_session", "metadata": {"order_id": str(order_id)}})

    async def retrieve_setup_intent(self, setup_intent_id: str) -> dict:
        return await self._run(self.client.v1.setup_intents.retrieve, setup_intent_id)

    async def retrieve_payment_method(self, payment_method_id: str) -> dict:
        return await self._run(self.client.v1.payment_methods.retrieve, payment_method_id)

    # ---- payments ------------------------------------------------------------------------

    async def create_and_confirm_payment(self, *, order_id: int, attempt: int, amount_cents: int, currency: str,
                                         customer: str, payment_method: str) -> dict:
        """One PaymentIntent for one attempt, created and confirmed in one call (off-session, saved card)."""
        params = {
            "amount": amount_cents,
            "currency": currency,
            "customer": customer,
            "payment_method": payment_method,
            "confirm": True,
            "off_session": True,
            "metadata": {"order_id": str(order_id), "attempt": str(attempt)},
        }
        return await self._run(self.client.v1.payment_intents.create, params,
                               {"idempotency_key": f"order-{order_id}-attempt-{attempt}"})

    async def retrieve_payment_intent(self, payment_intent_id: str) -> dict:
        return await self._run(self.client.v1.payment_intents.retrieve, payment_intent_id)

    async def cancel_payment_intent(self, payment_intent_id: str) -> dict:
        return await self._run(self.client.v1.payment_intents.cancel, payment_intent_id)

    async def retrieve_charge(self, charge_id: str) -> dict:
        return await self._run(self.client.v1.charges.retrieve, charge_id)

    async def refund(self, *, payment_intent_id: str, order_id: int, reason: str) -> dict:
        """A full refund. Our reason goes in metadata: the emulator rejects Stripe's own `reason` parameter."""
        params = {"payment_intent": payment_intent_id,
                  "metadata": {"order_id": str(order_id), "reason": reason[:450]}}
        return await self._run(self.client.v1.refunds.create, params, {"idempotency_key": f"order-{order_id}-refund"})

    async def payment_intents_since(self, created_after: int, *, page_size: int = 100) -> AsyncIterator[dict]:
        """Every PaymentIntent created at or after `created_after` (unix time), page by page.

        The creation time is filtered here: the emulator rejects `created` filters, so against it we page
        through everything; against Stripe we also pass `created[gte]` to keep the pages few.
        """
        starting_after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if starting_after:
                params["starting_after"] = starting_after
            if self.settings.stripe_mode != "emulator":
                params["created"] = {"gte": created_after}
            page = await self._run(self.client.v1.payment_intents.list, params)
            items = page.get("data") or []
            for item in items:
                if int(item.get("created") or 0) >= created_after:
                    yield item
            if not page.get("has_more") or not items:
                return
            starting_after = items[-1]["id"]


# ---- emulator-only helpers (development and tests) -----------------------------------------


def emulator_confirm_card_setup(settings: Settings, setup_intent: dict, number: str, *, exp_month: str = "12",
                                exp_year: str = "2034", cvc: str = "123", postal_code: str = "30301",
                                complete_authentication: bool = True) -> httpx.Response:
    """Confirm a SetupIntent with raw card data the way the emulator's Stripe.js stand-in does.

    Real Stripe never accepts raw card numbers from a server; this exists so HTTP tests (which have no
    browser to run Stripe.js) can save a card. A card needing 3-D Secure is then authenticated (or not).
    """
    refuse_live_key(settings, "emulator_confirm_card_setup")
    if not settings.stripe_api_base:
        raise LiveKeyRefused("emulator_confirm_card_setup needs STRIPE_API_BASE pointing at the emulator.")
    url = f"{settings.stripe_api_base.rstrip('/')}/v1/setup_intents/{setup_intent['id']}"
    key = settings.stripe_publishable_key or "pk_test_emulator"
    body = {
        "key": key,
        "use_stripe_sdk": True,
        "client_secret": setup_intent["client_secret"],
        "payment_method_data": {
            "type": "card",
            "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc},
            "billing_details": {"address": {"postal_code": postal_code}},
        },
    }
    response = httpx.post(url + "/confirm", json=body, timeout=10)
    if response.status_code == 200 and response.json().get("status") == "requires_action":
        action = "confirm" if complete_authentication else "cancel"
        response = httpx.post(f"{url}/{action}", json={"key": key, "use_stripe_sdk": True,
                                                       "client_secret": setup_intent["client_secret"]}, timeout=10)
    return response


def emulator_authenticate_payment(settings: Settings, payment_intent_id: str, client_secret: str,
                                  *, success: bool = True) -> httpx.Response:
    """Complete (or fail) 3-D Secure on a PaymentIntent the way the stand-in's confirmCardPayment does."""
    refuse_live_key(settings, "emulator_authenticate_payment")
    url = (f"{settings.stripe_api_base.rstrip('/')}/v1/payment_intents/{payment_intent_id}/_authenticate"
           f"?success={'true' if success else 'false'}")
    key = settings.stripe_publishable_key or "pk_test_emulator"
    return httpx.post(url, json={"key": key, "client_secret": client_secret}, timeout=10)
