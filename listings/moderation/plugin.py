"""Moderation on the board: the review queue, reports, admin pages, the batched review mail, dashboard figures."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin.of("listings.moderation", "controllers:ROUTES", "jobs:periodic", "service:dashboard_figures",
                         "jobs:handlers")
