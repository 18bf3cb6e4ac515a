from careers.core.schema import app_config

APP_CONFIG = app_config("accounts", "careers.accounts.tables", __file__)
