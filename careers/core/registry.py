"""The domain registry: what each domain adds to the board, declared once in `<domain>/plugin.py`.

A `DomainPlugin` names its parts as "module:attribute" references (the form of uvicorn's factory and
of entry points), imported only by the process that uses them: the web app loads routes, the worker
loads jobs, the CLI loads commands. So `careers --help` starts without importing Litestar's controllers,
and this module (ground floor) imports no domain. The list of plugins is `careers/domains.py`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

AdminPanel = Callable[[dt.datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class DomainPlugin:
    """One domain's additions; every reference is "package.module:attribute"."""

    name: str
    routes: tuple[str, ...] = ()  # a controller, route handler, or a list of them
    templates: str | None = None  # its folder under templates/ (pages render "<folder>/<page>.html")
    outbox_handlers: tuple[str, ...] = ()  # functions returning {outbox kind: async handler(payload, row_id, settings)}
    periodic_jobs: tuple[str, ...] = ()  # functions returning fresh jobs (async job(settings)) for one worker
    commands: tuple[str, ...] = ()  # `register(subparsers)` functions adding `careers` subcommands
    admin_panels: tuple[str, ...] = ()  # async panel(now) -> {figure name: value} for the /admin dashboard

    @classmethod
    def of(cls, package: str, *parts: str, name: str | None = None, templates: str | None = None) -> DomainPlugin:
        """A plugin from "module:attribute" parts inside `package`, each placed by its attribute's conventional
        name (`handlers`, `periodic`, `register`, `dashboard_figures`; anything else is routes). The name and
        the template folder default to the package's last part."""
        name = name or package.rpartition(".")[2]
        slots: dict[str, list[str]] = {slot: [] for slot in set(PART_SLOTS.values()) | {"routes"}}
        for part in parts:
            module, _, attribute = part.partition(":")
            slots[PART_SLOTS.get(attribute, "routes")].append(f"{package}.{module}:{attribute}")
        return cls(name=name, templates=templates or name, **{slot: tuple(refs) for slot, refs in slots.items()})


# The attribute names that say which part of a plugin a reference is (see DomainPlugin.of).
PART_SLOTS = {
    "handlers": "outbox_handlers",
    "periodic": "periodic_jobs",
    "register": "commands",
    "dashboard_figures": "admin_panels",
}


class Throttled:
    """A periodic job that runs at most once per `every` seconds. The worker calls its periodic jobs on every pass
    (about every half second when idle); each worker gets fresh instances (`periodic()` builds them), so a new
    worker, a restarted process or a test runs the job on its first pass."""

    def __init__(self, name: str, every: float, job: Callable[[Any], Awaitable[Any]]) -> None:
        self.__name__ = name  # what the worker's log names a failing job by
        self.every = every
        self.job = job
        self._last_run: float | None = None

    async def __call__(self, settings: Any) -> None:
        now = time.monotonic()
        if self._last_run is not None and now - self._last_run < self.every:
            return
        self._last_run = now
        await self.job(settings)


def resolve(reference: str) -> Any:
    """Import "package.module:attribute" and return the attribute."""
    module_name, _, attribute = reference.partition(":")
    if not attribute:
        raise ValueError(f"{reference!r} is not a 'module:attribute' reference")
    return getattr(importlib.import_module(module_name), attribute)


def routes(plugins: Iterable[DomainPlugin]) -> list:
    """Every plugin's controllers and route handlers, in plugin order."""
    handlers: list = []
    for plugin in plugins:
        for reference in plugin.routes:
            found = resolve(reference)
            handlers.extend(found if isinstance(found, (list, tuple)) else [found])
    return handlers


def outbox_handlers(plugins: Iterable[DomainPlugin]) -> dict[str, Callable[..., Awaitable[None]]]:
    """Outbox kind -> handler; two domains claiming one kind is a programming error."""
    handlers: dict[str, Callable[..., Awaitable[None]]] = {}
    for plugin in plugins:
        for reference in plugin.outbox_handlers:
            for kind, handler in resolve(reference)().items():
                if kind in handlers:
                    raise ValueError(f"outbox kind {kind!r} is handled twice ({plugin.name})")
                handlers[kind] = handler
    return handlers


def periodic_jobs(plugins: Iterable[DomainPlugin]) -> list[Callable[[Any], Awaitable[None]]]:
    """Fresh periodic jobs for one worker (each job keeps its own throttle)."""
    return [job for plugin in plugins for reference in plugin.periodic_jobs for job in resolve(reference)()]


def register_commands(plugins: Iterable[DomainPlugin], subparsers: argparse._SubParsersAction) -> None:
    """Let every plugin add its `careers` subcommands."""
    for plugin in plugins:
        for reference in plugin.commands:
            resolve(reference)(subparsers)


def admin_panels(plugins: Iterable[DomainPlugin]) -> list[AdminPanel]:
    """The dashboard's figure functions, in plugin order."""
    return [resolve(reference) for plugin in plugins for reference in plugin.admin_panels]

