"""Reach: listing changes announced to search engines (IndexNow, Google's Indexing API) and the IndexNow key file."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin(name="reach", routes=("listings.reach.controllers:ROUTES",),
                      outbox_handlers=("listings.reach.jobs:handlers",))  # no pages: no template folder
