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

events = sa.table(
    "events",
    sa.column("id"),
    sa.column("project_id"),
    sa.column("test", sa.Boolean),
    sa.column("context_id"),
    sa.column("parent_id"),
    sa.column("received_at", UTCDateTime()),
)
old = sa.table(
    "contexts",
    sa.column("project_id"),
    sa.column("context_id"),
    sa.column("parent_event_id"),
    sa.column("updated_at", UTCDateTime()),
)
new = sa.table(
    "contexts_by_mode",
    sa.column("project_id"),
    sa.column("test", sa.Boolean),
    sa.column("context_id"),
    sa.column("parent_event_id"),
    sa.column("updated_at", UTCDateTime()),
)


def upgrade() -> None:
    # A context was keyed by (project, context_id) alone, so a real event could hang under a test card: hidden
    # from the feed, and deleted with the card when test events expire (and a test event under a real card).
    strays = _move_strays_to_timelines_of_their_own()

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
    leaders = sa.select(
        old.c.project_id, events.c.test, old.c.context_id, old.c.parent_event_id, old.c.updated_at
    ).join(events, events.c.id == old.c.parent_event_id)
    op.execute(new.insert().from_select(["project_id", "test", "context_id", "parent_event_id", "updated_at"], leaders))
    bind = op.get_bind()
    kept = set(bind.execute(sa.select(new.c.project_id, new.c.test, new.c.context_id)).all())
    missing = [row for key, row in strays.items() if key not in kept]
    if missing:
        bind.execute(new.insert(), missing)
    op.drop_table("contexts")
    op.rename_table("contexts_by_mode", "contexts")
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE contexts RENAME CONSTRAINT pk_contexts_by_mode TO pk_contexts")


def _move_strays_to_timelines_of_their_own() -> dict[tuple[int, bool, str], dict[str, object]]:
    """Children whose card is of the other mode: per (project, mode, context), the first of them becomes the card
    and the others its children, so a real timeline that hung under a test card stays one timeline. Returns the
    context rows of those new cards."""
    bind = op.get_bind()
    parent = events.alias("parent")
    strays = bind.execute(
        sa.select(events.c.id, events.c.project_id, events.c.test, events.c.context_id, events.c.received_at)
        .join(parent, parent.c.id == events.c.parent_id)
        .where(parent.c.test != events.c.test)
        .order_by(events.c.id)
    ).all()
    cards: dict[tuple[int, bool, str], dict[str, object]] = {}
    children: dict[int, list[int]] = {}  # card id -> its children's ids
    card_of: dict[tuple[int, bool, str], int] = {}
    for row in strays:
        key = (row.project_id, row.test, row.context_id)
        if key in card_of:
            children[card_of[key]].append(row.id)
            continue
        card_of[key] = row.id
        children[row.id] = []
        cards[key] = {
            "project_id": row.project_id,
            "test": row.test,
            "context_id": row.context_id,
            "parent_event_id": row.id,
            "updated_at": row.received_at,
        }
    for card, ids in children.items():
        bind.execute(events.update().where(events.c.id == card).values(parent_id=None))
        for start in range(0, len(ids), 500):
            bind.execute(events.update().where(events.c.id.in_(ids[start : start + 500])).values(parent_id=card))
    return cards


def downgrade() -> None:
    raise NotImplementedError("contexts per test mode cannot be merged back without losing timelines")
