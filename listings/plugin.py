"""Listings on the board: posting, listing pages, feeds, the JSON API, expiry, import and demo data."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin(
    name="listings",
    routes=("listings.controllers:ROUTES", "listings.feeds:ROUTES"),
    templates="listings",
    periodic_jobs=("listings.jobs:periodic",),
    commands=("listings.commands:register",),
)
