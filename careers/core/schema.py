"""Piccolo declarations every app shares: its `AppConfig`, and the join tables that hold exact values.

Each `<app>/piccolo_app.py` is one `app_config(...)` call; the schema itself is unchanged by these helpers
(`piccolo migrations new <app> --auto` finds nothing to do).
"""

from __future__ import annotations

import os
import types
from collections.abc import Sequence

from piccolo.columns import ForeignKey, Serial, Varchar
from piccolo.conf.apps import AppConfig, table_finder
from piccolo.table import Table


def app_config(name: str, tables_module: str, piccolo_app_file: str, dependencies: Sequence[str] = ()) -> AppConfig:
    """The Piccolo app `name`: the tables defined in `tables_module` (imported ones left out, as Piccolo's own
    apps do), its migrations in `piccolo_migrations/` beside `piccolo_app_file`, run after `dependencies`
    (the `piccolo_app` modules of the apps its foreign keys point at)."""
    return AppConfig(
        app_name=name,
        migrations_folder_path=os.path.join(os.path.dirname(os.path.abspath(piccolo_app_file)), "piccolo_migrations"),
        table_classes=table_finder(modules=[tables_module], exclude_imported=True),
        migration_dependencies=list(dependencies),
        commands=[],
    )


def value_table(class_name: str, tablename: str, owner: tuple[str, type[Table]], length: int,
                module: str, doc: str | None = None) -> type[Table]:
    """A join table of one exact value per row for a multi-valued field (never an array column: on SQLite
    `Array.any()` is a LIKE and CPC would match CPC-A): `id`, the indexed owner foreign key, an indexed
    `value` of `length` characters. `module` is the defining module's `__name__`, so Piccolo's
    `table_finder(exclude_imported=True)` counts the table as that module's own."""
    owner_column, owner_table = owner

    def body(namespace: dict) -> None:
        namespace.update({
            "__module__": module,
            "__doc__": doc,
            "id": Serial(primary_key=True),
            owner_column: ForeignKey(references=owner_table, index=True),
            "value": Varchar(length=length, index=True),
        })

    return types.new_class(class_name, (Table,), {"tablename": tablename}, body)
