from careers.core.schema import app_config

APP_CONFIG = app_config("core", "careers.core.tables", __file__)
