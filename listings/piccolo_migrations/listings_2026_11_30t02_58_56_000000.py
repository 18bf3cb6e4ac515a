import datetime as dt

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial, Timestamptz, Varchar
from piccolo.table import Table


class Listing(Table, tablename="listings", schema=None):
    id = Serial(primary_key=True)
    status = Varchar(length=20)
    confirmed_at = Timestamptz(null=True, default=None)


ID = "2026-11-30T02:58:56:000000"
VERSION = "1.38.0"
DESCRIPTION = "live listings: every listing published before reconfirmation existed counts as confirmed now"
# Written by hand (raw steps run before a migration's add_column, so this follows the migration adding the column).
# Confirmed at the migration rather than at publishing: a listing published a month ago is not paused on deploy day;
# its employer gets the usual 14-day reminder first.


async def confirm_published_listings():
    now = dt.datetime.now(dt.timezone.utc)
    await Listing.update({Listing.confirmed_at: now}).where(
        (Listing.status == "published") & Listing.confirmed_at.is_null())


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="listings", description=DESCRIPTION)
    manager.add_raw(confirm_published_listings)
    return manager
