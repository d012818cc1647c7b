"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from hub.db.engine import Database


def _insert(db: Database, table: Table) -> Any:
    return (sqlite.insert if db.is_sqlite else postgresql.insert)(table)


def insert_ignore(db: Database, table: Table, values: dict[str, Any] | None = None) -> Insert:
    """INSERT that does nothing when the row's key already exists."""
    statement = _insert(db, table)
    if values is not None:
        statement = statement.values(values)
    return statement.on_conflict_do_nothing()


def upsert(
    db: Database,
    table: Table,
    key: Sequence[str],
    values: dict[str, Any],
    *,
    increment: Sequence[str] = (),
    greatest: Sequence[str] = (),
) -> Insert:
    """INSERT, or on a key clash update the other columns: replaced, added to (`increment`) or maxed (`greatest`)."""
    statement = _insert(db, table).values(values)
    biggest = func.max if db.is_sqlite else func.greatest
    updates: dict[str, Any] = {}
    for name in values:
        if name in key:
            continue
        if name in increment:
            updates[name] = table.c[name] + statement.excluded[name]
        elif name in greatest:
            # A NULL (a channel emptied by retention has no last event) takes the new value: SQLite's max(NULL, x)
            # is NULL, where PostgreSQL's greatest skips NULLs.
            updates[name] = biggest(func.coalesce(table.c[name], statement.excluded[name]), statement.excluded[name])
        else:
            updates[name] = statement.excluded[name]
    return statement.on_conflict_do_update(index_elements=list(key), set_=updates)
