"""heartbeat checks: `n_pings` and `last_duration`, as Healthchecks' API shows them

`n_pings` starts from the pings still stored (older ones were pruned after `ping_retention_days`), and
`last_duration` from the newest stored ping that measured a run.

Revision ID: heartbeat_0005
Revises: heartbeat_0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "heartbeat_0005"
down_revision: str | None = "heartbeat_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("heartbeat_checks", sa.Column("n_pings", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("heartbeat_checks", sa.Column("last_duration", sa.Float(), nullable=True))
    op.execute(
        "UPDATE heartbeat_checks SET "
        "n_pings = (SELECT count(*) FROM heartbeat_pings p WHERE p.check_id = heartbeat_checks.id), "
        "last_duration = (SELECT p.duration FROM heartbeat_pings p WHERE p.check_id = heartbeat_checks.id "
        "AND p.duration IS NOT NULL ORDER BY p.created_at DESC, p.id DESC LIMIT 1)"
    )


def downgrade() -> None:
    # In place (SQLite 3.35 and later, as the hub requires): a batch copy of the table would cascade-delete its pings.
    op.execute("ALTER TABLE heartbeat_checks DROP COLUMN last_duration")
    op.execute("ALTER TABLE heartbeat_checks DROP COLUMN n_pings")
