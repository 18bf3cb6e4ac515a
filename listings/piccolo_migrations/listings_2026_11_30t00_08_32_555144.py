from enum import Enum

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar

ID = "2026-11-30T00:08:32:555144"
VERSION = "1.38.0"
DESCRIPTION = "Typed status choices (an enum on the column; no change to the database schema)"
# Piccolo records `choices` for the Varchar but alter_column issues no SQL for it: a no-op on SQLite and PostgreSQL.


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="listings", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Listing",
        tablename="listings",
        column_name="status",
        db_column_name="status",
        params={
            "choices": Enum(
                "ListingState",
                {
                    "DRAFT": "draft",
                    "AWAITING_PAYMENT": "awaiting_payment",
                    "IN_REVIEW": "in_review",
                    "PUBLISHED": "published",
                    "REJECTED": "rejected",
                    "EXPIRED": "expired",
                    "CLOSED": "closed",
                    "REMOVED": "removed",
                },
            )
        },
        old_params={"choices": None},
        column_class=Varchar,
        old_column_class=Varchar,
        schema=None,
    )

    return manager
