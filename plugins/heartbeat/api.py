"""`/api/v1/checks`: manage checks (admin scope) and read them and their history (read scope).

A key bound to a project, or a signed-in member, sees and manages only the checks of its projects; a check in
another project answers 404, as if it did not exist. A read-only caller gets no UUID or ping URL (a ping changes
a check's state): it names checks by their `unique_key`, which every route here takes in place of the UUID.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import JSONBody, Parameter

from hub.pluginapi import HubContext, api_key, refuse_unknown, require_scope

from . import store
from .models import CheckOut, CheckPatch, CheckSpec, FlipOut, PingOut, ProjectKeysOut, check_project
from .service import service
from .states import pause, resume

Req = Request[Any, Any, Any]
# The hub's `hub` dependency, asked for by name, as the plugin contract offers it to route handlers.
Hub = NamedDependency[HubContext]
CheckId = Annotated[str, Parameter(description="the check's UUID, or its `unique_key`", max_length=36)]
Cursor = Annotated[str | None, Parameter(description="`next_cursor` of the previous page", max_length=200)]
Limit = Annotated[int, Parameter(description="items per page", ge=1, le=store.MAX_PAGE)]
ProjectFilter = Annotated[str | None, Parameter(description="only this project's checks", max_length=64)]


class Page(msgspec.Struct):
    items: list[Any]
    next_cursor: str | None


class CheckPage(Page):
    items: list[CheckOut]


class PingPage(Page):
    items: list[PingOut]


class FlipPage(Page):
    items: list[FlipOut]


async def _allowed(hub: HubContext, request: Req, project: str | None = None) -> frozenset[str] | None:
    """The projects the caller may see (None: all); 403 when it names one outside them."""
    allowed = await hub.projects_of(api_key(request))
    if project is not None and allowed is not None and project.lower() not in allowed:
        raise PermissionDeniedException(f"you may not read or manage project `{project.lower()}`")
    return allowed


def _visible(allowed: frozenset[str] | None, row: store.Row | None) -> store.Row:
    if row is None or (allowed is not None and row["project"] not in allowed):
        raise NotFoundException("no such check")
    return row


async def _load(hub: HubContext, request: Req, check_id: str) -> store.Row:
    allowed = await _allowed(hub, request)
    async with hub.db.reader.connect() as conn:
        return _visible(allowed, await store.find_check(conn, check_id.lower()))


def _out(hub: HubContext, request: Req, row: store.Row) -> CheckOut:
    """Only a caller that may manage checks sees how to ping one (a read-only one could change its state)."""
    return store.check_out(row, service(hub).now(), hub.public_url, may_ping=api_key(request).allows("admin"))


def project_keys_out(hub: HubContext, row: store.Row) -> ProjectKeysOut:
    return ProjectKeysOut(
        project=row["project"],
        ping_key=row["ping_key"],
        badge_key=row["badge_key"],
        ping_url=f"{hub.public_url}/ping/{row['ping_key']}/{{slug}}",
        badge_url=f"{hub.public_url}/badge/{row['badge_key']}/{{slug-or-{row['project']}}}.svg",
    )


class ChecksController(Controller):
    path = "/api/v1/checks"
    tags = ["heartbeat"]

    @get("/", guards=[require_scope("read")], summary="List checks, newest first")
    async def list_checks(
        self, request: Req, hub: Hub, project: ProjectFilter = None, cursor: Cursor = None, limit: Limit = 50
    ) -> CheckPage:
        refuse_unknown(request, ("project", "cursor", "limit"))  # `?projct=ops` listed every check
        allowed = await _allowed(hub, request, project)
        wanted = [project.lower()] if project else allowed
        async with hub.db.reader.connect() as conn:
            rows, next_cursor = await store.list_checks(conn, wanted, cursor, limit)
        return CheckPage(items=[_out(hub, request, r) for r in rows], next_cursor=next_cursor)

    @post("/", guards=[require_scope("admin")], summary="Create a check (give `period` or `cron`)")
    async def create_check(self, request: Req, hub: Hub, data: JSONBody[CheckSpec]) -> CheckOut:
        spec = data
        await _allowed(hub, request, spec.project)
        try:
            async with hub.db.writer.begin() as conn:
                row = await store.create_check(hub.db, conn, spec, origin="api", now=service(hub).now())
        except store.Conflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return _out(hub, request, row)

    @get("/{check_id:str}", guards=[require_scope("read")], summary="One check")
    async def get_check(self, request: Req, hub: Hub, check_id: CheckId) -> CheckOut:
        return _out(hub, request, await _load(hub, request, check_id))

    @patch("/{check_id:str}", guards=[require_scope("admin")], summary="Change a check's name, slug or schedule")
    async def update_check(self, request: Req, hub: Hub, check_id: CheckId, data: JSONBody[CheckPatch]) -> CheckOut:
        changes = data
        allowed = await _allowed(hub, request)
        try:
            async with hub.db.writer.begin() as conn:
                row = _visible(allowed, await store.find_check(conn, check_id.lower(), lock=True))
                row = await store.update_check(conn, row, changes)
        except store.Conflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        return _out(hub, request, row)

    @delete("/{check_id:str}", guards=[require_scope("admin")], summary="Delete a check and its history")
    async def delete_check(self, request: Req, hub: Hub, check_id: CheckId) -> None:
        allowed = await _allowed(hub, request)
        async with hub.db.writer.begin() as conn:
            row = _visible(allowed, await store.find_check(conn, check_id.lower()))
            await store.delete_check(conn, row["id"])

    @post("/{check_id:str}/pause", guards=[require_scope("admin")], status_code=200, summary="Pause alerts")
    async def pause_check(self, request: Req, hub: Hub, check_id: CheckId) -> CheckOut:
        return await self._change(request, hub, check_id, pause)

    @post("/{check_id:str}/resume", guards=[require_scope("admin")], status_code=200, summary="Resume a check")
    async def resume_check(self, request: Req, hub: Hub, check_id: CheckId) -> CheckOut:
        return await self._change(request, hub, check_id, resume)

    async def _change(self, request: Req, hub: HubContext, check_id: str, change: Any) -> CheckOut:
        allowed = await _allowed(hub, request)
        async with hub.db.writer.begin() as conn:
            row = _visible(allowed, await store.find_check(conn, check_id.lower(), lock=True))
            state, flip = change(store.state_of(row), service(hub).now())
            await store.save_state(conn, row["id"], state, flip)
            row = await store.find_check(conn, row["uuid"])
        return _out(hub, request, _visible(allowed, row))

    @get("/{check_id:str}/pings", guards=[require_scope("read")], summary="A check's pings, newest first")
    async def list_pings(
        self, request: Req, hub: Hub, check_id: CheckId, cursor: Cursor = None, limit: Limit = 50
    ) -> PingPage:
        refuse_unknown(request, ("cursor", "limit"))
        row = await _load(hub, request, check_id)
        async with hub.db.reader.connect() as conn:
            items, next_cursor = await store.list_pings(conn, row["id"], cursor, limit)
        return PingPage(items=items, next_cursor=next_cursor)

    @get(
        "/{check_id:str}/flips",
        guards=[require_scope("read")],
        summary="A check's state changes, newest first (`outage` on each recovery)",
    )
    async def list_flips(
        self, request: Req, hub: Hub, check_id: CheckId, cursor: Cursor = None, limit: Limit = 50
    ) -> FlipPage:
        refuse_unknown(request, ("cursor", "limit"))
        row = await _load(hub, request, check_id)
        async with hub.db.reader.connect() as conn:
            items, next_cursor = await store.list_flips(conn, row["id"], cursor, limit)
        return FlipPage(items=items, next_cursor=next_cursor)


class CheckProjectsController(Controller):
    """A project's ping key (for slug ping URLs) and badge key, made on first request."""

    path = "/api/v1/check-projects"
    tags = ["heartbeat"]
    guards = [require_scope("admin")]

    @get("/{project:str}", summary="A project's ping key and badge key")
    async def project_keys(
        self, request: Req, hub: Hub, project: Annotated[str, Parameter(description="the project's slug")]
    ) -> ProjectKeysOut:
        project = project.lower()
        await _allowed(hub, request, project)
        check_project(project)
        async with hub.db.writer.begin() as conn:
            row = await store.project_keys(hub.db, conn, project, service(hub).now())
        return project_keys_out(hub, row)
