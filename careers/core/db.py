"""The database engine, chosen once from DATABASE_URL, and the transaction helper.

Piccolo binds every table to `piccolo_conf.DB` the first time it is used, so the
engine is built at import time from the environment. A test session picks its
engine by setting DATABASE_URL before anything imports the tables (one pytest run
per engine).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from careers.core.config import PROJECT_ROOT, Settings
from careers.core.sqlite_engine import CareersSQLiteEngine

# asyncpg prepares every statement it runs and keeps the plans per connection in an LRU cache; ours has a few
# hundred distinct statements, so the cache holds them all (asyncpg's default is 100).
STATEMENT_CACHE_SIZE = 1024


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
        # Long-lived reader and writer connections; a generous busy timeout for other processes' writers.
        return CareersSQLiteEngine(path=str(path), timeout=30)
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


async def start(settings: Settings | None = None) -> None:
    """Open the engine: WAL mode on SQLite, a connection pool of `settings.db_pool_size` on PostgreSQL."""
    if isinstance(DB, SQLiteEngine):
        await DB.run_ddl("PRAGMA journal_mode=WAL")
    else:
        size = (settings or Settings()).db_pool_size
        await DB.start_connection_pool(min_size=1, max_size=size, statement_cache_size=STATEMENT_CACHE_SIZE,
                                       init=_listen_to_statements, reset=_keep_session)


async def stop() -> None:
    if isinstance(DB, PostgresEngine):
        await DB.close_connection_pool()
    elif isinstance(DB, CareersSQLiteEngine):
        await DB.close_connections()


async def _keep_session(connection: Any) -> None:
    """Release a pooled connection without asyncpg's reset query (`RESET ALL; UNLISTEN *; …`), a second round trip
    after every pooled statement. asyncpg still rolls back an unfinished transaction first; nothing here sets
    session state, takes advisory locks or LISTENs on a pooled connection (a listener needs its own connection)."""


# ---- statement listeners (tests count what reaches the database) ------------------------------------------------

_LISTENERS: list[Callable[[str], None]] = []


def _notify(sql: str) -> None:
    for listener in list(_LISTENERS):
        listener(sql)


async def _listen_to_statements(connection: Any) -> None:
    connection.add_query_logger(lambda record: _notify(record.query))


def listen_to_statements(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call `listener(sql)` for every statement sent to the database (SQLite's trace callback, asyncpg's query
    logger); returns the function that stops it. Statements of a connection opened outside `start()` are missed."""
    _LISTENERS.append(listener)
    if isinstance(DB, CareersSQLiteEngine) and _notify not in DB.statement_listeners:
        DB.statement_listeners.append(_notify)
    return lambda: _LISTENERS.remove(listener)


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


def comma_list(expression: str) -> str:
    """An aggregate joining `expression`'s values with commas: `group_concat` on SQLite, `string_agg` on PostgreSQL."""
    return f"group_concat({expression}, ',')" if is_sqlite() else f"string_agg({expression}, ',')"


async def gather(*reads: Any) -> list[Any]:
    """Await independent queries together (each takes its own pooled or reader connection); one after another
    inside a transaction, whose one connection runs one statement at a time."""
    if DB.current_transaction.get() is not None:
        return [await read for read in reads]
    return list(await asyncio.gather(*reads))
