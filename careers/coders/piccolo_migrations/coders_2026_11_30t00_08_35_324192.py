from enum import Enum

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar

ID = "2026-11-30T00:08:35:324192"
VERSION = "1.38.0"
DESCRIPTION = "Typed status choices (an enum on the column; no change to the database schema)"
# Piccolo records `choices` for the Varchar but alter_column issues no SQL for it: a no-op on SQLite and PostgreSQL.


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="coders", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Application",
        tablename="applications",
        column_name="stage",
        db_column_name="stage",
        params={
            "choices": Enum(
                "ApplicationStage",
                {
                    "SUBMITTED": "submitted",
                    "REVIEWED": "reviewed",
                    "INTERVIEWING": "interviewing",
                    "OFFER": "offer",
                    "HIRED": "hired",
                    "NOT_SELECTED": "not_selected",
                    "WITHDRAWN": "withdrawn",
                },
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
