"""Background work of billing, run by careers/worker.py: refunds requested by moderation, abandoned orders."""

from __future__ import annotations

import logging

from billing import service
from billing.stripe_client import StripeGateway
from careers.core.config import Settings
from careers.core.registry import Throttled

log = logging.getLogger("careers.billing")

REFUND_LISTING = "billing.refund_listing"  # payload {"listing_id": id, "reason": text}; moderation enqueues it on reject
RELEASE_EVERY_SECONDS = 60.0


async def refund_listing(payload: dict, row_id: int, settings: Settings) -> None:
    """Outbox handler: refund the listing's paid order(s). Idempotent (a refunded order is skipped)."""
    listing_id = int(payload["listing_id"])
    refunded = await service.refund_listing(listing_id, str(payload.get("reason") or "listing rejected"),
                                            StripeGateway(settings))
    if refunded:
        log.info("refunded orders %s of listing %s (outbox row %s)", refunded, listing_id, row_id)


async def release_abandoned_orders(settings: Settings) -> None:
    """Orders not paid within 24 hours: order abandoned, listing back to draft. Runs at most once a minute."""
    released = await service.release_abandoned(lambda: StripeGateway(settings))
    if released:
        log.info("released abandoned orders %s", released)


def handlers() -> dict:
    return {REFUND_LISTING: refund_listing}


def periodic() -> list:
    return [Throttled("release_abandoned_orders", RELEASE_EVERY_SECONDS, release_abandoned_orders)]
