"""Search on the board: the /jobs pages, the search API, index sync from the outbox and `careers reindex`."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin(
    name="search",
    routes=("search.controllers:ROUTES",),
    templates="search",
    outbox_handlers=("search.jobs:handlers",),
    commands=("search.commands:register",),
)
