"""Coders on the board: registration, profiles, applications, saved jobs, job alerts and their digests."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin.of("careers.coders", "controllers:CoderRegistrationController", "pages:ROUTES",
                         "admin_pages:ROUTES", "jobs:periodic", "untouched:periodic", "commands:register",
                         "applications:dashboard_figures", "alerts:handlers", "credential_pages:ROUTES",
                         "credentials:periodic")
