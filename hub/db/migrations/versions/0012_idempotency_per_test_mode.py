"""idempotency keys per test mode: a test event's key never answers a real event with the same key

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYED = "idempotency_key IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_events_idempotency", table_name="events")
    op.create_index(
        "ix_events_idempotency",
        "events",
        ["project_id", "test", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text(KEYED),
        sqlite_where=sa.text(KEYED),
    )


def downgrade() -> None:
    # A key held by both a test and a real event would break the older index: the test event lets go of it.
    op.execute(
        sa.text(
            "UPDATE events SET idempotency_key = NULL WHERE test AND idempotency_key IS NOT NULL AND EXISTS "
            "(SELECT 1 FROM events AS r WHERE r.project_id = events.project_id AND NOT r.test "
            "AND r.idempotency_key = events.idempotency_key)"
        )
    )
    op.drop_index("ix_events_idempotency", table_name="events")
    op.create_index(
        "ix_events_idempotency",
        "events",
        ["project_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text(KEYED),
        sqlite_where=sa.text(KEYED),
    )
