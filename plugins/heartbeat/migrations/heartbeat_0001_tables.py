"""heartbeat tables: projects' ping and badge keys, checks, pings, flips

Revision ID: heartbeat_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "heartbeat_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = ("heartbeat",)
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "heartbeat_projects",
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("ping_key", sa.String(32), nullable=False),
        sa.Column("badge_key", sa.String(32), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("project", name="pk_heartbeat_projects"),
        sa.UniqueConstraint("ping_key", name="uq_heartbeat_projects_ping_key"),
        sa.UniqueConstraint("badge_key", name="uq_heartbeat_projects_badge_key"),
    )
    op.create_table(
        "heartbeat_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("period", sa.Integer(), nullable=True),
        sa.Column("cron", sa.String(100), nullable=True),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("grace", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(8), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("last_ping_at", UTC_TIME, nullable=True),
        sa.Column("last_start_at", UTC_TIME, nullable=True),
        sa.Column("last_start_rid", sa.String(36), nullable=True),
        sa.Column("down_since", UTC_TIME, nullable=True),
        sa.Column("expected_at", UTC_TIME, nullable=True),
        sa.Column("alert_after", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_heartbeat_checks"),
        sa.UniqueConstraint("uuid", name="uq_heartbeat_checks_uuid"),
    )
    op.create_index("uq_heartbeat_checks_project_slug", "heartbeat_checks", ["project", "slug"], unique=True)
    op.create_index(
        "ix_heartbeat_checks_alert_after",
        "heartbeat_checks",
        ["alert_after"],
        postgresql_where=sa.text("alert_after IS NOT NULL"),
        sqlite_where=sa.text("alert_after IS NOT NULL"),
    )
    op.create_table(
        "heartbeat_pings",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("exit_status", sa.SmallInteger(), nullable=True),
        sa.Column("rid", sa.String(36), nullable=True),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(256), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("body_size", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("body_truncated", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["heartbeat_checks.id"],
            name="fk_heartbeat_pings_check_id_heartbeat_checks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_heartbeat_pings"),
    )
    op.create_index("ix_heartbeat_pings_history", "heartbeat_pings", ["check_id", "created_at", "id"])
    op.create_index("ix_heartbeat_pings_created_at", "heartbeat_pings", ["created_at"])
    op.create_table(
        "heartbeat_flips",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("old_status", sa.String(8), nullable=False),
        sa.Column("new_status", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("outage", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["heartbeat_checks.id"],
            name="fk_heartbeat_flips_check_id_heartbeat_checks",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_heartbeat_flips"),
    )
    op.create_index("ix_heartbeat_flips_history", "heartbeat_flips", ["check_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_table("heartbeat_flips")
    op.drop_table("heartbeat_pings")
    op.drop_table("heartbeat_checks")
    op.drop_table("heartbeat_projects")
