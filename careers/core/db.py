"""The database engine, chosen once from DATABASE_URL, and the transaction helper.

Piccolo binds every table to `piccolo_conf.DB` the first time it is used, so the
engine is built at import time from the environment. A test session picks its
engine by setting DATABASE_URL before anything imports the tables (one pytest run
per engine).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from careers.core.config import PROJECT_ROOT


def database_url_from_env() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    data_dir = Path(os.environ.get("CAREERS_DATA_DIR") or PROJECT_ROOT / "var").resolve()
    return f"sqlite:///{data_dir / 'careers.sqlite3'}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        # A generous busy timeout: concurrent writers queue instead of failing.
        return SQLiteEngine(path=str(path), timeout=30)
    if url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": url})
    raise ValueError(f"Unsupported DATABASE_URL: {url!r}")


DB: Engine = make_engine(database_url_from_env())


def is_sqlite() -> bool:
    return isinstance(DB, SQLiteEngine)


def transaction():
    """A write transaction. On SQLite it is IMMEDIATE so two writers never deadlock on upgrade."""
    if isinstance(DB, SQLiteEngine):
        return DB.transaction(transaction_type=TransactionType.immediate)
    return DB.transaction()


async def start() -> None:
    """Open the engine: WAL mode on SQLite, a connection pool on PostgreSQL."""
    if isinstance(DB, SQLiteEngine):
        await DB.run_ddl("PRAGMA journal_mode=WAL")
    else:
        await DB.start_connection_pool(min_size=1, max_size=int(os.environ.get("DB_POOL_SIZE", "10")))


async def stop() -> None:
    if isinstance(DB, PostgresEngine):
        await DB.close_connection_pool()


async def ping() -> bool:
    try:
        await DB.run_ddl("SELECT 1")
        return True
    except Exception:
        return False


async def locked_row(table: type[Table], where: Any, missing: Exception | None = None) -> Any:
    """The first row of `table` matching `where`, row-locked (FOR UPDATE) on PostgreSQL; call it inside a
    transaction (SQLite's IMMEDIATE transaction already serialises writers). No row: raise `missing` if given,
    else return None."""
    query = table.objects().where(where)
    if not is_sqlite():
        query = query.lock_rows()
    row = await query.first()
    if row is None and missing is not None:
        raise missing
    return row


async def fetch(sql: str, *args: Any) -> list[dict]:
    """Raw SQL for the few statements Piccolo's query builder cannot express.

    Placeholders are written `{}` as Piccolo's QueryString expects.
    """
    from piccolo.querystring import QueryString

    rows = await DB.run_querystring(QueryString(sql, *args))
    # Inside a transaction Piccolo hands back asyncpg Records (read-only); callers get plain dicts everywhere.
    return [dict(row) for row in rows] if rows else []


def is_unique_violation(exc: BaseException) -> bool:
    """True when `exc` is the database refusing a duplicate of a UNIQUE column (SQLite or PostgreSQL).

    A check-then-insert races on PostgreSQL (READ COMMITTED): the loser's INSERT raises this. Raise a domain
    error from it and let the transaction roll back.
    """
    import sqlite3

    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE constraint failed" in str(exc)
    try:
        from asyncpg.exceptions import UniqueViolationError
    except ImportError:  # pragma: no cover - asyncpg is a dependency
        return False
    return isinstance(exc, UniqueViolationError)


def now_sql() -> str:
    return "CURRENT_TIMESTAMP"
