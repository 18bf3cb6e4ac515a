from careers.core.schema import app_config

APP_CONFIG = app_config("employers", "employers.tables", __file__, ["careers.accounts.piccolo_app"])
