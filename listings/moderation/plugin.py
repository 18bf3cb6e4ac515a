"""Moderation on the board: the review queue, reports, admin pages, the batched review mail, dashboard figures."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin(
    name="moderation",
    routes=("listings.moderation.controllers:ROUTES",),
    templates="moderation",
    outbox_handlers=("listings.moderation.jobs:mail_handlers",),
    periodic_jobs=("listings.moderation.jobs:periodic",),
    admin_panels=("listings.moderation.service:dashboard_figures",),
)
