"""Admin API for webhook sources: list, create, replace (rotate secrets), delete."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, JSONBody

from hub.api.common import hub_admin, hub_of
from hub.core import Hub
from hub.models import NAME_PATTERN, Slug, ValidationProblem
from hub.sources import SourceConflict, StoredSource

SourceName = Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
Secrets = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=8, max_length=512)]], msgspec.Meta(min_length=1, max_length=10)
]


class SourceIn(msgspec.Struct, forbid_unknown_fields=True):
    plugin: str
    name: SourceName
    project: Slug
    secrets: Secrets
    channel: Slug | None = None


class SourceUpdate(msgspec.Struct, forbid_unknown_fields=True):
    project: Slug
    secrets: Secrets
    channel: Slug | None = None


class SourceOut(msgspec.Struct):
    id: str
    plugin: str
    name: str
    project: str
    channel: str | None
    url: str
    # Never the secrets themselves: how many there are and how each ends.
    secret_hints: list[str]
    managed_by: str
    created_at: datetime
    updated_at: datetime


def source_out(hub: Hub, source: StoredSource) -> SourceOut:
    return SourceOut(
        id=source.id,
        plugin=source.plugin,
        name=source.name,
        project=source.project,
        channel=source.channel,
        url=f"{hub.settings.public_url}/hooks/{source.plugin}/{source.name}",
        secret_hints=["…" + secret[-4:] for secret in source.secrets],
        managed_by=source.managed_by,
        created_at=source.created_at,
        updated_at=source.updated_at,
    )


def _check_plugin(hub: Hub, plugin: str) -> None:
    if plugin not in hub.plugins.sources:
        known = ", ".join(sorted(hub.plugins.sources)) or "none"
        raise ValidationProblem(f"`plugin` must be a loaded webhook source type ({known})", "plugin")


class SourcesController(Controller):
    path = "/api/v1/sources"
    tags = ["webhooks"]
    guards = [hub_admin]

    @get("/", summary="List webhook sources (secrets are never shown)")
    async def list(self, request: Request) -> list[SourceOut]:
        hub = hub_of(request)
        return [source_out(hub, s) for s in await hub.sources.list()]

    @post("/", summary="Create a webhook source")
    async def create(self, request: Request, data: JSONBody[SourceIn]) -> SourceOut:
        hub = hub_of(request)
        _check_plugin(hub, data.plugin)
        if await hub.sources.get(data.plugin, data.name) is not None:
            raise HTTPException(
                status_code=409, detail=f"source {data.plugin}/{data.name} already exists; PUT to change it"
            )
        stored = await hub.sources.save(
            plugin=data.plugin, name=data.name, project=data.project, secrets=data.secrets, channel=data.channel
        )
        return source_out(hub, stored)

    @put("/{plugin:str}/{name:str}", summary="Replace a source's project, channel and secrets (rotation)")
    async def replace(
        self, request: Request, plugin: FromPath[str], name: FromPath[str], data: JSONBody[SourceUpdate]
    ) -> SourceOut:
        hub = hub_of(request)
        if await hub.sources.get(plugin, name) is None:
            raise NotFoundException(f"no webhook source {plugin}/{name}")
        try:
            stored = await hub.sources.save(
                plugin=plugin, name=name, project=data.project, secrets=data.secrets, channel=data.channel
            )
        except SourceConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return source_out(hub, stored)

    @delete("/{plugin:str}/{name:str}", summary="Delete a source")
    async def remove(self, request: Request, plugin: FromPath[str], name: FromPath[str]) -> None:
        try:
            removed = await hub_of(request).sources.delete(plugin, name)
        except SourceConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        if not removed:
            raise NotFoundException(f"no webhook source {plugin}/{name}")
