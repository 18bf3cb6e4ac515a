"""Live listings on the board: reconfirm links and buttons, pausing, why a job ended, the ghost-risk list."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin.of("listings.liveness", "controllers:ROUTES", "jobs:periodic", "service:handlers",
                         "service:dashboard_figures")
