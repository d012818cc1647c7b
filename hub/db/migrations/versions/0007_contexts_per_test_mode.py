"""contexts per test mode: a real event never joins a test event's timeline, nor the other way round

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hub.db.schema import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

events = sa.table("events", sa.column("id"), sa.column("parent_id"), sa.column("test", sa.Boolean))
old = sa.table(
    "contexts",
    sa.column("project_id"),
    sa.column("context_id"),
    sa.column("parent_event_id"),
    sa.column("updated_at"),
)


def upgrade() -> None:
    # A context was keyed by (project, context_id) alone, so a real event could hang under a test card: hidden
    # from the feed, and deleted with the card when test events expire. Such children become cards of their own.
    parent = events.alias("parent")
    other_mode = (
        sa.select(parent.c.id).where(parent.c.id == events.c.parent_id, parent.c.test != events.c.test).exists()
    )
    op.execute(events.update().where(events.c.parent_id.is_not(None), other_mode).values(parent_id=None))

    op.create_table(
        "contexts_by_mode",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("context_id", sa.String(length=128), nullable=False),
        sa.Column("parent_event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_contexts_project_id_projects"), ondelete="CASCADE"
        ),
        # Renamed below: PostgreSQL names the index behind it, and the old table's `pk_contexts` still exists.
        sa.PrimaryKeyConstraint("project_id", "test", "context_id", name=op.f("pk_contexts_by_mode")),
    )
    new = sa.table(
        "contexts_by_mode",
        *(sa.column(name) for name in ("project_id", "test", "context_id", "parent_event_id", "updated_at")),
    )
    leaders = sa.select(
        old.c.project_id, events.c.test, old.c.context_id, old.c.parent_event_id, old.c.updated_at
    ).join(events, events.c.id == old.c.parent_event_id)
    op.execute(new.insert().from_select(["project_id", "test", "context_id", "parent_event_id", "updated_at"], leaders))
    op.drop_table("contexts")
    op.rename_table("contexts_by_mode", "contexts")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE contexts RENAME CONSTRAINT pk_contexts_by_mode TO pk_contexts")


def downgrade() -> None:
    raise NotImplementedError("contexts per test mode cannot be merged back without losing timelines")
