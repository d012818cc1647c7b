"""PostgreSQL keeps the JSON users send as they wrote it: `json` columns rather than `jsonb`

jsonb stores a number as `numeric`, whose text has no exponent and no negative zero, so a float read back changed:
1.5e300 as a 301-digit integer (and so any float from about 1e16 up), -0.0 as 0.0; it also sorts an object's keys.
`json` keeps the text the hub wrote. Rows stored before this revision were changed when they were written, and
stay so: their numbers and key order are jsonb's.

Rewrites the events table on PostgreSQL: `search` is computed from `tags` and `content`, and PostgreSQL changes no
column's type under a generated column, so `search` is dropped and added again (with the same expression) in the
one statement that converts the columns. That computes every event's words anew under a lock that holds reads and
writes of events until it is done (as migration 0009 did), and rebuilds its GIN index. The other tables are small.
A no-op on SQLite, which has no jsonb.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every JSON column of the hub's tables (hub.db.schema.JsonValue), by table.
COLUMNS = {
    "events": ("tags", "content", "actions"),
    "insights": ("value",),
    "identities": ("properties",),
    "sources": ("secrets",),
    "routing_rules": ("definition",),
    "action_runs": ("actor", "inputs"),
}


def upgrade() -> None:
    _convert("json")


def downgrade() -> None:
    _convert("jsonb")


def _convert(to: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    search = bind.exec_driver_sql(
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
        "ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = 'events'::regclass AND a.attname = 'search'"
    ).scalar_one()
    for table, columns in COLUMNS.items():
        changes = [f"ALTER COLUMN {column} TYPE {to} USING {column}::{to}" for column in columns]
        if table == "events":  # one statement, so one rewrite of the table; the index on `search` goes with it
            changes = [
                "DROP COLUMN search",
                *changes,
                f"ADD COLUMN search tsvector GENERATED ALWAYS AS ({search}) STORED",
            ]
        op.execute(f"ALTER TABLE {table} {', '.join(changes)}")
    op.execute("CREATE INDEX ix_events_search ON events USING gin (search)")
