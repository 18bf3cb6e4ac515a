"""Piccolo's configuration: the engine from DATABASE_URL and every app's migrations."""

from piccolo.conf.apps import AppRegistry

from careers.core.db import DB  # noqa: F401  (Piccolo reads DB from here)

APP_REGISTRY = AppRegistry(
    apps=[
        "careers.core.piccolo_app",
        "careers.accounts.piccolo_app",
        "employers.piccolo_app",
        "listings.piccolo_app",
        "listings.moderation.piccolo_app",
        "billing.piccolo_app",
        "search.piccolo_app",
        "careers.coders.piccolo_app",
        "employers.tracking.piccolo_app",
    ]
)
