"""Pay insights cached per process: every figure is rebuilt only when the listings' change stamp moves.

The pay pages and `GET /api/v1/pay` read every matching listing; a visitor's request now costs the one stamp
statement of `listings.feed_cache` (which moves with every listing, employer and credential change) instead.
Keys are the normalised filter (codes and values sorted, so `?state=TX&state=CA` and `?state=ca&state=tx` share
an entry); the trend's key also holds the current month, since its twelve months move with the clock.
"""

from __future__ import annotations

from careers.core import clock
from listings import feed_cache, pay


def _key(kind: str, pay_filter: pay.PayFilter, *extra) -> tuple:
    return ("pay", kind, tuple(sorted(pay_filter.credentials)), tuple(sorted(pay_filter.settings)),
            tuple(sorted(pay_filter.states)), tuple(sorted(pay_filter.work_modes)), *extra)


async def summary(pay_filter: pay.PayFilter) -> pay.PaySummary:
    """`pay.pay_summary`, cached at the change stamp."""
    return await feed_cache.cached(_key("summary", pay_filter), lambda: pay.pay_summary(pay_filter))


async def credential_page(pay_filter: pay.PayFilter, group: str) -> tuple[pay.PaySummary, list[pay.PayGroup],
                                                                     list[pay.PayMonth]]:
    """A credential page's figures (summary, groups, trend), cached together at the change stamp and the current
    month (UTC: the trend's twelve months move with the clock)."""
    now = clock.now()

    async def build():
        return (await pay.pay_summary(pay_filter), await pay.pay_by(pay_filter, group),
                await pay.pay_trend(pay_filter, now=now))

    return await feed_cache.cached(_key("page", pay_filter, group, now.year, now.month), build)


async def credential_overview() -> list[dict]:
    """`pay.credential_overview`, cached at the change stamp."""
    return await feed_cache.cached(("pay", "overview"), pay.credential_overview)
