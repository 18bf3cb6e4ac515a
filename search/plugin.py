"""Search on the board: the /jobs pages, the search API, index sync from the outbox and `careers reindex`."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin.of("search", "controllers:ROUTES", "jobs:handlers", "commands:register")
