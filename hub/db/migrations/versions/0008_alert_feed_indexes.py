"""indexes for severity filters without `info`, which now list context children too

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As hub.db.schema.ALERTS at this revision.
ALERTS = "severity <> 'info'"


def upgrade() -> None:
    for name, columns in [
        ("ix_events_alerts_feed", ["test", "created_at", "id"]),
        ("ix_events_alerts_project_feed", ["project_id", "test", "created_at", "id"]),
    ]:
        op.create_index(name, "events", columns, postgresql_where=sa.text(ALERTS), sqlite_where=sa.text(ALERTS))


def downgrade() -> None:
    op.drop_index("ix_events_alerts_project_feed", table_name="events")
    op.drop_index("ix_events_alerts_feed", table_name="events")
