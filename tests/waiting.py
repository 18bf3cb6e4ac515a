"""The one way a test waits for another task's effect: poll a condition until a deadline.

Deadlines are generous (a busy 2-core machine, a load test beside the suite): they bound a failing run and
cost a passing one nothing, because polling returns as soon as the condition holds. No test waits with a bare
sleep; the only sleeps in the suite are these poll intervals and loops that pace a load (each says so).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

DEFAULT_TIMEOUT = 60.0


def poll(condition: Callable[[], Any], *, timeout: float = DEFAULT_TIMEOUT, interval: float = 0.1,
         what: str = "the condition") -> Any:
    """Call `condition` until it returns something truthy and return that; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


async def apoll(condition: Callable[[], Any], *, timeout: float = DEFAULT_TIMEOUT, interval: float = 0.05,
                what: str = "the condition") -> Any:
    """`poll` for async tests: `condition` may be a plain or an async callable."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)
