"""heartbeat checks: `unique_key`, the public id of a check for callers that may read it but not ping it

Revision ID: heartbeat_0003
Revises: heartbeat_0002
Create Date: 2026-12-07
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "heartbeat_0003"
down_revision: str | None = "heartbeat_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: SQLite adds a NOT NULL column only with a default, and rebuilding the table would cascade-delete
    # its pings and flips. Every existing check gets a key here, every new one when it is made.
    op.add_column("heartbeat_checks", sa.Column("unique_key", sa.String(32), nullable=True))
    checks = sa.table("heartbeat_checks", sa.column("id", sa.Integer()), sa.column("unique_key", sa.String(32)))
    connection = op.get_bind()
    ids = connection.execute(sa.select(checks.c.id)).scalars().all()
    if ids:
        connection.execute(
            checks.update().where(checks.c.id == sa.bindparam("check_id")).values(unique_key=sa.bindparam("key")),
            [{"check_id": check_id, "key": secrets.token_hex(16)} for check_id in ids],
        )
    op.create_index("uq_heartbeat_checks_unique_key", "heartbeat_checks", ["unique_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_heartbeat_checks_unique_key", table_name="heartbeat_checks")
    with op.batch_alter_table("heartbeat_checks") as batch:
        batch.drop_column("unique_key")
