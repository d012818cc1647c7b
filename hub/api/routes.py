"""Admin API for routing rules: list (config file and stored), create or replace, delete, and explain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, JSONBody, QueryParameter

from hub.api.common import api_key, decode, hub_admin, hub_of, project_for, read_body
from hub.api.openapi import json_body
from hub.ingest import draft_from_input
from hub.models import NAME_PATTERN, SLUG_PATTERN, EventIn, EventOut, ValidationProblem, now_utc, shown_address
from hub.routing.book import RuleConflict
from hub.routing.router import DEFAULT_RULE, Verdict, decide, handling, held_for_people, silent_reason
from hub.routing.rules import Rule, Target, unreachable_targets

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from hub.core import Hub


class RuleOut(msgspec.Struct):
    rule: Rule  # Slack webhook URLs only up to their host: they hold a secret
    # "config" rules come from the config file and are read-only here; "api" rules are stored.
    origin: str
    position: int


class RuleBody(Rule, kw_only=True):
    """A rule as PUT takes it: the URL names the rule, so `name` may be left out (if given, it must agree)."""

    name: Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)] | None = None  # type: ignore[assignment]


def _check_urls(rule: Rule) -> None:
    for field, problem in unreachable_targets(rule.targets):
        raise ValidationProblem(problem, field)


async def _check_targets(request: Request, rule: Rule) -> None:
    """A team, user or notifier a target names must exist: else the rule would notify nobody, without a trace."""
    hub = hub_of(request)
    people = hub.people
    for index, target in enumerate(rule.targets):
        if target.notifier and target.notifier not in hub.plugins.notifiers:
            loaded = ", ".join(sorted(hub.plugins.notifiers))
            raise ValidationProblem(
                f"no notifier `{target.notifier}` is loaded (loaded: {loaded})", f"targets[{index}].notifier"
            )
        if target.team and await people.get_team(target.team) is None:
            raise ValidationProblem(f"no team `{target.team}`; create it first", f"targets[{index}].team")
        if target.user and await people.get_user(target.user) is None:
            raise ValidationProblem(f"no user `{target.user}`; create them first", f"targets[{index}].user")


def _shown(rule: Rule) -> Rule:
    return msgspec.structs.replace(rule, targets=[_shown_target(t) for t in rule.targets])


def _shown_target(target: Target) -> Target:
    """A webhook URL only up to its host: the rest may be its secret."""
    if target.slack:
        return msgspec.structs.replace(target, slack=shown_address("slack", target.slack))
    if target.notifier and target.address:
        return msgspec.structs.replace(target, address=shown_address(target.notifier, target.address))
    return target


class RouteTestOut(msgspec.Struct):
    notifies: bool
    silent_reason: str | None
    verdicts: list[Verdict]


def event_for_test(data: EventIn, project: str, source: str = "api") -> tuple[EventOut, bool]:
    """The event as `source` would store it now, without storing it, and whether it would be a backfill."""
    draft = draft_from_input(data, project=project, source=source, received_at=now_utc())
    fields = {**msgspec.structs.asdict(draft), "tags": draft.tags or {}, "actions": draft.actions or []}
    return msgspec.convert({**fields, "id": "0", "parent_id": None}, EventOut, strict=False), draft.backfill


async def explain_event(
    hub: Hub, conn: AsyncConnection, data: EventIn, project: str, source: str = "api"
) -> RouteTestOut:
    """Which rules the event would meet, and why (nothing is stored)."""
    event, backfill = event_for_test(data, project, source)
    reason = silent_reason(event, backfill=backfill)
    project_id, now = await hub.projects.lookup(conn, event.project), now_utc()  # lower-cased, as stored
    verdicts = []
    for rule, verdict in decide(await hub.rules.rules(conn), event):
        if verdict.matched:
            verdict.then = handling(rule, event, now) + await held_for_people(conn, rule, event, project_id, now)
        verdicts.append(verdict)
    return RouteTestOut(
        notifies=reason is None and any(v.matched for v in verdicts), silent_reason=reason, verdicts=verdicts
    )


class RoutesController(Controller):
    path = "/api/v1/routes"
    tags = ["routing"]
    guards = [hub_admin]

    @get("/", summary="Routing rules in evaluation order (config file first)")
    async def list_rules(self, request: Request) -> list[RuleOut]:
        book = hub_of(request).rules
        configured = [RuleOut(_shown(r), "config", i) for i, r in enumerate(book.configured)]
        stored = [RuleOut(_shown(r), "api", i + len(configured)) for i, r in enumerate(await book.stored())]
        return [*configured, *stored]

    @put("/{name:str}", summary="Create or replace a stored rule (`position` moves it among the stored rules)")
    async def save(
        self,
        request: Request,
        name: FromPath[str],
        data: JSONBody[RuleBody],
        position: Annotated[int | None, QueryParameter(ge=0, le=10_000)] = None,
    ) -> Rule:
        if data.name not in (None, name):
            raise ValidationProblem(f"`name` must be {name!r}, as in the URL (or left out)", "name")
        if name == DEFAULT_RULE.name:
            raise ValidationProblem("`default` is the built-in fallback rule's name; choose another", "name")
        rule = msgspec.convert({**msgspec.to_builtins(data), "name": name}, Rule)
        _check_urls(rule)
        await _check_targets(request, rule)
        try:
            return await hub_of(request).rules.save(rule, position)
        except RuleConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None

    @delete("/{name:str}", summary="Delete a stored rule")
    async def remove(self, request: Request, name: FromPath[str]) -> None:
        try:
            removed = await hub_of(request).rules.delete(name)
        except RuleConflict as exc:
            raise HTTPException(status_code=409, detail=str(exc)) from None
        if not removed:
            raise NotFoundException(f"no stored rule {name}")

    @post(
        "/test",
        status_code=200,
        summary="Which rules an event would match, and why (nothing is stored)",
        operation_class=json_body(EventIn),
        request_max_body_size=None,  # read_body, within `ingest.max_body_bytes`: any event ingest takes
    )
    async def test(
        self,
        request: Request,
        source: Annotated[str, QueryParameter(pattern=SLUG_PATTERN, description="`stripe`, `github`...")] = "api",
    ) -> RouteTestOut:
        hub = hub_of(request)
        data = decode(await read_body(request, hub.settings.ingest.max_body_bytes), EventIn)
        project = project_for(api_key(request), data.project, hub.settings.ingest.default_project)
        async with hub.db.reader.connect() as conn:
            return await explain_event(hub, conn, data, project, source)
