"""Accounts on the board: sign-up, login, password reset and the second factor (ground floor, no jobs)."""

from careers.core.registry import DomainPlugin

PLUGIN = DomainPlugin.of("careers.accounts", "controllers:AccountController", "controllers:SecondFactorController",
                         "controllers:AccountSecondFactorController", "service:handlers",
                         "mail_prefs:MailPreferencesController")
