"""Statements the hot write paths run with many rows at once, compiled once per dialect and fed tuples.

Profiled on the ingest and ping writers, SQLAlchemy's per-row parameter handling (a dict per row, then a type
processor call per value) cost more than the database's own work. A `Batch` compiles its statement once, takes
rows as tuples in its parameter order, and converts only the values whose type needs it (datetimes, JSON),
with SQLAlchemy's own processors, so the stored values are exactly what `conn.execute` would store.

On SQLite the rows go straight to the aiosqlite driver, inside the caller's transaction: one trip to the
driver's thread instead of three (cursor, executemany, close) plus SQLAlchemy's execution context, which cut the
ingest writer's CPU per event by about 15%. `run_together` sends several batches (an event group's events, tags
and channel counts) in that one trip. Each trip's answer waits in the event loop's queue behind the requests it
is serving; under single-event load the ingest writer spent most of its time waiting so. Going from nine trips
per transaction to three (with the one-trip BEGIN in hub.db.engine) gave about 12% more events/s, and
`commit_together`, which sends BEGIN and COMMIT in that same trip, about 9% more. Errors are wrapped as
SQLAlchemy's own (`IntegrityError`, ...).

An insert made with `inserting(..., one_statement=True)` sends its rows to SQLite as one JSON array, unpacked
by SQLite itself: `INSERT INTO t (a, b) SELECT json_extract(value, '$[0]'), ... FROM json_each(?)`.
`executemany` binds row by row and takes Python's lock back after every row, which waits while the event loop
is busy; for rows that cost SQLite real work (events, with their full-text trigger), one statement that runs
them all without the lock made batch ingest about 40% faster. For small rows (pings) it measured 7% slower, so
it is a choice per insert. JSON carries what these columns hold (text, 64-bit integers, finite floats,
booleans as 1 and 0, NULL); datetimes and JSON columns are converted to text first, as for any other statement.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

import msgspec
from sqlalchemy import (
    Dialect,
    Insert,
    LargeBinary,
    Table,
    Update,
    bindparam,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

Convert = Callable[[Any], Any]


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
        from_json: Insert | None = None,
    ) -> None:
        """`memoise`: parameters whose values repeat within a group, worth caching their conversion.
        `from_json`: the same insert reading its rows from one JSON array (see `inserting`), run on SQLite."""
        self.statement = statement
        self.names = tuple(names)
        self.memoise = frozenset(memoise)
        self.from_json = from_json
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
            if self.from_json is not None and dialect.name == "sqlite":
                compiled = self.from_json.compile(dialect=dialect)
            self._compiled[key] = (str(compiled), tuple(converts))
        return self._compiled[key]

    async def run(self, conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
        await run_together(conn, (self, rows))

    def prepared(self, dialect: Dialect, rows: Sequence[tuple[Any, ...]]) -> Prepared:
        """The SQL and its driver parameters: one statement's (JSON rows), or many rows for `executemany`."""
        sql, converts = self._compile(dialect)
        if converts:
            rows = [_converted(row, converts) for row in rows]
        if self.from_json is not None and dialect.name == "sqlite":
            # As text: SQLite 3.45 reads a BLOB given to its JSON functions as its binary JSON format.
            return Prepared(sql, (msgspec.json.encode(rows).decode(),), many=False)
        return Prepared(sql, rows, many=True)


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


async def commit_together(conn: AsyncConnection, *work: tuple[Batch, Sequence[tuple[Any, ...]]]) -> None:
    """Batches as a transaction of their own, committed when this returns.

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
        await _on_driver_thread(conn, statements, transaction=True)


def _prepare(dialect: Dialect, work: Sequence[tuple[Batch, Sequence[tuple[Any, ...]]]]) -> list[Prepared]:
    """The statements of the batches that have rows, in order."""
    return [batch.prepared(dialect, rows) for batch, rows in work if rows]


async def _on_driver_thread(conn: AsyncConnection, statements: list[Prepared], *, transaction: bool) -> None:
    """Run prepared statements in one trip to aiosqlite's thread; with `transaction`, inside their own one."""
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

    try:
        # aiosqlite has no public call for "run this on your thread"; `_execute` is the one its own methods use
        # (SQLAlchemy's adapter reaches into it the same way).
        await driver._execute(execute_all, driver._conn)
    except sqlite3.Error as exc:
        failed = running[0]
        raise DBAPIError.instance(
            failed.sql, failed.parameters, exc, sqlite3.Error, hide_parameters=True, dialect=conn.dialect
        ) from exc


def _converted(row: tuple[Any, ...], converts: tuple[tuple[int, Convert], ...]) -> tuple[Any, ...]:
    values = list(row)
    for position, convert in converts:
        if values[position] is not None:
            values[position] = convert(values[position])
    return tuple(values)


def inserting(table: Table, names: Sequence[str], *, memoise: Sequence[str] = (), one_statement: bool = False) -> Batch:
    """An INSERT of `names`; with `one_statement`, run on SQLite as one statement over JSON rows (see above)."""
    # inline(): no RETURNING of the new ids, which nothing reads.
    statement = insert(table).inline().values({name: bindparam(name) for name in names})
    if not one_statement:
        return Batch(statement, names, memoise=memoise)
    if binary := [name for name in names if isinstance(table.c[name].type, LargeBinary)]:
        raise ValueError(f"one_statement: JSON rows cannot carry the bytes of {', '.join(binary)}")
    rows = func.json_each(bindparam("rows")).table_valued("value")
    # json_extract rather than SQLite 3.38's `->>`: the same values, and older system SQLites have it.
    values = [func.json_extract(rows.c.value, literal_column(f"'$[{position}]'")) for position in range(len(names))]
    return Batch(statement, names, memoise=memoise, from_json=insert(table).from_select(names, select(*values)))
