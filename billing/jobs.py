"""Background work of billing, run by careers/worker.py: refunds requested by moderation, abandoned orders."""

from __future__ import annotations

import logging
import time

from billing import service
from billing.stripe_client import StripeGateway
from careers.core.config import Settings

log = logging.getLogger("careers.billing")

REFUND_LISTING = "billing.refund_listing"  # payload {"listing_id": id, "reason": text}; moderation enqueues it on reject
RELEASE_EVERY_SECONDS = 60.0

_last_release = 0.0


async def refund_listing(payload: dict, row_id: int, settings: Settings) -> None:
    """Outbox handler: refund the listing's paid order(s). Idempotent (a refunded order is skipped)."""
    listing_id = int(payload["listing_id"])
    refunded = await service.refund_listing(listing_id, str(payload.get("reason") or "listing rejected"),
                                            StripeGateway(settings))
    if refunded:
        log.info("refunded orders %s of listing %s (outbox row %s)", refunded, listing_id, row_id)


async def release_abandoned_orders(settings: Settings) -> None:
    """Orders not paid within 24 hours: order abandoned, listing back to draft. Runs at most once a minute."""
    global _last_release
    now = time.monotonic()
    if _last_release and now - _last_release < RELEASE_EVERY_SECONDS:
        return
    _last_release = now
    released = await service.release_abandoned(lambda: StripeGateway(settings))
    if released:
        log.info("released abandoned orders %s", released)


def handlers() -> dict:
    return {REFUND_LISTING: refund_listing}


def periodic() -> list:
    return [release_abandoned_orders]
