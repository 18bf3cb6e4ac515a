from careers.core.schema import app_config

APP_CONFIG = app_config(
    "listings", "listings.tables", __file__,
    ["careers.accounts.piccolo_app", "employers.piccolo_app"],
)
