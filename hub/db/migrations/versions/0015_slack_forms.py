"""The Slack cards whose run form is open, so that a run from the form updates the card as a button's run does

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db.schema import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_forms",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("card", sa.Text(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_slack_forms_opened_at", "slack_forms", ["opened_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_forms_opened_at", table_name="slack_forms")
    op.drop_table("slack_forms")
