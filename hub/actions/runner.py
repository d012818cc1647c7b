"""Running an action: check who may, validate the inputs, POST the signed request, keep the run.

Unlike notifications, an action runs while the person waits: they clicked a button and want its answer
(the target's `message`). It is not retried by the hub, since running a command twice is worse than telling
the person it failed; for the same reason a second click while a run of the same action is under way is
refused (a unique index over running runs, so two hub processes cannot both start one). The run row is
written before the request, so even a hub that dies mid-call leaves a trace of who started what.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import httpx
import msgspec
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from hub.actions.catalog import SelfServiceAction
from hub.actions.inputs import kept_inputs, validate_inputs
from hub.actions.signing import sign_headers
from hub.auth import ApiKey
from hub.db import schema
from hub.db.events import get_event
from hub.ids import parse_event_id
from hub.ingest import draft_from_input
from hub.models import ActionOut, EventIn, EventOut, ValidationProblem, now_utc, url_problem
from hub.outbound import BlockedAddress, HostNotAnswering, ResponseTooLarge, longest_request

if TYPE_CHECKING:
    from hub.core import Hub

MAX_EXCERPT = 1000
MAX_MESSAGE = 500
log = logging.getLogger(__name__)
ABANDONED = "abandoned: the hub stopped before the answer"


class Forbidden(Exception):
    """The caller may not run this action (403)."""


class Expired(Exception):
    """The action's `expires_at` has passed (410)."""


class AlreadyRunning(Exception):
    """A run of the same action (the same event's button, or the same self-service action) is under way (409)."""


class Actor(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Who clicked: an API key, or a signed-in person (with their teams)."""

    type: Literal["api_key", "user"]
    id: str
    name: str
    email: str | None = None
    teams: list[str] = []
    admin: bool = False


class RunOut(msgspec.Struct, kw_only=True):
    id: str
    action: str
    event_id: str | None
    project: str
    actor: Actor
    inputs: dict[str, Any]
    status: str  # running, done, failed
    http_status: int | None
    latency_ms: float | None
    # The target's `message`, shown to the person who clicked; or why the run failed.
    message: str | None
    response: str | None
    created_at: datetime
    finished_at: datetime | None


def allowed(actor: Actor, teams: list[str]) -> bool:
    """No teams named: anyone who may run actions. Otherwise admins, and members of one of the teams."""
    return not teams or actor.admin or bool({t.lower() for t in teams} & set(actor.teams))


def _message_of(status: int, headers: dict[str, str], body: bytes) -> str | None:
    """The target's `message` field; for a refusal without one, its plain-text answer or at least its status, so
    the person who clicked learns why."""
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        data = None
    message = data.get("message") if isinstance(data, dict) else None
    if isinstance(message, str):
        return _storable(message[:MAX_MESSAGE])
    if 200 <= status < 300:
        return None
    text = body.decode("utf-8", "replace").strip() if headers.get("content-type", "").startswith("text/plain") else ""
    if text:
        return _storable(text[:MAX_MESSAGE])
    redirect = " (a redirect, which the hub does not follow)" if 300 <= status < 400 else ""
    return f"the action's server answered HTTP {status}{redirect}"


def _excerpt(body: bytes) -> str:
    return _storable(body[:MAX_EXCERPT].decode("utf-8", "replace"))


def _storable(text: str) -> str:
    """The target's words as the run keeps them: a NUL (which PostgreSQL's text refuses) becomes U+FFFD."""
    return text.replace("\x00", "\ufffd")


class ActionRunner:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    async def actor_for(self, key: ApiKey) -> Actor:
        user_id = getattr(key, "user_id", None)
        if user_id:
            user = await self.hub.people.get_user(user_id)
            if user is not None:
                return Actor(
                    type="user",
                    id=user.id,
                    name=user.name,
                    email=user.email,
                    teams=user.teams,
                    admin=user.role == "admin",
                )
        return Actor(type="api_key", id=key.id, name=key.name, admin="admin" in key.scopes)

    async def run_as_person(self, email: str, event_id: str, key: str, given: dict[str, Any]) -> RunOut:
        """Run an event's action as the hub user with this email (a click in Slack, say), with that user's rights:
        admins and members may run actions, viewers may not, and a non-admin only in their own projects.

        Raises Forbidden (no such user, a viewer), LookupError (no such event or action, or not visible to
        them), Expired, ValidationProblem or AlreadyRunning, as `run_event_action` does.
        """
        event, project_id, actor = await self._as_person(email, event_id)
        return await self.run_event_action(event, project_id, key, given, actor)

    async def person_may_run(self, email: str, event_id: str, key: str) -> tuple[EventOut, ActionOut]:
        """The event and its action, if the hub user with this email may run it now: checked before asking them
        for its inputs (a Slack form), so nobody fills in a form to be refused. Raises as `run_as_person` does,
        but for the inputs' problems and a run under way, which only running can tell."""
        event, _, actor = await self._as_person(email, event_id)
        return event, self._runnable(event, key, actor)

    async def _as_person(self, email: str, event_id: str) -> tuple[EventOut, int, Actor]:
        user = await self.hub.people.get_user(email.lower()) if "@" in email else None
        if user is None:
            raise Forbidden(f"no hub user has the email {email}")
        if user.role not in ("admin", "member"):
            raise Forbidden(f"{user.email} is a viewer; viewers cannot run actions")
        number = parse_event_id(event_id)
        async with self.hub.db.reader.connect() as conn:
            found = await get_event(conn, self.hub.projects, number) if number is not None else None
        if found is None or (user.role != "admin" and found[0].project not in user.projects):
            raise LookupError(f"no event with id {event_id}")
        event, project_id = found
        actor = Actor(
            type="user", id=user.id, name=user.name, email=user.email, teams=user.teams, admin=user.role == "admin"
        )
        return event, project_id, actor

    async def run_event_action(
        self, event: EventOut, project_id: int, key: str, given: dict[str, Any], actor: Actor
    ) -> RunOut:
        """Raises LookupError (no such action), ValidationProblem, Expired, Forbidden or AlreadyRunning before
        anything is sent."""
        action = self._runnable(event, key, actor)
        inputs = validate_inputs(action.inputs, given)
        body: dict[str, Any] = {
            "event": {
                "id": event.id,
                "key": key,
                "meta": action.meta,
                "user_id": event.user_id,
                "project": event.project,
                "channel": event.channel,
                "event": event.event,
                "created_at": event.created_at,
            },
            "actor": actor,
        }
        if event.source == "operational":  # a receiver written for Operational.co reads its own field names
            body["event"] |= {"userId": event.user_id, "createdAt": event.created_at}
        if action.inputs:
            body["inputs"] = inputs
        return await self._execute(event.project, project_id, int(event.id), key, action, body, actor, inputs)

    @staticmethod
    def _runnable(event: EventOut, key: str, actor: Actor) -> ActionOut:
        """The event's action `key`, if the actor may run it now; raises LookupError, ValidationProblem (an
        external link), Expired or Forbidden."""
        action = next((a for a in event.actions if a.key == key), None)
        if action is None:
            raise LookupError(f"event {event.id} has no action `{key}`")
        if action.external:
            raise ValidationProblem(f"action `{key}` is an external link; open its URL instead of running it", "key")
        if action.expires_at is not None and action.expires_at <= now_utc():
            raise Expired(f"action `{key}` expired at {action.expires_at.isoformat()}")
        if not allowed(actor, action.teams):
            raise Forbidden(f"only members of {', '.join(action.teams)} may run `{key}`")
        return action

    async def run_self_service(self, action: SelfServiceAction, given: dict[str, Any], actor: Actor) -> RunOut:
        if not allowed(actor, action.teams):
            raise Forbidden(f"only members of {', '.join(action.teams)} may run `{action.name}`")
        inputs = validate_inputs(action.inputs, given)
        body: dict[str, Any] = {
            "action": {"name": action.name, "label": action.label, "project": action.project},
            "actor": actor,
        }
        if action.inputs:
            body["inputs"] = inputs
        async with self.hub.db.writer.begin() as conn:
            project_id = (await self.hub.projects.ensure(conn, [action.project], now_utc()))[action.project]
        run = await self._execute(action.project, project_id, None, action.name, action, body, actor, inputs)
        if action.record is not None:
            try:
                await self._record(action, run)
            except Exception:  # the action ran: a 500 now would make the caller run it again
                log.exception("the run %s of `%s` could not be recorded as an event", run.id, action.name)
        return run

    async def _execute(
        self,
        project: str,
        project_id: int,
        event_id: int | None,
        name: str,
        action: ActionOut | SelfServiceAction,
        body: dict[str, Any],
        actor: Actor,
        inputs: dict[str, Any],
    ) -> RunOut:
        run = RunOut(
            id="run_" + secrets.token_hex(10),
            action=name,
            event_id=str(event_id) if event_id is not None else None,
            project=project,
            actor=actor,
            inputs=kept_inputs(action.inputs, inputs),
            status="running",
            http_status=None,
            latency_ms=None,
            message=None,
            response=None,
            created_at=now_utc(),
            finished_at=None,
        )
        await self._start(run, project_id, event_id)
        # The address is signed too: a receiver checks it is its own, so a request signed for another address (a
        # button an app pointed there) cannot be replayed to it.
        payload = msgspec.json.encode({**body, "url": action.url})
        started = time.perf_counter()
        try:
            headers = await self._signed_headers(project, action, run, payload)
        except BlockedAddress as exc:
            run.status, run.message = "failed", f"refused: {exc}"
        except Exception:  # the hub's own failure (its database, say): the run must not stay `running`
            log.exception("action run %s failed in the hub before it was sent", run.id)
            run.status, run.message = "failed", "the hub could not send it (its log says why)"
        else:
            await self._send(action, run, payload, headers)
        run.latency_ms = round((time.perf_counter() - started) * 1000, 2)
        run.finished_at = now_utc()
        async with self.hub.db.writer.begin() as conn:
            await conn.execute(
                update(schema.action_runs)
                .where(schema.action_runs.c.id == run.id)
                .values(
                    status=run.status,
                    http_status=run.http_status,
                    latency_ms=run.latency_ms,
                    response=run.response,
                    message=run.message,
                    finished_at=run.finished_at,
                )
            )
        return run

    async def _signed_headers(
        self, project: str, action: ActionOut | SelfServiceAction, run: RunOut, payload: bytes
    ) -> dict[str, str]:
        """The request's headers, signed with the project's secrets; BlockedAddress for a URL none may go to."""
        if problem := url_problem(action.url):  # stored before the rule, or from the config file
            raise BlockedAddress(f"the action's URL cannot be requested: {problem}")
        signing_secrets = await self.hub.action_secrets.signing_secrets(project)
        return {
            "Content-Type": "application/json",
            **sign_headers(signing_secrets, f"msg_{run.id}", int(time.time()), payload),
        }

    async def _send(
        self, action: ActionOut | SelfServiceAction, run: RunOut, payload: bytes, headers: dict[str, str]
    ) -> None:
        """The request, and its outcome on `run`."""
        try:
            response = await self.hub.outbound.post(
                action.url, content=payload, headers=headers, timeout_seconds=self.hub.settings.actions.timeout_seconds
            )
            run.http_status = response.status
            run.response = _excerpt(response.body) or None
            run.message = _message_of(response.status, response.headers, response.body)
            run.status = "done" if 200 <= response.status < 300 else "failed"
        except BlockedAddress as exc:
            run.status, run.message = "failed", f"refused: {exc}"
        except ResponseTooLarge as exc:
            run.http_status = exc.response.status_code
            run.status = "done" if 200 <= run.http_status < 300 else "failed"
            run.response = _excerpt(exc.partial)
            run.message = _message_of(run.http_status, exc.response.headers, exc.partial)
        except httpx.PoolTimeout as exc:
            run.status, run.message = "failed", f"{exc} (earlier requests to the action's server were still running)"
        except httpx.TimeoutException:
            run.status, run.message = "failed", "the action's server did not answer in time"
        except HostNotAnswering as exc:
            run.status, run.message = "failed", str(exc)
        except httpx.HTTPError as exc:
            run.status, run.message = "failed", f"could not reach the action's server: {type(exc).__name__}"

    async def _start(self, run: RunOut, project_id: int, event_id: int | None) -> None:
        """Store the run as `running`; AlreadyRunning when another run of the same action is. A run left
        `running` longer than any request can take (its hub stopped mid-call) is marked failed first, so it
        does not block the button for good."""
        r = schema.action_runs.c
        button = r.event_id == event_id if event_id is not None else r.event_id.is_(None) & (r.project_id == project_id)
        same = button & (r.action == run.action) & (r.status == "running")
        abandoned = run.created_at - timedelta(seconds=longest_request(self.hub.settings.actions.timeout_seconds) + 60)
        try:
            async with self.hub.db.writer.begin() as conn:
                await conn.execute(
                    update(schema.action_runs)
                    .where(same, r.created_at < abandoned)
                    .values(status="failed", message=ABANDONED, finished_at=now_utc())
                )
                await conn.execute(
                    schema.action_runs.insert().values(
                        id=run.id,
                        project_id=project_id,
                        event_id=event_id,
                        action=run.action,
                        actor=msgspec.to_builtins(run.actor),
                        inputs=run.inputs or None,
                        status="running",
                        created_at=run.created_at,
                    )
                )
        except IntegrityError:
            async with self.hub.db.reader.connect() as conn:  # a read: no need to wait for the writer's connection
                other = (await conn.execute(select(r.actor, r.created_at).where(same).limit(1))).first()
            if other is None:  # not the unique index (the event was deleted meanwhile, say)
                raise
            started = f"started by {other.actor.get('name')} at {other.created_at.isoformat(timespec='seconds')}"
            raise AlreadyRunning(f"`{run.action}` is already running ({started}); wait for its outcome") from None

    async def _record(self, action: SelfServiceAction, run: RunOut) -> None:
        """The run as an event in the configured channel, so the feed shows who did what."""
        assert action.record is not None
        verb = "ran" if run.status == "done" else "tried to run"
        event = EventIn(
            event=f"{run.actor.name} {verb} {action.label}"[:250],
            channel=action.record.channel,
            icon=action.record.icon,
            description=run.message,
            tags={"action": action.name, "status": run.status, "run": run.id},
            severity="info" if run.status == "done" else "warning",
        )
        draft = draft_from_input(event, project=action.project, source="actions", received_at=now_utc())
        await self.hub.ingestor.store([draft])

    async def runs(
        self, *, event_id: int | None = None, action: SelfServiceAction | None = None, limit: int = 100
    ) -> list[RunOut]:
        """An event's runs, or a self-service action's: those in its project only, as another project may have an
        action of the same name (or this one may have moved there), whose runs its readers must not see."""
        r = schema.action_runs.c
        query = select(schema.action_runs).order_by(r.created_at.desc()).limit(limit)
        if event_id is not None:
            query = query.where(r.event_id == event_id)
        async with self.hub.db.reader.connect() as conn:
            if action is not None:
                project_id = await self.hub.projects.lookup(conn, action.project)
                query = query.where(r.action == action.name, r.event_id.is_(None), r.project_id == project_id)
            rows = (await conn.execute(query)).all()
            return [
                RunOut(
                    id=row.id,
                    action=row.action,
                    event_id=str(row.event_id) if row.event_id is not None else None,
                    project=await self.hub.projects.slug(conn, row.project_id),
                    actor=msgspec.convert(row.actor, Actor),
                    inputs=row.inputs or {},
                    status=row.status,
                    http_status=row.http_status,
                    latency_ms=row.latency_ms,
                    message=row.message,
                    response=row.response,
                    created_at=row.created_at,
                    finished_at=row.finished_at,
                )
                for row in rows
            ]
