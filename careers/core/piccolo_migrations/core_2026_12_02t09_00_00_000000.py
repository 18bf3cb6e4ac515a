"""PostgreSQL: NOTIFY careers_outbox when rows are inserted into outbox (hand-written; nothing on SQLite).

A statement-level trigger, so every way of inserting rows (one `enqueue`, a multi-row insert) wakes the
listening worker, once per transaction and only when it commits (PostgreSQL folds identical notifications).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-02T09:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "notify the worker of new outbox rows (PostgreSQL)"

CREATE = [
    """CREATE OR REPLACE FUNCTION careers_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('careers_outbox', '');
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS outbox_notify ON outbox",
    "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION careers_outbox_notify()",
]
DROP = ["DROP TRIGGER IF EXISTS outbox_notify ON outbox", "DROP FUNCTION IF EXISTS careers_outbox_notify()"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    async def run(statements: list[str]) -> None:
        from careers.core import db

        if db.is_sqlite():
            return
        for sql in statements:
            await db.DB.run_ddl(sql)

    async def create() -> None:
        await run(CREATE)

    async def drop() -> None:
        await run(DROP)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
