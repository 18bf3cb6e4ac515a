"""Our launcher for localstripe (the local Stripe emulator) and helpers that drive it; development and tests only.

localstripe binds every interface and pickles its state to /tmp/localstripe.pickle
on every write. This launcher binds 127.0.0.1 only and keeps the state in the file
we name (the data dir) or in memory (tests). Run: python -m careers.stripe_emulator
--port N [--state FILE | --memory]. It refuses to start beside a live Stripe key.
localstripe itself is imported only inside main(): it is a development extra
(`pip install -e '.[dev]'`), absent from production installs.
"""

from __future__ import annotations

import argparse
import logging
import os
import pickle
import socket
import sys

import httpx

from billing.stripe_client import LiveKeyRefused, refuse_live_key
from careers.core.config import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="careers.stripe_emulator")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--state", help="file that keeps the emulator's state between runs")
    group.add_argument("--memory", action="store_true", help="keep state in memory only")
    args = parser.parse_args(argv)
    if os.environ.get("STRIPE_SECRET_KEY", "").startswith("sk_live_"):
        sys.exit("Refusing to start the Stripe emulator: STRIPE_SECRET_KEY is a live key.")
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        sys.exit("The Stripe emulator binds loopback only.")

    from aiohttp import web

    try:
        from localstripe import resources, server
    except ModuleNotFoundError:
        sys.exit("The Stripe emulator needs localstripe, a development extra: pip install -e '.[dev]' "
                 "(or set STRIPE_SECRET_KEY to use Stripe).")

    store_cls = resources.Store
    if args.memory:
        store_cls.try_load_from_disk = lambda self: None
        store_cls.dump_to_disk = lambda self: None
    else:
        path = args.state

        def load(self) -> None:
            try:
                with open(path, "rb") as fh:
                    old = pickle.load(fh)
            except FileNotFoundError:
                return
            self.clear()
            dict.update(self, old)

        def dump(self) -> None:
            tmp = path + ".tmp"
            with open(tmp, "wb") as fh:
                pickle.dump(dict(self), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)

        store_cls.try_load_from_disk = load
        store_cls.dump_to_disk = dump
        resources.store.try_load_from_disk()

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    logging.basicConfig(level=logging.INFO)
    web.run_app(server.app, sock=sock, print=None, handle_signals=True)



# ---- driving the emulator like Stripe.js would (development and tests) ------------------------


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


if __name__ == "__main__":
    main()
