"""The Stripe calls billing makes, through stripe-python's async methods on one httpx client per event loop.

`StripeGateway(settings)` wraps a `stripe.StripeClient`: with `STRIPE_API_BASE`
set it talks to the local emulator (localstripe), otherwise to Stripe. Every
method returns plain dicts (stripe-python 16 objects are not dicts). There is no
module-level client: services receive a gateway as an argument. Calls never hop
to a thread: `stripe.HTTPXClient` makes them on the caller's event loop.

Billing knows the emulator only as configuration (its address); the helpers that
drive it like a browser would live in `careers/stripe_emulator.py` (development and tests).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

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


class HTTPXClient(stripe.HTTPXClient):
    """stripe's httpx client, sending the form body as `content=`: httpx 0.28 deprecates the `data=<str>` it uses."""

    def _get_request_args_kwargs(self, method, url, headers, post_data):
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        kwargs["content"] = kwargs.pop("data", None) or None
        return args, kwargs


# One HTTPXClient (an httpx.AsyncClient inside) per event loop: its connections belong to that loop.
_http_clients: dict[asyncio.AbstractEventLoop, HTTPXClient] = {}


def _http_client() -> HTTPXClient:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # built outside a loop (a sync caller): a client of its own
        return HTTPXClient(timeout=TIMEOUT_SECONDS)
    client = _http_clients.get(loop)
    if client is None:
        for stale in [other for other in _http_clients if other.is_closed()]:
            _http_clients.pop(stale, None)
        client = _http_clients[loop] = HTTPXClient(timeout=TIMEOUT_SECONDS)
    return client


async def close_http() -> None:
    """Close this event loop's Stripe connections (app and worker shutdown)."""
    client = _http_clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.close_async()


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
        http_client=_http_client(),
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
        """Await one `*_async` method; card refusals become CardDeclined, every other Stripe error StripeUnavailable."""
        try:
            result = await fn(*args, **kwargs)
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
        return await self._run(self.client.v1.customers.create_async, params,
                               {"idempotency_key": f"employer-{employer_id}-customer"})

    async def create_setup_intent(self, *, customer: str, order_id: int) -> dict:
        return await self._run(self.client.v1.setup_intents.create_async,
                               {"customer": customer, "usage": "off_session", "metadata": {"order_id": str(order_id)}})

    async def retrieve_setup_intent(self, setup_intent_id: str) -> dict:
        return await self._run(self.client.v1.setup_intents.retrieve_async, setup_intent_id)

    async def retrieve_payment_method(self, payment_method_id: str) -> dict:
        return await self._run(self.client.v1.payment_methods.retrieve_async, payment_method_id)

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
        return await self._run(self.client.v1.payment_intents.create_async, params,
                               {"idempotency_key": f"order-{order_id}-attempt-{attempt}"})

    async def retrieve_payment_intent(self, payment_intent_id: str) -> dict:
        return await self._run(self.client.v1.payment_intents.retrieve_async, payment_intent_id)

    async def cancel_payment_intent(self, payment_intent_id: str) -> dict:
        return await self._run(self.client.v1.payment_intents.cancel_async, payment_intent_id)

    async def retrieve_charge(self, charge_id: str) -> dict:
        return await self._run(self.client.v1.charges.retrieve_async, charge_id)

    async def refund(self, *, payment_intent_id: str, order_id: int, reason: str) -> dict:
        """A full refund. Our reason goes in metadata: the emulator rejects Stripe's own `reason` parameter."""
        params = {"payment_intent": payment_intent_id,
                  "metadata": {"order_id": str(order_id), "reason": reason[:450]}}
        return await self._run(self.client.v1.refunds.create_async, params, {"idempotency_key": f"order-{order_id}-refund"})

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
            page = await self._run(self.client.v1.payment_intents.list_async, params)
            items = page.get("data") or []
            for item in items:
                if int(item.get("created") or 0) >= created_after:
                    yield item
            if not page.get("has_more") or not items:
                return
            starting_after = items[-1]["id"]
