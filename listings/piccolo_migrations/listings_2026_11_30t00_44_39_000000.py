from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Serial
from piccolo.table import Table


class Listing(Table, tablename="listings", schema=None):
    id = Serial(primary_key=True)


ID = "2026-11-30T00:44:39:000000"
VERSION = "1.38.0"
DESCRIPTION = "listing_daily_stats: unique (listing, day, source); existing view and apply-click counts copied in"
# Written by hand: Piccolo has no composite unique constraint, and raw steps run before a migration's add_table.

# The columns listings.views / apply_clicks are no longer written: their counts so far become one row per listing,
# dated the day it was published (or created), source "direct". Nothing reads the old columns any more.
UNIQUE_KEY = ("CREATE UNIQUE INDEX listing_daily_stats_key "
              "ON listing_daily_stats (listing, day, source)")
COPY_SQLITE = (
    "INSERT INTO listing_daily_stats (listing, day, source, views, apply_clicks, applies) "
    "SELECT id, date(COALESCE(published_at, created_at)), 'direct', views, apply_clicks, 0 FROM listings "
    "WHERE views > 0 OR apply_clicks > 0"
)
COPY_POSTGRES = (
    "INSERT INTO listing_daily_stats (listing, day, source, views, apply_clicks, applies) "
    "SELECT id, (COALESCE(published_at, created_at) AT TIME ZONE 'UTC')::date, 'direct', views, apply_clicks, 0 "
    "FROM listings WHERE views > 0 OR apply_clicks > 0"
)


async def add_key_and_copy_counts():
    from piccolo.engine.sqlite import SQLiteEngine

    engine = Listing._meta.db
    await engine.run_ddl(UNIQUE_KEY)
    await engine.run_ddl(COPY_SQLITE if isinstance(engine, SQLiteEngine) else COPY_POSTGRES)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="listings", description=DESCRIPTION)
    manager.add_raw(add_key_and_copy_counts)
    return manager
