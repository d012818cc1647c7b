"""heartbeat checks: `methods`, Healthchecks' setting that counts only POST requests as pings

Revision ID: heartbeat_0004
Revises: heartbeat_0003
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "heartbeat_0004"
down_revision: str | None = "heartbeat_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("heartbeat_checks", sa.Column("methods", sa.String(8), server_default=sa.text("''"), nullable=False))


def downgrade() -> None:
    # In place (SQLite 3.35 and later, as the hub requires): a batch copy of the table would cascade-delete its pings.
    op.execute("ALTER TABLE heartbeat_checks DROP COLUMN methods")
