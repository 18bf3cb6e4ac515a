"""Coders on the board: registration, profiles, applications, saved jobs, job alerts and their digests."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin(
    name="coders",
    routes=("careers.coders.controllers:CoderRegistrationController", "careers.coders.pages:ROUTES"),
    templates="coders",
    outbox_handlers=("careers.coders.alerts:mail_handlers",),
    periodic_jobs=("careers.coders.jobs:periodic",),
    commands=("careers.coders.commands:register",),
    admin_panels=("careers.coders.service:dashboard_figures",),
)
