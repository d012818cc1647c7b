"""one running run per event button and per self-service action, so a double click cannot run it twice

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As hub.db.schema at this revision.
RUNNING_BUTTON = "status = 'running' AND event_id IS NOT NULL"
RUNNING_SELF_SERVICE = "status = 'running' AND event_id IS NULL"
ABANDONED = "abandoned: the hub stopped before the answer"


def upgrade() -> None:
    # Runs a stopped hub left running would break the unique indexes: they will never finish.
    op.execute(
        sa.text("UPDATE action_runs SET status = 'failed', message = :message WHERE status = 'running'").bindparams(
            message=ABANDONED
        )
    )
    for name, columns, where in [
        ("ix_action_runs_running_button", ["event_id", "action"], RUNNING_BUTTON),
        ("ix_action_runs_running_self_service", ["project_id", "action"], RUNNING_SELF_SERVICE),
    ]:
        op.create_index(
            name, "action_runs", columns, unique=True, postgresql_where=sa.text(where), sqlite_where=sa.text(where)
        )


def downgrade() -> None:
    op.drop_index("ix_action_runs_running_self_service", table_name="action_runs")
    op.drop_index("ix_action_runs_running_button", table_name="action_runs")
