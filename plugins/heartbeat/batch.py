"""The ping writer's statements, run with many rows at once (see `hub.db.batch` for why).

A group's datetimes repeat (`now`, and the deadlines of checks on the same schedule), so every conversion is
memoised.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, update

from hub.pluginapi import Batch

from . import tables

PING_COLUMNS = (
    "check_id",
    "created_at",
    "kind",
    "exit_status",
    "rid",
    "method",
    "remote_addr",
    "user_agent",
    "body",
    "body_size",
    "body_truncated",
    "duration",
)
FLIP_COLUMNS = ("check_id", "created_at", "old_status", "new_status", "reason", "outage")


def updating_states(fields: Sequence[str]) -> Batch:
    """UPDATE of a check's state `fields`, then its id, by position."""
    statement = (
        update(tables.checks)
        .where(tables.checks.c.id == bindparam("check_id"))
        .values({name: bindparam(f"new_{name}") for name in fields})
    )
    names = [*(f"new_{name}" for name in fields), "check_id"]
    return Batch(statement, names, memoise=names)
