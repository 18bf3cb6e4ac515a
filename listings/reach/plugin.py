"""Reach: listing changes announced to search engines (IndexNow, Google's Indexing API). The IndexNow key file's
route depends on the key, so `careers.app` adds it from settings (`listings.reach.controllers.key_file_routes`)."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin(name="reach", outbox_handlers=("listings.reach.jobs:handlers",))  # no pages: no templates
