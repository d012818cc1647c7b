"""heartbeat checks: `unique_key`, the public id of a check for callers that may read it but not ping it

The events a check stored name it in `content.check`; they named it by UUID, which anyone who reads the feed could
then ping. They are rewritten to name it by its new key, in the core's events table (and SQLite's search index),
so this revision waits for the core's 0014, after which PostgreSQL stores content as `json`.

Revision ID: heartbeat_0003
Revises: heartbeat_0002
Create Date: 2026-12-07
"""

import json
import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "heartbeat_0003"
down_revision: str | None = "heartbeat_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "0014"

checks = sa.table(
    "heartbeat_checks", sa.column("id"), sa.column("uuid", sa.String()), sa.column("unique_key", sa.String())
)
events = sa.table("events", sa.column("id"), sa.column("source", sa.String()), sa.column("content"))
PAGE = 1000
# SQLite's FTS5 index keeps no copy of what it indexed: a row's old words are removed by giving them back.
FTS_DELETE = sa.text(
    "INSERT INTO events_fts(events_fts, rowid, event, description, tags, content) "
    "SELECT 'delete', id, event, description, tags, content FROM events WHERE id = :event_id"
)
FTS_INSERT = sa.text(
    "INSERT INTO events_fts(rowid, event, description, tags, content) "
    "SELECT id, event, description, tags, content FROM events WHERE id = :event_id"
)


def upgrade() -> None:
    # Nullable: SQLite adds a NOT NULL column only with a default, and rebuilding the table would cascade-delete
    # its pings and flips. Every existing check gets a key here, every new one when it is made.
    op.add_column("heartbeat_checks", sa.Column("unique_key", sa.String(32), nullable=True))
    connection = op.get_bind()
    keys = {uuid: secrets.token_hex(16) for uuid in connection.execute(sa.select(checks.c.uuid)).scalars()}
    if keys:
        connection.execute(
            checks.update().where(checks.c.uuid == sa.bindparam("check_uuid")).values(unique_key=sa.bindparam("key")),
            [{"check_uuid": uuid, "key": key} for uuid, key in keys.items()],
        )
        _rename_in_events(connection, keys)
    op.create_index("uq_heartbeat_checks_unique_key", "heartbeat_checks", ["unique_key"], unique=True)


def _rename_in_events(connection: sa.Connection, keys: dict[str, str]) -> None:
    """`content.check` from UUID to key in the heartbeat events, their JSON otherwise kept as written; a page at a
    time, as a check's failed runs can hold a lot of output."""
    sqlite = connection.dialect.name == "sqlite"
    new_content = sa.bindparam("content", type_=sa.Text())
    rename = (
        events.update()
        .where(events.c.id == sa.bindparam("event_id"))
        .values(content=new_content if sqlite else sa.cast(new_content, sa.JSON()))
    )
    page = (
        sa.select(events.c.id, sa.cast(events.c.content, sa.Text()))
        .where(events.c.source == "heartbeat", events.c.id > sa.bindparam("after"))
        .order_by(events.c.id)
        .limit(PAGE)
    )
    after = 0
    while rows := connection.execute(page, {"after": after}).all():
        after = rows[-1][0]
        renamed = []
        for event_id, content in rows:
            named = json.loads(content) if content else None
            uuid = named.get("check") if isinstance(named, dict) else None
            if uuid in keys:
                renamed.append({"event_id": event_id, "content": content.replace(uuid, keys[uuid])})
        if not renamed:
            continue
        if sqlite:
            connection.execute(FTS_DELETE, renamed)
        connection.execute(rename, renamed)
        if sqlite:
            connection.execute(FTS_INSERT, renamed)


def downgrade() -> None:
    # SQLite (3.35 and later, as the hub requires) drops a column in place: a batch copy of the table would
    # cascade-delete its pings. Events keep naming their check by the key it had.
    op.drop_index("uq_heartbeat_checks_unique_key", table_name="heartbeat_checks")
    op.execute("ALTER TABLE heartbeat_checks DROP COLUMN unique_key")
