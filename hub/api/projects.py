"""Projects, with their channels and insights."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from sqlalchemy import func, select

from hub.api.common import api_key, hub_of, require
from hub.api.filters import check_slug
from hub.db import schema


class ProjectOut(msgspec.Struct):
    slug: str
    created_at: datetime
    event_count: int


class ChannelOut(msgspec.Struct):
    name: str
    event_count: int
    last_event_at: datetime | None


class InsightOut(msgspec.Struct):
    title: str
    value: Any
    icon: str | None
    updated_at: datetime


class ProjectsController(Controller):
    path = "/api/v1/projects"
    tags = ["projects"]
    guards = [require("read")]

    @get("/", summary="Projects with their event counts")
    async def list_projects(self, request: Request) -> list[ProjectOut]:
        hub = hub_of(request)
        key = api_key(request)
        p, c = schema.projects.c, schema.channels.c
        query = (
            select(p.slug, p.created_at, func.coalesce(func.sum(c.event_count), 0).label("event_count"))
            .select_from(schema.projects.outerjoin(schema.channels, c.project_id == p.id))
            .group_by(p.id, p.slug, p.created_at)
            .order_by(p.slug)
        )
        if key.project_id is not None:
            query = query.where(p.id == key.project_id)
        if key.project_ids is not None:
            query = query.where(p.id.in_(key.project_ids))
        async with hub.db.reader.connect() as conn:
            return [ProjectOut(r.slug, r.created_at, int(r.event_count)) for r in await conn.execute(query)]

    @get("/{project:str}/channels", summary="A project's channels with event counts")
    async def list_channels(self, request: Request, project: FromPath[str]) -> list[ChannelOut]:
        hub = hub_of(request)
        project_id = await _readable_project(request, project)
        c = schema.channels.c
        async with hub.db.reader.connect() as conn:
            rows = await conn.execute(select(schema.channels).where(c.project_id == project_id).order_by(c.name))
            return [ChannelOut(r.name, r.event_count, r.last_event_at) for r in rows]

    @get("/{project:str}/insights", summary="A project's insights (KPI values)")
    async def list_insights(self, request: Request, project: FromPath[str]) -> list[InsightOut]:
        hub = hub_of(request)
        project_id = await _readable_project(request, project)
        i = schema.insights.c
        async with hub.db.reader.connect() as conn:
            rows = await conn.execute(select(schema.insights).where(i.project_id == project_id).order_by(i.title))
            return [InsightOut(r.title, r.value, r.icon, r.updated_at) for r in rows]


async def _readable_project(request: Request, project: str) -> int:
    """The project's id; 404 alike for a project that does not exist and for one the caller may not read, so the
    answer does not tell which (an existing project with no events yet is found: its lists are empty)."""
    check_slug(project, "project")
    slug = project.lower()
    hub = hub_of(request)
    async with hub.db.reader.connect() as conn:
        project_id = await hub.projects.lookup(conn, slug)
    if project_id is None or not api_key(request).sees(project_id):
        raise NotFoundException(f"no project {slug}")
    return project_id
