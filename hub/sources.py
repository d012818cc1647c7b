"""Webhook sources: the configured endpoints `POST /hooks/{plugin}/{name}`, each with a project and secrets.

Sources come from the config file (`[[sources]]`, re-applied on every start and owned by the file) or from the
admin API and CLI. Lookups are cached for a few seconds, like API keys.
"""

from __future__ import annotations

import secrets as random
import time
from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import RowMapping, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import SourceConfig
from hub.db import schema
from hub.db.engine import Database
from hub.db.events import ProjectDirectory
from hub.models import now_utc

CACHE_SECONDS = 5.0
# Lookups kept at most, misses included (names come from the URL): past it the cache starts again empty.
CACHE_MAX = 10_000


class SourceConflict(Exception):
    """The source is owned by the config file (or, for the file, by the API) and cannot be changed here."""


class StoredSource(msgspec.Struct, kw_only=True):
    id: str
    plugin: str
    name: str
    project: str
    channel: str | None
    secrets: list[str]
    managed_by: str
    created_at: datetime
    updated_at: datetime


class SourceStore:
    def __init__(self, db: Database, projects: ProjectDirectory) -> None:
        self.db = db
        self.projects = projects
        self._cache: dict[tuple[str, str], tuple[float, StoredSource | None]] = {}

    async def get(self, plugin: str, name: str) -> StoredSource | None:
        cached = self._cache.get((plugin, name))
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        s = schema.sources.c
        async with self.db.reader.connect() as conn:
            row = (
                (await conn.execute(select(schema.sources).where(s.plugin == plugin, s.name == name)))
                .mappings()
                .first()
            )
            found = await self._to_stored(conn, row) if row else None
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        self._cache[(plugin, name)] = (time.monotonic(), found)
        return found

    async def list(self) -> list[StoredSource]:
        s = schema.sources.c
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(select(schema.sources).order_by(s.plugin, s.name))).mappings().all()
            return [await self._to_stored(conn, row) for row in rows]

    async def save(
        self,
        *,
        plugin: str,
        name: str,
        project: str,
        secrets: Sequence[str],
        channel: str | None = None,
        managed_by: str = "api",
    ) -> StoredSource:
        """Create the source, or replace its project, channel and secrets."""
        now = now_utc()
        s = schema.sources.c
        async with self.db.writer.begin() as conn:
            project_id = (await self.projects.ensure(conn, [project.lower()], now))[project.lower()]
            existing = (
                await conn.execute(select(s.id, s.managed_by).where(s.plugin == plugin, s.name == name))
            ).first()
            values = {
                "project_id": project_id,
                "channel": channel.lower() if channel else None,
                "secrets": list(secrets),
                "updated_at": now,
            }
            if existing is None:
                await conn.execute(
                    schema.sources.insert().values(
                        id="src_" + random.token_hex(8),
                        plugin=plugin,
                        name=name,
                        managed_by=managed_by,
                        created_at=now,
                        **values,
                    )
                )
            elif existing.managed_by != managed_by:
                raise SourceConflict(_owner_message(plugin, name, existing.managed_by))
            else:
                await conn.execute(update(schema.sources).where(s.id == existing.id).values(**values))
        self._cache.clear()
        found = await self.get(plugin, name)
        assert found is not None
        return found

    async def delete(self, plugin: str, name: str, *, managed_by: str = "api") -> bool:
        s = schema.sources.c
        async with self.db.writer.begin() as conn:
            existing = (await conn.execute(select(s.managed_by).where(s.plugin == plugin, s.name == name))).first()
            if existing is None:
                return False
            if existing.managed_by != managed_by:
                raise SourceConflict(_owner_message(plugin, name, existing.managed_by))
            await conn.execute(delete(schema.sources).where(s.plugin == plugin, s.name == name))
        self._cache.clear()
        return True

    async def sync_config(self, declared: Sequence[SourceConfig]) -> None:
        """Make the config-owned sources exactly those in the file."""
        wanted = {(c.plugin, c.name) for c in declared}
        for config in declared:
            await self.save(
                plugin=config.plugin,
                name=config.name,
                project=config.project,
                secrets=config.secrets,
                channel=config.channel,
                managed_by="config",
            )
        for source in await self.list():
            if source.managed_by == "config" and (source.plugin, source.name) not in wanted:
                await self.delete(source.plugin, source.name, managed_by="config")

    async def _to_stored(self, conn: AsyncConnection, row: RowMapping) -> StoredSource:
        project = await self.projects.slug(conn, row["project_id"])
        return StoredSource(
            id=row["id"],
            plugin=row["plugin"],
            name=row["name"],
            project=project,
            channel=row["channel"],
            secrets=list(row["secrets"]),
            managed_by=row["managed_by"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


def _owner_message(plugin: str, name: str, owner: str) -> str:
    if owner == "config":
        return f"source {plugin}/{name} is declared in the config file; change it there"
    return f"source {plugin}/{name} was created through the API; remove it there before declaring it in the file"
