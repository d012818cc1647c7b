"""Statements the hot write paths run with many rows at once, compiled once per dialect and fed tuples.

Profiled on the ingest and ping writers, SQLAlchemy's per-row parameter handling (a dict per row, then a type
processor call per value) cost more than the database's own work. A `Batch` compiles its statement once, takes
rows as tuples in its parameter order, and converts only the values whose type needs it (datetimes, JSON),
with SQLAlchemy's own processors, so the stored values are what `conn.execute` would store (but None in a JSON
column, stored as SQL NULL rather than JSON `null`; both read back as None).

On SQLite the rows go straight to the aiosqlite driver, inside the caller's transaction: one trip to the
driver's thread instead of three (cursor, executemany, close) plus SQLAlchemy's execution context, which cut the
ingest writer's CPU per event by about 15%. `run_together` sends several batches (an event group's events, tags
and channel counts) in that one trip. Each trip's answer waits in the event loop's queue behind the requests it
is serving; under single-event load the ingest writer spent most of its time waiting so. Going from nine trips
per transaction to three (with the one-trip BEGIN in hub.db.engine) gave about 12% more events/s, and
`commit_together`, which sends BEGIN and COMMIT in that same trip, about 9% more. Errors are wrapped as
SQLAlchemy's own (`IntegrityError`, ...).

On SQLite an insert's rows go as multi-row statements, `INSERT INTO t (a, b) VALUES (?, ?), (?, ?), ...`,
rather than through `executemany`. `executemany` runs each row as a statement of its own: it takes Python's lock
back after every row, which waits while the event loop is busy, and FTS5 writes a new index segment at every
statement that touches it, so the events' full-text trigger flushed once per event. The JSON rows they replace
(`INSERT ... SELECT ... FROM json_each(?)`, one statement too) made SQLite parse every value out of the JSON text.
Measured with SQLite alone on the hub's schema, events cost 66 µs each in transactions of 16 as JSON rows and 55
µs as multi-row statements; 33 and 26 µs in transactions of 1,000, where `executemany` costs 55. A statement
holds any count of rows up to 16, else a power of two (at most 256, and within SQLite's cap on a statement's
parameters), so a writer prepares about twenty distinct statements per table rather than one per row count.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import Dialect, Insert, Table, Update, bindparam, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db.engine import lost_connection

Convert = Callable[[Any], Any]

# Row counts a multi-row statement takes: any up to ANY_COUNT_UP_TO, else a power of two up to MOST_ROWS.
ANY_COUNT_UP_TO = 16
MOST_ROWS = 256


class Prepared(NamedTuple):
    """A statement ready for the driver."""

    sql: str
    parameters: Any
    many: bool  # rows for `executemany`, rather than one statement's parameters


class Batch:
    """An INSERT or UPDATE with positional parameters `names`, run over many rows in one call to the driver."""

    def __init__(
        self,
        statement: Insert | Update,
        names: Sequence[str],
        *,
        memoise: Sequence[str] = (),
        multirow: bool = False,
    ) -> None:
        """`memoise`: parameters whose values repeat within a group, worth caching their conversion.
        `multirow`: an `INSERT ... VALUES (...)`, run on SQLite as multi-row statements (see above)."""
        self.statement = statement
        self.names = tuple(names)
        self.memoise = frozenset(memoise)
        self.multirow = multirow
        self._compiled: dict[str, tuple[str, tuple[tuple[int, Convert], ...]]] = {}

    def _compile(self, dialect: Dialect) -> tuple[str, tuple[tuple[int, Convert], ...]]:
        """The SQL text and, for each parameter that needs one, its position and conversion."""
        key = f"{dialect.name}+{dialect.driver}"
        if key not in self._compiled:
            compiled = self.statement.compile(dialect=dialect)
            assert tuple(compiled.positiontup or ()) == self.names, compiled.positiontup
            converts = []
            for position, name in enumerate(self.names):
                process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    if name in self.memoise:
                        process = lru_cache(maxsize=1024, typed=True)(process)
                    converts.append((position, process))
            self._compiled[key] = (str(compiled), tuple(converts))
        return self._compiled[key]

    async def run(self, conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
        await run_together(conn, (self, rows))

    def prepared(self, dialect: Dialect, rows: Sequence[tuple[Any, ...]]) -> list[Prepared]:
        """The SQL and driver parameters: multi-row statements, or one statement for `executemany`."""
        sql, converts = self._compile(dialect)
        if converts:
            rows = [_converted(row, converts) for row in rows]
        if not (self.multirow and dialect.name == "sqlite"):
            return [Prepared(sql, rows, many=True)]
        one_row = f"({', '.join('?' * len(self.names))})"
        if not sql.endswith(f" VALUES {one_row}"):
            raise ValueError(f"a multirow batch needs a plain INSERT of {', '.join(self.names)}")
        statements, start = [], 0
        for size in statement_sizes(len(rows), most=_most_rows(len(self.names))):
            chunk = rows[start : start + size]
            start += size
            statements.append(Prepared(sql + f", {one_row}" * (size - 1), list(chain.from_iterable(chunk)), False))
        return statements


async def run_together(conn: AsyncConnection, *work: tuple[Batch, Sequence[tuple[Any, ...]]]) -> None:
    """Run batches in order in the caller's transaction; on SQLite all of them in one trip to the driver's thread.

    Every trip waits for the event loop to come back to the writer, behind whatever requests it is serving.
    """
    statements = _prepare(conn.dialect, work)
    if not statements:
        return
    if conn.dialect.name != "sqlite":
        for statement in statements:
            await conn.exec_driver_sql(statement.sql, statement.parameters)
        return
    if not conn.in_transaction():
        await conn.begin()  # as SQLAlchemy would before its own statement, so a rollback undoes these rows
    await _on_driver_thread(conn, statements, transaction=False)


async def commit_together(
    conn: AsyncConnection, *work: tuple[Batch, Sequence[tuple[Any, ...]]], checkpoint: bool = False
) -> None:
    """Batches as a transaction of their own, committed when this returns; with `checkpoint`, on SQLite, a
    PASSIVE checkpoint right after the COMMIT, in the same trip (see hub.db.checkpoint).

    For a writer with nothing to read or decide between its BEGIN and its COMMIT (the ingest writer's usual
    group): on SQLite, `BEGIN IMMEDIATE`, the batches and `COMMIT` (or `ROLLBACK` on an error) go to the
    driver's thread in one trip instead of three. `conn` is a writer connection outside any transaction.
    """
    if conn.in_transaction():
        raise RuntimeError("commit_together() runs its own transaction; this connection is already in one")
    if conn.dialect.name != "sqlite":
        async with conn.begin():
            await run_together(conn, *work)
        return
    if statements := _prepare(conn.dialect, work):
        await _on_driver_thread(conn, statements, transaction=True, checkpoint=checkpoint)


def _prepare(dialect: Dialect, work: Sequence[tuple[Batch, Sequence[tuple[Any, ...]]]]) -> list[Prepared]:
    """The statements of the batches that have rows, in order."""
    return [statement for batch, rows in work if rows for statement in batch.prepared(dialect, rows)]


def statement_sizes(count: int, *, most: int) -> list[int]:
    """How many rows each multi-row statement takes, for `count` rows: any count up to ANY_COUNT_UP_TO, else
    the largest power of two that fits, so that a writer prepares only a few dozen distinct statements."""
    sizes = []
    while count:
        size = count if count <= min(ANY_COUNT_UP_TO, most) else min(most, 1 << (count.bit_length() - 1))
        sizes.append(size)
        count -= size
    return sizes


@cache
def _most_rows(columns: int) -> int:
    """MOST_ROWS, or the largest power of two of rows within this SQLite's cap on a statement's parameters."""
    probe = sqlite3.connect(":memory:")
    try:
        limit = probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # 32,766 by default; 999 before SQLite 3.32
    finally:
        probe.close()
    return min(MOST_ROWS, 1 << ((limit // columns).bit_length() - 1))


async def _on_driver_thread(
    conn: AsyncConnection, statements: list[Prepared], *, transaction: bool, checkpoint: bool = False
) -> None:
    """Run prepared statements in one trip to aiosqlite's thread; with `transaction`, inside their own one, and
    with `checkpoint` a checkpoint after it."""
    driver = (await conn.get_raw_connection()).driver_connection
    running = [Prepared("", (), many=False)]  # the statement at work, named in the error

    def execute(db: sqlite3.Connection, statement: Prepared) -> None:
        running[0] = statement
        if statement.many:
            db.executemany(statement.sql, statement.parameters)
        else:
            db.execute(statement.sql, statement.parameters)

    def execute_all(db: sqlite3.Connection) -> None:
        if transaction:
            execute(db, Prepared("BEGIN IMMEDIATE", (), many=False))
        try:
            for statement in statements:
                execute(db, statement)
            if transaction:
                execute(db, Prepared("COMMIT", (), many=False))
        except BaseException:
            if transaction and db.in_transaction:
                # The first error is the one to report; a transaction still open after this is rolled back when
                # the connection goes back to the pool (hub.db.engine).
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise
        if checkpoint:
            # The rows are committed whatever becomes of it: a checkpoint that fails is the background one's to do.
            with contextlib.suppress(sqlite3.Error):
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    try:
        # aiosqlite has no public call for "run this on your thread"; `_execute` is the one its own methods use
        # (SQLAlchemy's adapter reaches into it the same way).
        await driver._execute(execute_all, driver._conn)
    except sqlite3.Error as exc:
        failed = running[0]
        raise DBAPIError.instance(
            failed.sql, failed.parameters, exc, sqlite3.Error, hide_parameters=True, dialect=conn.dialect
        ) from exc
    except ValueError as exc:
        if (lost := lost_connection(statements[0].sql, exc, conn.dialect)) is None:
            raise
        await conn.invalidate(exc)
        raise lost from exc


def _converted(row: tuple[Any, ...], converts: tuple[tuple[int, Convert], ...]) -> tuple[Any, ...]:
    values = list(row)
    for position, convert in converts:
        if values[position] is not None:
            values[position] = convert(values[position])
    return tuple(values)


def inserting(table: Table, names: Sequence[str], *, memoise: Sequence[str] = ()) -> Batch:
    """An INSERT of `names`, run on SQLite as multi-row statements (see above)."""
    # inline(): no RETURNING of the new ids, which nothing reads.
    statement = insert(table).inline().values({name: bindparam(name) for name in names})
    return Batch(statement, names, memoise=memoise, multirow=True)
