"""`careers send-alert-digests` and `careers anonymise-applications`: the coders' periodic work, run once by hand.

The worker runs both on its own; these commands are for operators (and cron, if the worker is off).
`careers seed-demo` (listings.commands) fills in demo coders through `service.seed_demo_profiles`.
"""

from __future__ import annotations

import asyncio

from careers.core import db
from careers.core.config import Settings


def register(subparsers) -> None:
    digests = subparsers.add_parser("send-alert-digests", help="mail every job alert digest that is due now")
    digests.set_defaults(func=cmd_send_alert_digests)
    retention = subparsers.add_parser(
        "anonymise-applications", help="anonymise applications of deleted coder accounts past the 90-day window")
    retention.set_defaults(func=cmd_anonymise_applications)


async def _run(coro_factory):
    await db.start()
    try:
        return await coro_factory()
    finally:
        await db.stop()


def cmd_send_alert_digests(args, settings: Settings) -> int:
    from careers.coders import alerts

    sent = asyncio.run(_run(lambda: alerts.send_due_digests(settings)))
    print(f"Queued {sent} job alert digest{'s' if sent != 1 else ''}.")
    return 0


def cmd_anonymise_applications(args, settings: Settings) -> int:
    from careers.coders import privacy

    done = asyncio.run(_run(lambda: privacy.anonymise_due(settings)))
    print(f"Anonymised {done} application{'s' if done != 1 else ''}.")
    return 0
