"""Running actions: event buttons (`/api/v1/events/{id}/actions/{key}`), self-service actions
(`/api/v1/actions`), their audit trail, and each project's signing secret (admin only)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.actions.catalog import SelfServiceAction
from hub.actions.runner import AlreadyRunning, Expired, Forbidden, RunOut
from hub.actions.secrets import SecretInfo, UnknownProject
from hub.api.common import api_key, hub_admin, hub_of, require
from hub.db.events import get_event
from hub.ids import parse_event_id
from hub.models import SLUG_PATTERN, ActionInput, ValidationProblem

MAX_INPUTS = 10
PROJECT_HELP = "the action's project, needed when actions of several projects you see share the name"


class RunIn(msgspec.Struct, forbid_unknown_fields=True):
    inputs: Annotated[dict[str, Any], msgspec.Meta(max_length=MAX_INPUTS)] = {}


class CatalogEntry(msgspec.Struct):
    name: str
    label: str
    description: str
    project: str
    inputs: list[ActionInput]
    teams: list[str]
    records_to_channel: str | None


def _entry(action: SelfServiceAction) -> CatalogEntry:
    return CatalogEntry(
        action.name,
        action.label,
        action.description,
        action.project,
        action.inputs,
        action.teams,
        action.record.channel if action.record else None,
    )


async def _event(request: Request, event_id: str) -> tuple[Any, int]:
    hub = hub_of(request)
    key = api_key(request)
    number = parse_event_id(event_id)
    async with hub.db.reader.connect() as conn:
        found = await get_event(conn, hub.projects, number) if number is not None else None
    visible = found is not None and (key.project_id is None or found[1] == key.project_id)
    sees = getattr(key, "sees", None)
    if found is None or not visible or (sees is not None and not sees(found[1])):
        raise NotFoundException(f"no event with id {event_id}")
    return found


def _refusals(exc: Exception) -> HTTPException:
    if isinstance(exc, AlreadyRunning):
        return HTTPException(status_code=409, detail=str(exc))
    if isinstance(exc, Expired):
        return HTTPException(status_code=410, detail=str(exc))
    if isinstance(exc, Forbidden):
        return PermissionDeniedException(str(exc))
    return NotFoundException(str(exc))


class EventActionsController(Controller):
    path = "/api/v1/events/{event_id:str}"
    tags = ["actions"]

    @post("/actions/{key:str}", guards=[require("act")], status_code=200, summary="Run an event's action button")
    async def run(
        self, request: Request, event_id: FromPath[str], key: FromPath[str], data: JSONBody[RunIn | None] = None
    ) -> RunOut:
        """Signs and POSTs to the action's URL; the run (with the target's `message`) is the answer.

        410 when the action expired, 403 when its teams exclude the caller, 400 for an external link or bad
        inputs (naming `inputs.<name>`), 409 while another run of it is under way."""
        hub = hub_of(request)
        event, project_id = await _event(request, event_id)
        actor = await hub.actions.actor_for(api_key(request))
        try:
            return await hub.actions.run_event_action(event, project_id, key, (data or RunIn()).inputs, actor)
        except (AlreadyRunning, Expired, Forbidden, LookupError) as exc:
            raise _refusals(exc) from None

    @get("/runs", guards=[require("read")], summary="Every run of this event's actions, newest first")
    async def runs(self, request: Request, event_id: FromPath[str]) -> list[RunOut]:
        event, _ = await _event(request, event_id)
        return await hub_of(request).actions.runs(event_id=int(event.id))


class SelfServiceController(Controller):
    path = "/api/v1/actions"
    tags = ["actions"]

    @get("/", guards=[require("read")], summary="Self-service actions from the config file")
    async def catalog(self, request: Request) -> list[CatalogEntry]:
        return [_entry(a) for a in await _visible_actions(request)]

    @post("/{name:str}/runs", guards=[require("act")], status_code=200, summary="Run a self-service action")
    async def run(
        self,
        request: Request,
        name: FromPath[str],
        data: JSONBody[RunIn | None] = None,
        project: Annotated[str | None, QueryParameter(description=PROJECT_HELP)] = None,
    ) -> RunOut:
        hub = hub_of(request)
        action = await _visible_action(request, name, project)
        actor = await hub.actions.actor_for(api_key(request))
        try:
            return await hub.actions.run_self_service(action, (data or RunIn()).inputs, actor)
        except (AlreadyRunning, Forbidden) as exc:
            raise _refusals(exc) from None

    @get("/{name:str}/runs", guards=[require("read")], summary="Runs of a self-service action, newest first")
    async def runs(
        self,
        request: Request,
        name: FromPath[str],
        project: Annotated[str | None, QueryParameter(description=PROJECT_HELP)] = None,
    ) -> list[RunOut]:
        action = await _visible_action(request, name, project)
        return await hub_of(request).actions.runs(action=action)


async def _visible_actions(request: Request) -> list[SelfServiceAction]:
    """The configured actions of the projects the caller may see (a bound key's, a member's; all for others)."""
    hub = hub_of(request)
    allowed = await hub.context.projects_of(api_key(request))
    return [a for a in hub.settings.self_service_actions if allowed is None or a.project in allowed]


async def _visible_action(request: Request, name: str, project: str | None) -> SelfServiceAction:
    """404 for an action of a project the caller may not see, as for one that does not exist; 400 when the
    caller sees namesakes in several projects and named none."""
    found = [
        a
        for a in await _visible_actions(request)
        if a.name == name and (project is None or a.project == project.lower())
    ]
    if not found:
        raise NotFoundException(f"no self-service action {name}" + (f" in project {project}" if project else ""))
    if len(found) > 1:
        projects = ", ".join(sorted(a.project for a in found))
        raise ValidationProblem(
            f"`project` must name one of {projects}: each has a self-service action {name}", "project"
        )
    return found[0]


class ActionSecretsController(Controller):
    path = "/api/v1/action-secrets"
    tags = ["actions"]
    guards = [hub_admin]

    @get("/{project:str}", summary="The project's action signing secret (made on first use)")
    async def show(self, request: Request, project: FromPath[str]) -> SecretInfo:
        """404 for a project the hub does not know (no event, insight, key, source or member made it, and no
        self-service action names it): nothing is stored for it."""
        try:
            return await hub_of(request).action_secrets.info(_slug(project))
        except UnknownProject as exc:
            raise NotFoundException(str(exc)) from None

    @post("/{project:str}/rotate", status_code=200, summary="Rotate it; the old one also signs for a grace period")
    async def rotate(self, request: Request, project: FromPath[str]) -> SecretInfo:
        """404 for a project the hub does not know, as for reading the secret."""
        try:
            return await hub_of(request).action_secrets.rotate(_slug(project))
        except UnknownProject as exc:
            raise NotFoundException(str(exc)) from None


def _slug(project: str) -> str:
    if not re.fullmatch(SLUG_PATTERN, project):
        raise ValidationProblem("`project` must be a project slug (letters, digits, `_ . -`; 1 to 64)", "project")
    return project.lower()
