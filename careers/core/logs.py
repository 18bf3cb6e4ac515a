"""One log format for every process, and a request id on every line logged while a request is handled.

Production: one JSON object per line (`time`, `level`, `logger`, `message`, `request_id`, `process`, and
`exc` for a traceback), the shape a log shipper reads without parsing rules. Development: readable lines.
Both through Litestar's `LoggingConfig` (stdlib `logging.config.dictConfig` underneath), so uvicorn's,
Piccolo's and our own loggers all go through the same handler; Piccolo's "Running ... version" banner is
silenced.

The request id is the incoming `X-Request-ID` when the request comes from a trusted proxy
(`TRUSTED_PROXIES`) and looks like an id, else a fresh one; it is answered in the `X-Request-ID` header.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import re
import uuid
from contextvars import ContextVar
from functools import lru_cache

from litestar.logging.config import LoggingConfig

from careers.core.config import Settings

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # a proxy's id goes into our logs: nothing that could forge lines
REQUEST_ID_HEADER = b"x-request-id"


class RequestIdFilter(logging.Filter):
    """Puts the current request's id (or "-") on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "process": record.process,
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def logging_config(settings: Settings) -> LoggingConfig:
    """JSON lines in production, readable lines otherwise; every line carries the request id."""
    formatter = "json" if settings.production else "plain"
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": formatter,
               "filters": ["request_id"]}
    quiet = {"level": "WARNING", "handlers": ["console"], "propagate": False}
    own = {"level": "INFO", "handlers": ["console"], "propagate": False}
    silent = {"level": "WARNING", "handlers": [], "propagate": False}  # uvicorn logs access only to a handler
    return LoggingConfig(
        logging_module="logging",
        formatters={
            "json": {"()": "careers.core.logs.JsonFormatter"},
            "plain": {"format": "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s",
                      "datefmt": "%H:%M:%S"},
        },
        filters={"request_id": {"()": "careers.core.logs.RequestIdFilter"}},
        handlers={"console": handler},
        root={"level": "INFO", "handlers": ["console"]},
        loggers={
            # uvicorn configures its own handlers before the app exists; these take them over
            "uvicorn": own, "uvicorn.error": own, "uvicorn.access": own if settings.access_log else silent,
            "litestar": own,
            "piccolo": quiet,  # the "Running SQLite/Postgres version" banner on every engine start
            "httpx": quiet, "werkzeug": quiet,
        },
        log_exceptions="never",  # careers.app's internal_error_handler logs each unhandled error once
    )


def configure_logging(settings: Settings) -> None:
    """Apply `logging_config(settings)` to this process (the CLI, the worker, serve's supervisor)."""
    logging_config(settings).configure()


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def from_trusted_proxy(client_host: str | None, proxies: tuple[str, ...]) -> bool:
    if not client_host or not proxies:
        return False
    try:
        address = ipaddress.ip_address(client_host)
    except ValueError:
        return False
    return any(address in network for network in _networks(proxies))


def request_id_middleware(app, settings: Settings):
    """Wrap an ASGI app: set the request id for the request's logs and answer it in `X-Request-ID`.

    Wraps Litestar's whole handler (not a route middleware) so the router's own 404/405 answers get it too."""
    proxies = settings.trusted_proxies

    async def with_request_id(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        given = ""
        client = scope.get("client")
        if from_trusted_proxy(client[0] if client else None, proxies):
            for name, value in scope.get("headers", ()):
                if name == REQUEST_ID_HEADER:
                    given = value.decode("latin-1").strip()
                    break
        request_id = given if _GOOD_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        encoded = request_id.encode()

        async def send_with_id(message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != REQUEST_ID_HEADER]
                message["headers"] = [*headers, (REQUEST_ID_HEADER, encoded)]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)

    return with_request_id

