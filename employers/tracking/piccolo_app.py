from careers.core.schema import app_config

# A sub-app of employers: its tables point at coders' applications, and coders already depends on
# employers (through listings), so they cannot live in employers.tables without an import cycle.
APP_CONFIG = app_config(
    "applicant_tracking", "employers.tracking.tables", __file__,
    ["careers.accounts.piccolo_app", "employers.piccolo_app", "careers.coders.piccolo_app"],
)
