"""The migrations build exactly the tables the code describes: a column, index or type changed in one place only
would otherwise show up as a query failing on one back end, or an index missing from upgraded databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hub_plugins.heartbeat import tables as heartbeat_tables
from sqlalchemy import MetaData

from hub.db import schema

# PostgreSQL's full-text column and its index: DDL of migrations 0001 and 0009 alone (FTS5's tables on SQLite are not in
# any metadata either), since the code only ever reads them through SQL text.
FULL_TEXT = {"search", "ix_events_search"}


def _differences(sync_connection: Any, metadata: MetaData) -> list[Any]:
    """What autogenerate would write to make the database match `metadata`, for `metadata`'s own tables."""
    own = set(metadata.tables)

    def include(item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        if name in FULL_TEXT:
            return False
        table = item if kind == "table" else getattr(item, "table", None)
        return (table.name if table is not None else name) in own

    context = MigrationContext.configure(sync_connection, opts={"compare_type": True, "include_object": include})
    return compare_metadata(context, metadata)


async def test_the_migrated_database_matches_the_schema_in_the_code(hub):
    for metadata in (schema.metadata, heartbeat_tables.metadata):
        async with hub.db.writer.connect() as conn:
            differences = await conn.run_sync(_differences, metadata)
        assert differences == [], differences
