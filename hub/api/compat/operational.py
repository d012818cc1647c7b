"""Operational.co-compatible routes: `POST /api/v1/log` (and its alias `/api/v1/ingest`), JSON or `text/plain`;
`POST /api/v1/identify`, which Operational answers `200 {}` and ignores, and so does the hub.

Operational's server coerces rather than refuses: a long name is cut, a flag is JavaScript-truthy, an avatar
that is not an emoji is ignored. The same leniency is kept here so its clients never see a new error; what
remains is checked by the native EventIn rules. Answers are text, as Operational's: 201 `success`, errors a
plain sentence with 400 (401 for a missing or bad key).
"""

from __future__ import annotations

import math
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response, Router, post

from hub.api.common import api_key, decode, hub_of, require
from hub.api.compat.shared import leading_emoji, peer_errors, read_payload, store_event
from hub.api.errors import ErrorBody
from hub.api.openapi import json_body
from hub.models import (
    DEFAULT_ACTION_EXPIRY_MINUTES,
    MAX_ACTION_EXPIRY_MINUTES,
    SHORTCODE_PATTERN,
    ValidationProblem,
    slugify,
    tag_text,
)

TYPES = ("text", "map", "image", "json", "rows")
MAX_NAME = 250  # EventIn's limit on `event`; Operational cuts long names instead of refusing them
MAX_DESCRIPTION = 4000  # EventIn's limit on `description`; Operational takes text up to 100,000 characters
NAMES = {
    "event": "name",
    "icon": "avatar",
    "channel": "category",
    "description": "content",
    "user_id": "userId",
    "context_id": "contextId",
    "context_start": "contextStart",
    "label": "buttonText",
    "expire_in": "expireIn",
}


class OperationalLog(msgspec.Struct, rename="camel"):
    """Operational's event; fields it does not define (`muted`, an action's `repeat`) are ignored, as it does."""

    name: str | None = None
    avatar: Any = None
    category: str | None = None
    type: str | None = None  # null or "" is text, as Operational's `if (!payload.type)`
    content: Any = None
    user_id: str | int | None = None
    notify: Any = False
    test: Any = False
    context_id: str | int | None = None
    context_start: Any = False
    actions: list[dict[str, Any]] | None = None


def truthy(value: Any) -> bool:
    """JavaScript's `!!value`, which Operational applies to its flags (so `"false"` and `[]` are true)."""
    return value is not None and value is not False and value != 0 and value != ""


def render_error(error: ErrorBody, headers: dict[str, str]) -> Response[str]:
    return Response(error.message, status_code=error.status, media_type=MediaType.TEXT, headers=headers)


@post(
    ["/log", "/ingest"],
    status_code=201,
    media_type=MediaType.TEXT,
    summary="Operational.co: publish an event",
    operation_class=json_body(OperationalLog, text="the event's name; a leading emoji becomes its icon"),
)
async def publish(request: Request) -> str:
    """A `text/plain` body is the event's name, and a leading emoji its icon (`🚀 Deployed`)."""
    is_text = request.headers.get("content-type", "").lower().startswith("text/plain")
    # A text body's `\u0000` is six characters of text (a regular expression, say), not a JSON escape.
    raw = await read_payload(request, allow_text=True, screen_nul=not is_text)
    if is_text:
        body = _from_text(raw)
    else:
        body = decode(raw, OperationalLog)
    data = _event_data(body, api_key(request).project or hub_of(request).settings.ingest.default_project)
    await store_event(request, data, "operational", NAMES)
    return "success"


def _from_text(raw: bytes) -> OperationalLog:
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ValidationProblem("the text/plain body is not valid UTF-8") from None
    if "\x00" in text:
        raise ValidationProblem("the text/plain body contains a NUL character, which the hub does not store")
    icon, name = leading_emoji(text)
    return OperationalLog(name=name or None, avatar=icon)


def _event_data(body: OperationalLog, project: str) -> dict[str, Any]:
    kind = body.type or "text"
    if kind not in TYPES:
        message = f"type field must include one of the following: {','.join(TYPES)} . Currently it has {kind}"
        raise ValidationProblem(message, "type")
    if not body.name and not truthy(body.content):
        raise ValidationProblem("content field is required", "content")
    text, description, content = "", None, body.content
    if kind == "text" and isinstance(content, str | int | float | bool):
        text = tag_text(content)
        # Text too long for a description is kept whole as the content rather than refused.
        description, content = (text, None) if len(text) <= MAX_DESCRIPTION else (None, text)
    elif kind == "rows":
        content = _rows(content)
    context_id = str(body.context_id) if body.context_id not in (None, "") else None
    return {
        "project": project,
        "event": (body.name or text.strip().split("\n", 1)[0] or kind)[:MAX_NAME],
        "channel": slugify(body.category or "") or "general",
        "icon": _icon(body.avatar),
        "description": description,
        "content": content,
        "user_id": str(body.user_id) if body.user_id not in (None, "") else None,
        "notify": truthy(body.notify),
        "test": truthy(body.test),
        "context_id": context_id,
        "context_start": truthy(body.context_start) and context_id is not None,
        "actions": [_action(a) for a in body.actions or ()],
    }


def _icon(avatar: Any) -> str | None:
    """An emoji or `:shortcode:` avatar is the icon; other avatar text (`:)`) has no hub equivalent."""
    if not isinstance(avatar, str):
        return None
    if re.fullmatch(SHORTCODE_PATTERN, avatar):
        return avatar
    return leading_emoji(avatar)[0]


def _rows(rows: Any) -> list[dict[str, Any]]:
    """Operational's card rows: `{type = "text", label?, content = ""}`, any type but `rows` itself."""
    if not isinstance(rows, list) or not rows:
        raise ValidationProblem("content needs to have some data", "content")
    cards = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValidationProblem("each row of content must be an object", f"content[{index}]")
        kind = row.get("type") or "text"
        if kind == "rows":
            raise ValidationProblem("card's type shouldn't be rows", f"content[{index}].type")
        if kind not in TYPES:
            raise ValidationProblem(f"card's type should be one of {','.join(TYPES)}", f"content[{index}].type")
        card = {"type": kind, "label": row.get("label"), "content": row.get("content", "")}
        cards.append({name: value for name, value in card.items() if value is not None})
    return cards


def _action(action: dict[str, Any]) -> dict[str, Any]:
    """Operational's action as the native one: `buttonText` is the label, a non-number `expireIn` means 7 days.

    Operational takes any number of minutes, so one is rounded up and held within the native 1 to 43,200.
    """
    expire_in = action.get("expireIn")
    if isinstance(expire_in, bool) or not isinstance(expire_in, int | float):
        expire_in = DEFAULT_ACTION_EXPIRY_MINUTES
    else:
        expire_in = min(max(math.ceil(expire_in), 1), MAX_ACTION_EXPIRY_MINUTES)
    native = {
        "url": action.get("url"),
        "label": action.get("buttonText"),
        "key": action.get("key") or None,
        "meta": action.get("meta"),
        "expire_in": expire_in,
        "external": truthy(action.get("external")),
    }
    return {name: value for name, value in native.items() if value is not None}


@post("/identify", status_code=200, summary="Operational.co: identify a user (accepted and ignored, as Operational)")
async def identify() -> dict[str, Any]:
    """Operational's own server answers `200 {}` without reading the body; its SDK still calls it."""
    return {}


router = Router(
    path="/api/v1",
    route_handlers=[publish, identify],
    guards=[require("ingest")],
    exception_handlers=peer_errors(render_error),
    request_max_body_size=None,  # read_payload, within `ingest.max_body_bytes`
    tags=["compat: Operational.co"],
)
