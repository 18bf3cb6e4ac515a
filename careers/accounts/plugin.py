"""Accounts on the board: sign-up, login, password reset and the second factor (ground floor, no jobs)."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin(
    name="accounts",
    routes=("careers.accounts.controllers:AccountController", "careers.accounts.controllers:SecondFactorController",
            "careers.accounts.controllers:AccountSecondFactorController"),
    templates="accounts",
    outbox_handlers=("careers.accounts.service:mail_handlers",),
)
