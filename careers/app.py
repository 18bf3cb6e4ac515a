"""create_app(settings): the one place the board is assembled."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import mimetypes
from collections.abc import AsyncIterator

from litestar import Litestar, MediaType, Request, Response, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.middleware import DefineMiddleware
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import File, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import Message, Scope

from billing import stripe_client
from billing.service import list_plans
from careers.accounts.auth import SessionAuthMiddleware
from careers.admin import AdminController
from careers.api_docs import openapi_config
from careers.core import db, filters, geo, registry
from careers.core.config import PROJECT_ROOT, Settings, load_settings
from careers.core.errors import EXCEPTION_HANDLERS
from careers.core.logs import logging_config, request_id_middleware
from careers.core.web import CSRF_COOKIE, render
from careers.domains import DOMAINS
from careers.metrics import metrics, prometheus_config
from careers.worker import Worker
from listings import stats as listing_stats
from listings.reach.controllers import key_file_routes
from search import client as search_client
from search import indexing as search_indexing
from search.fast_lane import with_fast_lane
from search.home import home_board

log = logging.getLogger("careers.app")
mimetypes.add_type("application/manifest+json", ".webmanifest")

CSRF_EXEMPT = ["/billing/stripe/webhook", "/alerts/unsubscribe"]
# The JSON API (/api/v1/...) answers GET only and takes no form: a CSRF cookie on its answers protects nothing and
# cost a signed token and a cookie per call (about a third of the API's own time in a profile of the app).
CSRF_EXEMPT_PREFIXES = ["/api/"]


# ---- pages that belong to no domain -------------------------------------------------


@get("/", include_in_schema=False)
async def home(request: Request, settings: NamedDependency[Settings]) -> Template:
    plans = await list_plans("posting")
    return render(request, "home.html", {"board": await home_board(settings), "posting_plan": plans[0] if plans else None})


ROBOTS_DISALLOW = ("/account", "/employer/", "/employer$", "/admin", "/billing/", "/login", "/register")


@get("/robots.txt", include_in_schema=False, media_type=MediaType.TEXT)
async def robots_txt(settings: NamedDependency[Settings]) -> str:
    """The board is open to crawlers; dashboards, sign-in and payment pages are not (the employer pages under
    /employers/ stay allowed: `/employer$` and `/employer/` leave them out of the rule)."""
    lines = ["User-agent: *", "Allow: /", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW)]
    return "\n".join([*lines, "", f"Sitemap: {settings.base_url.rstrip('/')}/sitemap.xml", ""])


@get("/favicon.ico", include_in_schema=False)
async def favicon() -> File:
    """Browsers ask for /favicon.ico whatever the page links; answering it keeps the console free of 404s."""
    return File(PROJECT_ROOT / "static" / "icons" / "favicon.ico", content_disposition_type="inline",
                media_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})


@get("/healthz", include_in_schema=False, media_type=MediaType.TEXT)
async def healthz() -> str:
    return "ok"


async def search_status(settings: Settings) -> str:
    from search.client import healthy  # the search hot path's keep-alive session answers the probe too

    return "ok" if await healthy(settings) else "unavailable"


@get("/readyz", include_in_schema=False)
async def readyz(settings: NamedDependency[Settings]) -> Response:
    database_ok = await db.ping()
    body = {
        "database": "ok" if database_ok else "unavailable",
        "search": await search_status(settings),
        "payments": settings.stripe_mode,
    }
    return Response(content=body, status_code=200 if database_ok else 503)


ID_MAX = 2**31 - 1  # object ids are PostgreSQL `integer` (Serial) columns


async def reject_impossible_ids(request: Request) -> None:
    """An integer path parameter no object can have is a plain 404, never a database driver error (a 500):
    SQLite refuses integers beyond 64 bits and PostgreSQL beyond its 32-bit `integer` ids."""
    for value in request.path_params.values():
        if isinstance(value, int) and not isinstance(value, bool) and not -ID_MAX - 1 <= value <= ID_MAX:
            raise NotFoundException()


# ---- security headers ------------------------------------------------------------------


def content_security_policy(settings: Settings, *, stripe: bool) -> str:
    """Our own origin only; payment pages add the configured Stripe.js origin (scripts, frames, connections)."""
    from urllib.parse import urlparse

    script = ["'self'"]
    frame = ["'none'"]
    connect = ["'self'"]
    if stripe:
        js = urlparse(settings.stripe_js_url)
        origin = f"{js.scheme}://{js.netloc}"
        script.append(origin)
        frame = [origin, "https://hooks.stripe.com"] if settings.stripe_mode != "emulator" else [origin]
        connect.append(origin)
        if settings.stripe_mode != "emulator":
            connect.append("https://api.stripe.com")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src " + " ".join(script),
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src " + " ".join(connect),
            "frame-src " + " ".join(frame),
            "frame-ancestors 'none'",
            "form-action 'self'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


def security_headers_hook(settings: Settings):
    """A `before_send` hook, not a middleware: Litestar's middleware never sees the 404 and 405 answers of its
    router (no route matched), and those pages need the headers too."""
    plain = content_security_policy(settings, stripe=False).encode()
    with_stripe = content_security_policy(settings, stripe=True).encode()

    async def add_security_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        handler = scope.get("route_handler")
        stripe = bool(handler and handler.opt.get("stripe"))
        headers = list(message.get("headers", []))
        headers += [
            (b"content-security-policy", with_stripe if stripe else plain),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
        ]
        if settings.production:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        message["headers"] = headers

    return add_security_headers


# ---- assembly ------------------------------------------------------------------------------


def route_handlers() -> list:
    """The pages of no domain, the admin's, then every domain's routes (careers/domains.py)."""
    return [home, robots_txt, favicon, healthz, readyz, metrics, AdminController, *registry.routes(DOMAINS)]


async def _prepare_search(settings: Settings) -> None:
    """Apply the search index settings (search.indexing.ensure_index); Meilisearch being down never stops the app."""
    try:
        await asyncio.wait_for(search_indexing.ensure_index(settings), timeout=20)
    except Exception as exc:  # searches degrade to the database until Meilisearch answers
        log.warning("search index settings not applied at start: %r", exc)


def settings_of_app(state: State) -> Settings:
    """The `settings` dependency: read per request from the app's state (tests swap it on a running app)."""
    return state.settings


def create_app(settings: Settings | None = None, *, freeze_gc: bool = False) -> Litestar:
    """The app. `freeze_gc` (the served app, not tests' many apps): once started, move everything alive into the
    collector's permanent generation (`gc.freeze`), so a collection during a request scans only that request's
    objects, not the app's hundreds of thousands (a full collection measured ~100 ms here)."""
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await db.start(settings)
        await _prepare_search(settings)
        stop_flushing = asyncio.Event()
        stats_flusher = asyncio.create_task(listing_stats.flush_every(stop_flushing))  # buffered view counts
        worker_task = None
        worker = None
        if settings.worker_in_process:
            worker = Worker(settings)
            worker_task = asyncio.create_task(worker.run_forever())
        if freeze_gc:
            geo.load_table()  # a ZIP search's table: loaded lazily it would stay in the collector's oldest generation
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if worker is not None and worker_task is not None:
                worker.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(worker_task, timeout=10)
            stop_flushing.set()  # the flusher writes the last seconds' counts, then ends
            with contextlib.suppress(Exception):
                await asyncio.wait_for(stats_flusher, timeout=10)
            await search_client.close_http()
            await stripe_client.close_http()
            await db.stop()

    templates = TemplateConfig(directory=PROJECT_ROOT / "templates", engine=JinjaTemplateEngine,
                               engine_callback=lambda jinja: filters.register(jinja.engine))
    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name=CSRF_COOKIE,
        cookie_secure=settings.secure_cookies,
        cookie_httponly=True,
        # anchored: only these exact paths, and the read-only API, skip CSRF
        exclude=[f"^{path}$" for path in CSRF_EXEMPT] + [f"^{prefix}" for prefix in CSRF_EXEMPT_PREFIXES],
    )
    app = Litestar(
        route_handlers=[*route_handlers(), *key_file_routes(settings),  # /{INDEXNOW_KEY}.txt only when it is set
                        create_static_files_router(path="/static", directories=[PROJECT_ROOT / "static"])],
        template_config=templates,
        csrf_config=csrf,
        middleware=[prometheus_config().middleware,
                    DefineMiddleware(SessionAuthMiddleware, exclude=["^/static/", "^/healthz$", "^/readyz$"])],
        logging_config=logging_config(settings),
        before_send=[security_headers_hook(settings)],
        before_request=reject_impossible_ids,
        exception_handlers=EXCEPTION_HANDLERS,
        dependencies={"settings": Provide(settings_of_app, sync_to_thread=False)},  # handlers take `settings`
        lifespan=[lifespan],
        state=State({"settings": settings}),
        openapi_config=openapi_config(settings),
        plugins=[HTMXPlugin()],  # request.htmx: pages answer htmx with a fragment, everyone else with the page
        debug=False,
    )
    # the plain API search skips Litestar's request cycle (search/fast_lane.py); the request id covers it too
    fast = with_fast_lane(app.asgi_handler, app, prometheus_config())
    app.asgi_handler = request_id_middleware(fast, settings)  # every answer, the router's 404s too
    return app


def create_app_from_env() -> Litestar:
    """uvicorn's (and granian's) factory for `careers serve`."""
    return create_app(load_settings(), freeze_gc=True)
