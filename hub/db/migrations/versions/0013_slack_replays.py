"""Slack interactivity requests acted on, so that a replay of a signed click within five minutes is ignored

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db.schema import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_requests",
        sa.Column("signature_digest", sa.String(64), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_slack_requests_received_at", "slack_requests", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_slack_requests_received_at", table_name="slack_requests")
    op.drop_table("slack_requests")
