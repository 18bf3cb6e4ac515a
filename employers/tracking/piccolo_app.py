import os

from piccolo.conf.apps import AppConfig, table_finder

CURRENT_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

# A sub-app of employers: its tables point at coders' applications, and coders already depends on
# employers (through listings), so they cannot live in employers.tables without an import cycle.
APP_CONFIG = AppConfig(
    app_name="applicant_tracking",
    migrations_folder_path=os.path.join(CURRENT_DIRECTORY, "piccolo_migrations"),
    table_classes=table_finder(modules=["employers.tracking.tables"], exclude_imported=True),
    migration_dependencies=["careers.accounts.piccolo_app", "employers.piccolo_app", "careers.coders.piccolo_app"],
    commands=[],
)
