"""heartbeat checks: `manual_resume`, Healthchecks' flag that keeps a paused check paused when it is pinged

Revision ID: heartbeat_0002
Revises: heartbeat_0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "heartbeat_0002"
down_revision: str | None = "heartbeat_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "heartbeat_checks",
        sa.Column("manual_resume", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )


def downgrade() -> None:
    # In place (SQLite 3.35 and later, as the hub requires): a batch copy of the table cascade-deleted its pings.
    op.execute("ALTER TABLE heartbeat_checks DROP COLUMN manual_resume")
