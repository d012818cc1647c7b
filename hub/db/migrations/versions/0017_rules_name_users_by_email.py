"""stored routing rules name users by email

A `user` target is a user's email: routing matches people by it. The admin API used to take a user's id as well,
which then notified nobody; a rule stored so no longer validates, and would be skipped whole, its other targets
with it. Each such target now names the user's email; one naming a user that is gone is dropped, unless it is the
rule's only target (that rule notified nobody already, and is logged and skipped until saved again).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from hub.db.schema import JsonValue

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES = sa.table("routing_rules", sa.column("name", sa.String), sa.column("definition", JsonValue))
USERS = sa.table("users", sa.column("id", sa.String), sa.column("email", sa.String))


def upgrade() -> None:
    bind = op.get_bind()
    emails = {user_id: email for user_id, email in bind.execute(sa.select(USERS.c.id, USERS.c.email))}
    for name, definition in bind.execute(sa.select(RULES.c.name, RULES.c.definition)).all():
        targets = by_email(definition.get("targets") or [], emails)
        if targets != definition.get("targets"):
            new = {**definition, "targets": targets}
            bind.execute(RULES.update().where(RULES.c.name == name).values(definition=new))


def by_email(targets: list[dict[str, Any]], emails: dict[str, str]) -> list[dict[str, Any]]:
    """The targets with each user's id replaced by their email, and those naming no user left out (if any remain)."""
    named = []
    for target in targets:
        user = target.get("user")
        if isinstance(user, str) and "@" not in user:
            if user not in emails:
                continue
            target = {**target, "user": emails[user]}
        named.append(target)
    return named or targets


def downgrade() -> None:
    """Nothing to undo: an email is what the earlier revisions took as well."""
