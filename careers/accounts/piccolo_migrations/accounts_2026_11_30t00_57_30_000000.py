"""Seal every stored authenticator key (careers/core/sealing.py), then drop the column that kept them in clear.

Written by hand: the keys are sealed under TOTP_KEY or SECRET_KEY of the environment the migration runs in
(`careers serve` and `piccolo migrations forwards` both run with the board's settings). The raw step runs before
the column is dropped. Going backwards re-adds an empty column: the clear keys are not written back.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.table import Table

ID = "2026-11-30T00:57:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "Seal stored authenticator keys and drop users.totp_secret"


class User(Table, tablename="users", schema=None):
    id = Serial(null=False, primary_key=True)


async def seal_stored_keys() -> None:
    rows = await User.raw("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL")
    if not rows:
        return
    from careers.core import sealing
    from careers.core.config import load_settings

    material = sealing.key_material(load_settings())
    for row in rows:
        await User.raw("UPDATE users SET totp_secret_sealed = {}, totp_secret = NULL WHERE id = {}",
                       sealing.seal(row["totp_secret"], material), row["id"])


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="accounts", description=DESCRIPTION)
    manager.add_raw(seal_stored_keys)
    manager.drop_column(
        table_class_name="User",
        tablename="users",
        column_name="totp_secret",
        db_column_name="totp_secret",
        schema=None,
    )
    return manager
