"""applications.first_employer_action_at (issue 18): the first stage move or note by the employer's people.

Kept in a migration of its own: helper trust1 adds the same nullable column for its 10-day notices, so at merge one
of the two files is dropped and nothing else changes.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-30T02:58:41:000000"
VERSION = "1.38.0"
DESCRIPTION = "applications.first_employer_action_at"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="coders", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Application",
        tablename="applications",
        column_name="first_employer_action_at",
        db_column_name="first_employer_action_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
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
