"""Each project's action signing secret: made on first use, shown to admins, rotated with a grace period."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from sqlalchemy import select, update

from hub.actions.signing import new_secret
from hub.db import schema
from hub.db.dialect import insert_ignore
from hub.db.engine import Database
from hub.db.events import ProjectDirectory
from hub.models import now_utc


class SecretInfo(msgspec.Struct):
    project: str
    secret: str
    # After a rotation the previous secret also signs until this instant.
    previous_valid_until: datetime | None
    created_at: datetime
    rotated_at: datetime | None


class ActionSecrets:
    def __init__(self, db: Database, projects: ProjectDirectory, grace: timedelta) -> None:
        self.db = db
        self.projects = projects
        self.grace = grace

    async def info(self, project: str) -> SecretInfo:
        """The project's secret, created now if it has none (the first process to store one wins)."""
        project = project.lower()
        s = schema.action_secrets.c
        now = now_utc()
        async with self.db.writer.begin() as conn:
            project_id = (await self.projects.ensure(conn, [project], now))[project]
            await conn.execute(
                insert_ignore(
                    self.db,
                    schema.action_secrets,
                    {"project_id": project_id, "secret": new_secret(), "created_at": now},
                )
            )
            row = (await conn.execute(select(schema.action_secrets).where(s.project_id == project_id))).one()
        until = row.rotated_at + self.grace if row.rotated_at and row.previous_secret else None
        return SecretInfo(project, row.secret, until, row.created_at, row.rotated_at)

    async def rotate(self, project: str) -> SecretInfo:
        await self.info(project)
        s = schema.action_secrets.c
        async with self.db.writer.begin() as conn:
            project_id = await self.projects.lookup(conn, project.lower())
            current = (await conn.execute(select(s.secret).where(s.project_id == project_id))).scalar_one()
            await conn.execute(
                update(schema.action_secrets)
                .where(s.project_id == project_id)
                .values(secret=new_secret(), previous_secret=current, rotated_at=now_utc())
            )
        return await self.info(project)

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
