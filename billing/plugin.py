"""Billing on the board: paying for listings, the Stripe webhook, refunds, abandoned orders, reconcile."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin.of("billing", "controllers:ROUTES", "jobs:handlers", "jobs:periodic", "commands:register",
                         "service:dashboard_figures")
