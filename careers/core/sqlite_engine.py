"""Piccolo's SQLite engine with long-lived connections: readers in WAL mode and one writer per process.

Piccolo's own `SQLiteEngine` opens a new connection (and a new thread) for every query and every
transaction. Here each event loop keeps two reader connections for statements outside a transaction
(each on a one-thread executor of its own) and two writer connections taken in turn under one asyncio
lock, so the writers of one process queue in memory instead of in SQLite's busy handler:

- the quick writer (busy timeout 0) runs on the event loop's own thread: a write statement or a whole
  transaction (`BEGIN IMMEDIATE` … `COMMIT`) takes microseconds there, and never holds SQLite's write lock
  across a turn of a busy event loop (with a thread hop per statement, writers were measured queueing for
  seconds under load);
- when another process (the worker, another web worker) holds the write lock, the quick writer answers
  busy at once and the statement, or the transaction's BEGIN, goes to the patient writer, which waits up
  to the 30 s busy timeout on its own thread; the transaction's later statements then run inline.

Every transaction is IMMEDIATE (no read-to-write upgrade can deadlock). Executor threads are joined at
interpreter exit, so a process that never closes its connections still ends.
A process holding these connections must not open() and close() the database file itself (a copy, a backup):
closing any descriptor of the file drops the process's POSIX locks on it, and another process may then remove
the WAL under the open connections ("disk I/O error"). Read it from another process, or through sqlite3.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.querystring import QueryString

READ_PREFIXES = ("select", "with", "explain")


def is_read(sql: str) -> bool:
    """A statement a reader connection may run (reads never go through the writer's queue)."""
    return sql.lstrip().lower().startswith(READ_PREFIXES)


class Busy(Exception):
    """Another process holds SQLite's write lock."""


class Connection:
    """One sqlite3 connection, used only from its own thread; `execute` answers rows as dicts."""

    def __init__(self, connect_kwargs: dict[str, Any], trace: Callable[[str], None], *,
                 always_inline: bool = False) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="careers-sqlite")
        self._kwargs = connect_kwargs
        self._trace = trace
        self._db: sqlite3.Connection | None = None
        self.always_inline = always_inline
        self.inline = always_inline  # run statements on the caller's thread (see WriterTransaction)

    def _open(self) -> None:
        conn = sqlite3.connect(**self._kwargs, check_same_thread=False)
        conn.row_factory = dict_factory
        conn.execute("PRAGMA foreign_keys = 1")
        # WAL with synchronous=NORMAL: a commit appends to the WAL without an fsync (checkpoints still sync), so
        # the one writer is not paced by the disk; a power loss may undo the last commits, never corrupt the file.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.set_trace_callback(self._trace)
        self._db = conn

    def _run(self, sql: str, args: Any) -> list[dict]:
        assert self._db is not None
        cursor = self._db.execute(sql, args)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()

    def run_here(self, sql: str, args: Any = ()) -> list[dict]:
        """Run on the caller's thread; `Busy` when another process holds the write lock (busy timeout 0)."""
        try:
            return self._run(sql, list(args or ()))
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY:
                raise Busy() from exc
            raise

    async def open(self) -> "Connection":
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)
        return self

    async def execute(self, sql: str, args: Any = ()) -> list[dict]:
        if self.inline:
            return self._run(sql, list(args or ()))
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._run, sql, list(args or ()))

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=False)


class _Connections:
    """The connections of one event loop."""

    def __init__(self) -> None:
        self.readers: list[Connection] = []
        self.next_reader = 0
        self.writer: Connection | None = None  # waits up to the busy timeout, on its own thread
        self.quick: Connection | None = None  # busy timeout 0, on the event loop's thread
        self.write_lock = asyncio.Lock()
        self.opening = asyncio.Lock()

    async def write(self, sql: str, args: Any) -> list[dict]:
        """One statement outside a transaction (the caller holds `write_lock`): on the quick connection unless
        another process is writing, then on the patient one."""
        try:
            return self.quick.run_here(sql, args)  # type: ignore[union-attr]
        except Busy:
            return await self.writer.execute(sql, args)  # type: ignore[union-attr]

    async def begin_immediate(self) -> Connection:
        """BEGIN IMMEDIATE on the quick connection, or on the patient one when another process is writing; the
        connection then runs the transaction's statements on the event loop's thread."""
        try:
            self.quick.run_here("BEGIN IMMEDIATE")  # type: ignore[union-attr]
            return self.quick  # type: ignore[return-value]
        except Busy:
            await self.writer.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
            self.writer.inline = True  # type: ignore[union-attr]
            return self.writer  # type: ignore[return-value]


class WriterTransaction(SQLiteTransaction):
    """A transaction on the loop's single writer connection, held for its whole length; always IMMEDIATE.

    `BEGIN IMMEDIATE` runs on the connection's thread (it may wait up to the busy timeout for another process's
    writer). Once it holds SQLite's write lock, the transaction's statements, COMMIT and ROLLBACK run on the
    event loop's own thread: each takes microseconds and can no longer wait for a lock, while a hop to the thread
    and back would keep the write lock held across a turn of a busy event loop (measured: writers then queued
    for seconds under load).
    """

    __slots__ = ("_lock",)

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        engine: CareersSQLiteEngine = self.engine  # type: ignore[assignment]
        conns = await engine.connections()
        self._lock = conns.write_lock
        await self._lock.acquire()
        try:
            self.connection = await conns.begin_immediate()
        except BaseException:
            self._lock.release()
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent:
            return exception is None
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                try:
                    await self.commit()
                except BaseException:
                    await self.rollback()
                    raise
        finally:
            self.connection.inline = self.connection.always_inline
            self.engine.current_transaction.reset(self.context)
            self._lock.release()
        return exception is None


class CareersSQLiteEngine(SQLiteEngine):
    """SQLiteEngine with long-lived per-loop connections (see the module's docstring)."""

    def __init__(self, path: str, readers: int = 2, **connection_kwargs) -> None:
        super().__init__(path=path, **connection_kwargs)
        self.readers = max(1, readers)
        self.statement_listeners: list[Callable[[str], None]] = []
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connections] = \
            weakref.WeakKeyDictionary()

    def _trace(self, sql: str) -> None:
        for listener in list(self.statement_listeners):
            listener(sql)

    async def connections(self) -> _Connections:
        loop = asyncio.get_running_loop()
        conns = self._by_loop.get(loop)
        if conns is None:
            conns = self._by_loop[loop] = _Connections()
        if conns.writer is None:
            async with conns.opening:
                if conns.writer is None:
                    kwargs = dict(self.connection_kwargs)
                    conns.readers = [await Connection(kwargs, self._trace).open() for _ in range(self.readers)]
                    conns.writer = await Connection(kwargs, self._trace).open()
                    conns.quick = await Connection({**kwargs, "timeout": 0}, self._trace, always_inline=True).open()
        return conns

    async def close_connections(self) -> None:
        """Close this loop's connections (the next query opens new ones)."""
        conns = self._by_loop.pop(asyncio.get_running_loop(), None)
        if conns is None:
            return
        async with conns.write_lock:
            for conn in [*conns.readers, conns.writer, conns.quick]:
                if conn is not None:
                    await conn.close()

    def transaction(self, transaction_type: TransactionType = TransactionType.immediate,
                    allow_nested: bool = True) -> SQLiteTransaction:
        # Every transaction takes the one writer, so it may as well take the write lock at BEGIN.
        return WriterTransaction(engine=self, transaction_type=TransactionType.immediate, allow_nested=allow_nested)

    async def _run_in_existing_connection(self, connection, query: str, args=None, query_type: str = "generic",
                                          table=None):
        return await connection.execute(query, args or [])

    async def _run_in_new_connection(self, query: str, args=None, query_type: str = "generic", table=None):
        conns = await self.connections()
        if is_read(query):
            reader = conns.readers[conns.next_reader % len(conns.readers)]
            conns.next_reader += 1
            return await reader.execute(query, args or [])
        async with conns.write_lock:
            return await conns.write(query, args or [])

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False):
        query, query_args = querystring.compile_string(engine_type=self.engine_type)
        current = self.current_transaction.get()
        if current:
            return await current.connection.execute(query, query_args)
        return await self._run_in_new_connection(query, query_args)
