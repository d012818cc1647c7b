"""Statements the ping writer runs with many rows at once, compiled once per dialect and fed tuples.

Profiled at 64 pings a transaction, SQLAlchemy's per-row parameter handling (a dict per row, then a type
processor call per value) cost the writer more than SQLite's own work. A `Batch` compiles its statement once,
takes rows as tuples in its parameter order, and converts only the values whose type needs it (datetimes),
memoised because a group's datetimes repeat (`now`, and the deadlines of checks on the same schedule).
The conversions are SQLAlchemy's own, so the stored values are exactly what `conn.execute` would store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Dialect, Insert, Update, bindparam, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from . import tables

Convert = Callable[[Any], Any]


class Batch:
    """An INSERT or UPDATE with positional parameters `names`, run as one executemany."""

    def __init__(self, statement: Insert | Update, names: Sequence[str]) -> None:
        self.statement = statement
        self.names = tuple(names)
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
                    converts.append((position, lru_cache(maxsize=1024, typed=True)(process)))
            self._compiled[key] = (str(compiled), tuple(converts))
        return self._compiled[key]

    async def run(self, conn: AsyncConnection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        sql, converts = self._compile(conn.dialect)
        if converts:
            rows = [_converted(row, converts) for row in rows]
        await conn.exec_driver_sql(sql, rows)


def _converted(row: tuple[Any, ...], converts: tuple[tuple[int, Convert], ...]) -> tuple[Any, ...]:
    values = list(row)
    for position, convert in converts:
        if values[position] is not None:
            values[position] = convert(values[position])
    return tuple(values)


def inserting(table: Any, names: Sequence[str]) -> Batch:
    # inline(): no RETURNING of the new ids, which nothing reads.
    return Batch(insert(table).inline().values({name: bindparam(name) for name in names}), names)


PING_COLUMNS = (
    "check_id",
    "created_at",
    "kind",
    "exit_status",
    "rid",
    "method",
    "remote_addr",
    "user_agent",
    "body",
    "body_size",
    "body_truncated",
    "duration",
)
FLIP_COLUMNS = ("check_id", "created_at", "old_status", "new_status", "reason", "outage")


def updating_states(fields: Sequence[str]) -> Batch:
    """UPDATE of a check's state `fields`, then its id, by position."""
    statement = (
        update(tables.checks)
        .where(tables.checks.c.id == bindparam("check_id"))
        .values({name: bindparam(f"new_{name}") for name in fields})
    )
    return Batch(statement, [*(f"new_{name}" for name in fields), "check_id"])
