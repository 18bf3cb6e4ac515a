from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T02:58:40:309162"
VERSION = "1.38.0"
DESCRIPTION = "listings: street_address (Google, Indeed) and syndicate_opt_out (aggregator feeds)"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="listings", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Listing",
        tablename="listings",
        column_name="street_address",
        db_column_name="street_address",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 200,
            "default": "",
            "null": False,
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

    manager.add_column(
        table_class_name="Listing",
        tablename="listings",
        column_name="syndicate_opt_out",
        db_column_name="syndicate_opt_out",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
            "null": False,
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
