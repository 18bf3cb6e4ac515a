"""Billing on the board: paying for listings, the Stripe webhook, refunds, abandoned orders, reconcile."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin(
    name="billing",
    routes=("billing.controllers:ROUTES",),
    templates="billing",
    outbox_handlers=("billing.jobs:handlers",),
    periodic_jobs=("billing.jobs:periodic",),
    commands=("billing.commands:register",),
    admin_panels=("billing.service:dashboard_figures",),
)
