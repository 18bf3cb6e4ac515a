from careers.core.schema import app_config

APP_CONFIG = app_config(
    "moderation", "listings.moderation.tables", __file__,
    ["careers.accounts.piccolo_app", "employers.piccolo_app", "listings.piccolo_app"],
)
