"""Named secrets the hub makes for itself and must keep across restarts (the VAPID key pair)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from hub.db import schema
from hub.db.dialect import insert_ignore
from hub.db.engine import Database
from hub.models import now_utc


async def keep_secret(db: Database, name: str, make: Callable[[], str]) -> str:
    """The stored value of `name`, or `make()` stored now; when processes race, the first one stored wins."""
    s = schema.hub_secrets.c
    async with db.reader.connect() as conn:
        found = (await conn.execute(select(s.value).where(s.name == name))).scalar()
    if found is not None:
        return found
    async with db.writer.begin() as conn:
        await conn.execute(
            insert_ignore(db, schema.hub_secrets, {"name": name, "value": make(), "created_at": now_utc()})
        )
        return (await conn.execute(select(s.value).where(s.name == name))).scalar_one()
