"""LogSnag-compatible routes: `/v1/log`, `/v1/insight` (POST sets, PATCH `{"$inc": n}` adds), `/v1/identify`,
`/v1/group`.

LogSnag's clients put `project` in the body and, on failure, read `message` (Python) or join
`validation.body[].message` (Node), so every error here is JSON in that shape. Fields LogSnag does not define
are ignored, as its API does; the ones it defines are checked by the native EventIn rules.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, patch, post

from hub.api.common import api_key, decode, hub_of, project_for, require
from hub.api.compat.shared import peer_errors, read_payload, store_event
from hub.api.errors import ErrorBody
from hub.api.openapi import json_body
from hub.db.insights import Identity, Insight, identify, increment_insight, set_insight
from hub.models import TAG_KEY_PATTERN, EventIn, EventOut, Slug, ValidationProblem, check_icon, now_utc

LOG_FIELDS = ("project", "channel", "event", "description", "icon", "notify", "tags", "parser", "user_id", "timestamp")
# msgspec's wording -> the Zod issue codes LogSnag's API answers with (first match wins).
ISSUE_TYPES = (
    ("unknown field", "unrecognized_keys"),
    ("missing required field", "invalid_type"),
    ("Invalid enum value", "invalid_enum_value"),
    ("regex", "invalid_string"),
    (">=", "too_small"),
    ("<=", "too_big"),
    ("Expected `", "invalid_type"),
)

Title = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Icon = Annotated[str, msgspec.Meta(max_length=64)] | None
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Properties = Annotated[
    dict[
        Annotated[str, msgspec.Meta(pattern=TAG_KEY_PATTERN)],
        Annotated[str, msgspec.Meta(max_length=1024)] | int | float | bool,
    ],
    msgspec.Meta(max_length=100),
]


# Whole numbers are kept within 64 bits: an insight is a counter, which clients in other languages read as an int64.
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]


class Increment(msgspec.Struct, forbid_unknown_fields=True):
    by: Int64 | float = msgspec.field(name="$inc")


class InsightIn(msgspec.Struct):
    title: Title
    value: Annotated[str, msgspec.Meta(max_length=1024)] | Int64 | float | bool | Increment
    project: Slug | None = None
    icon: Icon = None

    def __post_init__(self) -> None:
        check_icon(self.icon)


class IdentifyIn(msgspec.Struct):
    user_id: Id
    properties: Properties
    project: Slug | None = None


class GroupIn(msgspec.Struct):
    """The Node client may leave out `user_id` (properties of the group itself) and `properties`."""

    group_id: Id
    user_id: Id | None = None
    properties: Properties | None = None
    project: Slug | None = None


def render_error(error: ErrorBody, headers: dict[str, str]) -> Response[Any]:
    """`{message, validation: {body|headers: [{path, type, message}]}}`; key problems are listed under headers."""
    kind = next((code for words, code in ISSUE_TYPES if words in error.message), "custom")
    if error.status in (401, 403, 429):
        where, path = "headers", "authorization"
    else:
        where, path = "body", error.field or ""
    item = {"path": path, "type": kind, "message": error.message}
    body = {"message": error.message, "validation": {where: [item]}}
    return Response(body, status_code=error.status, headers=headers)


async def _read(request: Request, type_: type[Any]) -> Any:
    return decode(await read_payload(request), type_)


@post("/log", status_code=200, summary="LogSnag: publish an event", operation_class=json_body(EventIn, only=LOG_FIELDS))
async def log(request: Request) -> EventOut:
    """Stored through native ingest with source `logsnag`; `timestamp` is Unix seconds (float or int)."""
    body = await _read(request, dict[str, Any])
    data = {name: body[name] for name in LOG_FIELDS if body.get(name) is not None}
    return (await store_event(request, data, "logsnag")).event


@post(
    "/insight",
    status_code=200,
    summary='LogSnag: set an insight (or add to it with {"$inc": n})',
    operation_class=json_body(InsightIn),
)
async def publish_insight(request: Request) -> Insight:
    """Some clients send increments with POST, so `{"$inc": n}` is honoured here as well as with PATCH."""
    return await _save_insight(request, await _read(request, InsightIn))


@patch("/insight", status_code=200, summary="LogSnag: add to an insight's number", operation_class=json_body(InsightIn))
async def mutate_insight(request: Request) -> Insight:
    body = await _read(request, InsightIn)
    if not isinstance(body.value, Increment):
        raise ValidationProblem('`value` must be a mutation such as {"$inc": 1}', "value")
    return await _save_insight(request, body)


async def _save_insight(request: Request, body: InsightIn) -> Insight:
    hub = hub_of(request)
    project = project_for(api_key(request), body.project)
    if isinstance(body.value, Increment):
        return await increment_insight(hub.db, hub.projects, project, body.title, body.value.by, body.icon, now_utc())
    return await set_insight(hub.db, hub.projects, project, body.title, body.value, body.icon, now_utc())


@post("/identify", status_code=200, summary="LogSnag: set a user's properties", operation_class=json_body(IdentifyIn))
async def identify_user(request: Request) -> Identity:
    body = await _read(request, IdentifyIn)
    hub = hub_of(request)
    project = project_for(api_key(request), body.project)
    return await identify(hub.db, hub.projects, project, body.user_id, "", body.properties, now_utc())


@post(
    "/group",
    status_code=200,
    summary="LogSnag: put a user in a group and set the group's properties",
    operation_class=json_body(GroupIn),
)
async def group_user(request: Request) -> Identity:
    body = await _read(request, GroupIn)
    hub = hub_of(request)
    project = project_for(api_key(request), body.project)
    return await identify(
        hub.db, hub.projects, project, body.user_id or "", body.group_id, body.properties or {}, now_utc()
    )


router = Router(
    path="/v1",
    route_handlers=[log, publish_insight, mutate_insight, identify_user, group_user],
    guards=[require("ingest")],
    exception_handlers=peer_errors(render_error),
    request_max_body_size=None,  # read_payload, within `ingest.max_body_bytes`
    tags=["compat: LogSnag"],
)
