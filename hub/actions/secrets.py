"""Each project's action signing secret: made on first use, shown to admins, rotated with a grace period.

Only a project the hub knows has one: a stored project (its first event or insight, a bound key, a source or a
member made it), or one a self-service action in the config file names, stored here as its first run would be.
Asking for the secret of any other project stores nothing: a typo makes no project.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.actions.signing import new_secret
from hub.db import schema
from hub.db.dialect import insert_ignore
from hub.db.engine import Database
from hub.db.events import ProjectDirectory
from hub.models import now_utc


class UnknownProject(LookupError):
    """No stored project has this slug, and no self-service action names it."""


class SecretInfo(msgspec.Struct):
    project: str
    secret: str
    # After a rotation the previous secret also signs until this instant.
    previous_valid_until: datetime | None
    created_at: datetime
    rotated_at: datetime | None


class ActionSecrets:
    def __init__(self, db: Database, projects: ProjectDirectory, grace: timedelta, configured: Iterable[str]) -> None:
        self.db = db
        self.projects = projects
        self.grace = grace
        # The projects of the config file's self-service actions: their secret is wanted before their first run.
        self.configured = frozenset(configured)

    async def info(self, project: str) -> SecretInfo:
        """The project's secret, created now if it has none (the first process to store one wins).
        Raises UnknownProject for a project the hub does not know."""
        project = project.lower()
        s = schema.action_secrets.c
        now = now_utc()
        async with self.db.writer.begin() as conn:
            project_id = await self._project_id(conn, project, now)
            await conn.execute(
                insert_ignore(
                    self.db,
                    schema.action_secrets,
                    {"project_id": project_id, "secret": new_secret(), "created_at": now},
                )
            )
            row = (await conn.execute(select(schema.action_secrets).where(s.project_id == project_id))).one()
        return self._info(project, row)

    def _info(self, project: str, row: Any) -> SecretInfo:
        until = row.rotated_at + self.grace if row.rotated_at and row.previous_secret else None
        return SecretInfo(project, row.secret, until, row.created_at, row.rotated_at)

    async def _project_id(self, conn: AsyncConnection, project: str, now: datetime) -> int:
        if project in self.configured:
            return (await self.projects.ensure(conn, [project], now))[project]
        project_id = await self.projects.lookup(conn, project)
        if project_id is None:
            raise UnknownProject(f"no project {project}")
        return project_id

    async def rotate(self, project: str) -> SecretInfo:
        """Raises UnknownProject as info() does."""
        await self.info(project)
        s = schema.action_secrets.c
        async with self.db.writer.begin() as conn:
            project_id = await self.projects.lookup(conn, project.lower())
            # The previous secret from the row as it is updated, not as read before, and the answer from the row
            # this rotation wrote: of two rotations at once, the second keeps the first one's secret as the
            # previous, and each caller is given its own.
            rotated = update(schema.action_secrets).where(s.project_id == project_id)
            rotated = rotated.values(secret=new_secret(), previous_secret=s.secret, rotated_at=now_utc())
            row = (await conn.execute(rotated.returning(*schema.action_secrets.c))).one()
        return self._info(project.lower(), row)

    async def signing_secrets(self, project: str) -> list[str]:
        """The secrets a request is signed with now: the current one, and the previous within its grace."""
        info = await self.info(project)
        if info.previous_valid_until is None or info.previous_valid_until <= now_utc():
            return [info.secret]
        s = schema.action_secrets.c
        async with self.db.reader.connect() as conn:
            project_id = await self.projects.lookup(conn, project.lower())
            previous = (await conn.execute(select(s.previous_secret).where(s.project_id == project_id))).scalar()
        return [info.secret, previous] if previous else [info.secret]
