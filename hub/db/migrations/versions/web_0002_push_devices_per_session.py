"""push devices belong to the web app session that registered them, and end with it

Revision ID: web_0002
Revises: web_0001
Create Date: 2026-12-08

Rows already stored keep no session (NULL), as do devices an admin registers through the API: they go when the
user's sessions all end at once (a password change or reset), or with the user.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "web_0002"
down_revision: str | None = "web_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A batch: SQLite cannot add a foreign key to a table it has, so it copies the table into a new one.
    with op.batch_alter_table("push_subscriptions") as batch_op:
        batch_op.add_column(sa.Column("session_id", sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_push_subscriptions_session_id_sessions"), "sessions", ["session_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_index("ix_push_subscriptions_session_id", ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("push_subscriptions") as batch_op:
        batch_op.drop_index("ix_push_subscriptions_session_id")
        batch_op.drop_constraint(op.f("fk_push_subscriptions_session_id_sessions"), type_="foreignkey")
        batch_op.drop_column("session_id")
