"""Helpers the billing tests share: an employer with a draft, the card step the browser's Stripe.js would do,
and webhook events taken from the real emulator (or shaped like Stripe's) signed with the webhook secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import httpx

from careers.stripe_emulator import emulator_confirm_card_setup
from billing.tables import Order
from careers.core.config import Settings
from employers.tables import Employer
from listings.tables import Listing
from tests import factories
from tests.conftest import Browser, register_employer

GOOD_CARD = "4242424242424242"
DECLINED_AT_SETUP = "4000000000000002"
DECLINED_AT_CHARGE = "4000000000000341"
NEEDS_AUTHENTICATION = "4000002500003155"
WEBHOOK = "/billing/stripe/webhook"


async def employer_with_draft(browser: Browser, email: str = "hr@acmehealth.org", *, org: str = "Acme Health",
                              website: str = "https://acmehealth.org", verified: bool = False,
                              title: str = "Remote Medical Coder (CPC)") -> tuple[Employer, Listing]:
    await register_employer(browser, email, org=org, website=website)
    employer = await Employer.objects().get(Employer.name == org)
    if verified:
        await Employer.update({Employer.verified: True}).where(Employer.id == employer.id)
        employer.verified = True
    listing = await make_listing(employer.id, title)
    return employer, listing


async def make_listing(employer_id: int, title: str = "Remote Medical Coder (CPC)", status: str = "draft",
                       **fields) -> Listing:
    """A listing stored in `status` as it is (a draft by default), ready for the publish step."""
    return await factories.make_listing(employer_id, title, status=status, work_mode="remote", zip_code="", city="",
                                        state="", description="Code outpatient charts.", **fields)


async def start_order(browser: Browser, listing_id: int, plan: str = "standard_30", *, featured: bool = False) -> int:
    data = {"plan": plan}
    if featured:
        data["featured"] = "1"
    response = await browser.submit(f"/employer/listings/{listing_id}/publish", data)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/billing/orders/(\d+)/pay", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def pay_page(browser: Browser, order_id: int) -> httpx.Response:
    page = await browser.get(f"/billing/orders/{order_id}/pay")
    assert page.status_code == 200, page.text
    return page


async def setup_secret(browser: Browser, order_id: int) -> str:
    """What the pay page's script does when the card form is sent: POST …/setup for a SetupIntent's secret."""
    if "cc_csrf" not in browser.cookies:
        await browser.get("/login")
    answer = await browser.post(f"/billing/orders/{order_id}/setup", data={"_csrf_token": browser.cookies.get("cc_csrf")})
    assert answer.status_code == 200, answer.text
    return answer.json()["client_secret"]


def enter_card(settings: Settings, client_secret: str, number: str, **kwargs) -> httpx.Response:
    """What Stripe.js's confirmCardSetup does in the browser, done against the emulator."""
    setup_intent = {"id": client_secret.split("_secret_")[0], "client_secret": client_secret}
    return emulator_confirm_card_setup(settings, setup_intent, number, **kwargs)


async def charge(browser: Browser, order_id: int, setup_intent_id: str | None = None, *, saved: bool = False) -> dict:
    """The page's fetch() to our charge endpoint (JSON answer)."""
    data = {"use_saved_card": "1"} if saved else {"setup_intent": setup_intent_id}
    if "cc_csrf" not in browser.cookies:
        await browser.get("/login")
    data["_csrf_token"] = browser.cookies.get("cc_csrf")
    response = await browser.post(f"/billing/orders/{order_id}/charge", data=data, headers={"Accept": "application/json"})
    assert response.status_code == 200, response.text
    return response.json()


async def pay_with_card(browser: Browser, settings: Settings, order_id: int, number: str = GOOD_CARD) -> dict:
    await pay_page(browser, order_id)
    secret = await setup_secret(browser, order_id)
    saved = enter_card(settings, secret, number)
    assert saved.status_code == 200, saved.text
    return await charge(browser, order_id, secret.split("_secret_")[0])


# ---- webhook events -------------------------------------------------------------------------------


def emulator_get(settings: Settings, path: str, params: dict | None = None) -> dict:
    response = httpx.get(settings.stripe_api_base + path, params=params or {},
                         headers={"Authorization": f"Bearer {settings.stripe_secret_key}"}, timeout=10)
    response.raise_for_status()
    return response.json()


def emulator_events(settings: Settings, event_type: str, object_id: str) -> list[dict]:
    """The events the emulator made (and would have sent to a running server) for one object."""
    found, starting_after = [], None
    while True:
        params = {"type": event_type, "limit": 100}
        if starting_after:
            params["starting_after"] = starting_after
        page = emulator_get(settings, "/v1/events", params)
        found += [e for e in page["data"] if e["data"]["object"].get("id") == object_id]
        if not page["has_more"] or not page["data"]:
            return found
        starting_after = page["data"][-1]["id"]


def emulator_event(settings: Settings, event_type: str, object_id: str) -> dict:
    events = emulator_events(settings, event_type, object_id)
    assert len(events) == 1, f"{len(events)} {event_type} events for {object_id}"
    return events[0]


def shaped_event(event_type: str, obj: dict, event_id: str | None = None) -> dict:
    """An event shaped like Stripe's, for what the emulator never sends (refunds, disputes)."""
    return {"id": event_id or f"evt_test_{event_type.replace('.', '_')}_{obj.get('id')}", "object": "event",
            "type": event_type, "created": int(time.time()), "livemode": False, "api_version": "2024-06-20",
            "data": {"object": obj}}


def signed(event: dict, secret: str = "whsec_test_careers", *, timestamp: int | None = None) -> tuple[bytes, dict]:
    payload = json.dumps(event, indent=2, sort_keys=True).encode()
    t = timestamp or int(time.time())
    signature = hmac.new(secret.encode(), b"%d.%s" % (t, payload), hashlib.sha256).hexdigest()
    return payload, {"Stripe-Signature": f"t={t},v1={signature}", "Content-Type": "application/json; charset=utf-8"}


async def deliver(client: httpx.AsyncClient, event: dict, secret: str = "whsec_test_careers") -> httpx.Response:
    payload, headers = signed(event, secret)
    return await client.post(WEBHOOK, content=payload, headers=headers)


async def deliver_success(client: httpx.AsyncClient, settings: Settings, order_id: int) -> httpx.Response:
    order = await Order.objects().get(Order.id == order_id)
    response = await deliver(client, emulator_event(settings, "payment_intent.succeeded", order.payment_intent_id))
    assert response.status_code == 200, response.text
    return response
