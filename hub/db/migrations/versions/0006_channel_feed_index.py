"""an index for a channel's feed across every project

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `?channel=deploys` without a project: without it, a rare channel meant walking the whole feed index.
    op.create_index(
        "ix_events_any_project_channel_feed",
        "events",
        ["channel", "test", "created_at", "id"],
        postgresql_where=sa.text("parent_id IS NULL"),
        sqlite_where=sa.text("parent_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_events_any_project_channel_feed", table_name="events")
