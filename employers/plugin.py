"""Employers on the board (with tracking): registration, dashboard, organisation and applicant pages, trust flags."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin(
    name="employers",
    routes=(
        "employers.controllers:EmployerRegistrationController",
        "employers.controllers:EmployerDashboardController",
        "employers.pages:ROUTES",
        "employers.applicant_pages:ROUTES",
    ),
    templates="employers",
    outbox_handlers=("employers.service:mail_handlers",),
    periodic_jobs=("employers.jobs:periodic",),
    admin_panels=("employers.trust:dashboard_figures",),
)
