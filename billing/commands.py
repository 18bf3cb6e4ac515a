"""`careers billing reconcile [--since HOURS]`: repair orders whose payment webhook never arrived."""

from __future__ import annotations

import argparse
import asyncio

from careers.core.config import Settings


def register(subparsers) -> None:
    billing = subparsers.add_parser("billing", help="billing tools (reconcile payments with Stripe)")
    sub = billing.add_subparsers(dest="billing_command", metavar="BILLING_COMMAND")
    reconcile = sub.add_parser(
        "reconcile", help="page through Stripe's PaymentIntents and mark paid the orders still pending here"
    )
    reconcile.add_argument("--since", type=float, default=72.0, metavar="HOURS",
                           help="look at PaymentIntents created in the last HOURS hours (default 72)")
    reconcile.set_defaults(func=cmd_reconcile)
    billing.set_defaults(func=lambda args, settings: (billing.print_help(), 2)[1])


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(run_reconcile(settings, args.since))


async def run_reconcile(settings: Settings, since_hours: float, *, out=print) -> int:
    """Print each repaired order; exit code 0 (also when nothing needed repair), 1 if Stripe is unreachable."""
    from billing import service
    from billing.stripe_client import StripeGateway, StripeUnavailable
    from careers.core import db

    await db.start()
    try:
        try:
            changes = await service.reconcile(StripeGateway(settings), settings, since_hours=since_hours)
        except StripeUnavailable as exc:
            out(f"careers billing reconcile: Stripe is unreachable: {exc}")
            return 1
        for line in changes:
            out(line)
        out(f"{len(changes)} order(s) repaired." if changes else "Nothing to repair: every paid order is marked paid.")
        return 0
    finally:
        await db.stop()
