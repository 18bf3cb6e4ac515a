"""Employers on the board (with tracking): registration, dashboard, organisation and applicant pages, trust flags."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin.of(
    "employers",
    "controllers:EmployerRegistrationController", "controllers:EmployerDashboardController", "pages:ROUTES",
    "applicant_pages:ROUTES", "jobs:periodic", "trust:dashboard_figures",
    "service:handlers",
    "response:handlers", "response:periodic", "response:dashboard_figures",
)
