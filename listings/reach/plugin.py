"""Reach: listing changes announced to search engines (IndexNow, Google's Indexing API) and the IndexNow key file."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin.of("listings.reach", "controllers:ROUTES", "jobs:handlers")
