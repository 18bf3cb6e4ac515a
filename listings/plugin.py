"""Listings on the board: posting, listing pages, feeds, the JSON API, expiry, import and demo data."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin.of("listings", "controllers:ROUTES", "feeds:ROUTES", "sitemaps:ROUTES", "syndication:ROUTES",
                         "pay_pages:ROUTES", "jobs:periodic", "commands:register")
