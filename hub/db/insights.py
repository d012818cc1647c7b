"""Insights (one live value per project and title) and identities (properties per user, or per user in a group).

Both are read-modify-write on one row, so each runs in one writer transaction: the row is created if missing
(INSERT ... ON CONFLICT DO NOTHING), then locked (`FOR UPDATE` on PostgreSQL; on SQLite the writer's
`BEGIN IMMEDIATE` already holds the database), then changed. Concurrent increments therefore add up exactly.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.db.dialect import insert_ignore, upsert
from hub.db.engine import Database
from hub.db.events import ProjectDirectory
from hub.models import ValidationProblem

InsightValue = str | int | float | bool
PropertyValue = str | int | float | bool


class Insight(msgspec.Struct):
    title: str
    value: InsightValue
    icon: str | None
    updated_at: datetime


class Identity(msgspec.Struct):
    user_id: str
    group_id: str
    properties: dict[str, PropertyValue]
    updated_at: datetime


async def set_insight(
    db: Database,
    projects: ProjectDirectory,
    project: str,
    title: str,
    value: InsightValue,
    icon: str | None,
    now: datetime,
) -> Insight:
    """Store the latest value; an insight sent without an icon keeps the one it had."""
    async with db.writer.begin() as conn:
        project_id = (await projects.ensure(conn, [project], now))[project]
        values: dict[str, Any] = {"project_id": project_id, "title": title, "value": value, "updated_at": now}
        if icon is not None:
            values["icon"] = icon
        statement = upsert(db, schema.insights, ["project_id", "title"], values)
        stored_icon = (await conn.execute(statement.returning(schema.insights.c.icon))).scalar_one()
    return Insight(title, value, stored_icon, now)


async def increment_insight(
    db: Database, projects: ProjectDirectory, project: str, title: str, by: int | float, icon: str | None, now: datetime
) -> Insight:
    """Add `by` to the stored number, or to 0 when the insight does not exist yet."""
    async with db.writer.begin() as conn:
        project_id = (await projects.ensure(conn, [project], now))[project]
        key = {"project_id": project_id, "title": title}
        await conn.execute(insert_ignore(db, schema.insights, {**key, "value": 0, "icon": icon, "updated_at": now}))
        row = await _locked(conn, schema.insights, key)
        current = row["value"]
        if isinstance(current, bool) or not isinstance(current, int | float):
            shown = msgspec.json.encode(current).decode()  # as JSON: `true`, not Python's `True`
            raise ValidationProblem(
                f"insight `{title}` holds {shown}, not a number, so it cannot be incremented", "value"
            )
        value = current + by
        if not math.isfinite(value) or (isinstance(value, int) and not -(2**63) <= value < 2**63):
            raise ValidationProblem(f"incrementing insight `{title}` by {by} overflows", "value")
        changes: dict[str, Any] = {"value": value, "updated_at": now}
        if icon is not None:
            changes["icon"] = icon
        await conn.execute(update(schema.insights).where(*_match(schema.insights, key)).values(changes))
    return Insight(title, value, icon if icon is not None else row["icon"], now)


async def identify(
    db: Database,
    projects: ProjectDirectory,
    project: str,
    user_id: str,
    group_id: str,
    properties: dict[str, PropertyValue],
    now: datetime,
) -> Identity:
    """Merge `properties` into the stored ones (a key sent again replaces its value); group '' is the user alone."""
    async with db.writer.begin() as conn:
        project_id = (await projects.ensure(conn, [project], now))[project]
        key = {"project_id": project_id, "user_id": user_id, "group_id": group_id}
        await conn.execute(insert_ignore(db, schema.identities, {**key, "properties": {}, "updated_at": now}))
        row = await _locked(conn, schema.identities, key)
        merged = {**row["properties"], **properties}
        await conn.execute(
            update(schema.identities).where(*_match(schema.identities, key)).values(properties=merged, updated_at=now)
        )
    return Identity(user_id, group_id, merged, now)


def _match(table: Table, key: dict[str, Any]) -> list[Any]:
    return [table.c[name] == value for name, value in key.items()]


async def _locked(conn: AsyncConnection, table: Table, key: dict[str, Any]) -> Any:
    """The row, locked until the transaction ends (SQLAlchemy leaves `FOR UPDATE` out on SQLite)."""
    result = await conn.execute(select(table).where(*_match(table, key)).with_for_update())
    return result.mappings().one()
