from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T03:01:26:872351"
VERSION = "1.38.0"
DESCRIPTION = "listings.employer_size: the poster's employee count, for pay-transparency thresholds (nullable)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="listings", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Listing",
        tablename="listings",
        column_name="employer_size",
        db_column_name="employer_size",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
