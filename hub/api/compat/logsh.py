"""Logsh-compatible route: `POST /api/event`.

Logsh's docs and code disagree on limits; the looser of each is taken (event up to 250 characters, description
optional up to 250). The workspace names the hub project: trimmed, case-insensitive, created on first use.
Answers follow Logsh's code: 201 `{"status": true}`, errors `{"status": false, "name", "message"}`.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Annotated, Any

import emoji
import msgspec
from litestar import Request, Response, Router, post

from hub.api.common import decode, require
from hub.api.compat.shared import peer_errors, read_payload, store_event
from hub.api.errors import ErrorBody
from hub.api.openapi import json_body
from hub.models import MAX_TAGS, TAG_KEY_PATTERN, slug_or_hash

DEFAULT_ICON = "🔥"
# Hub field -> the Logsh field it came from, for error messages.
NAMES = {"project": "workspace", "tags": "metadata", "content": "metadata"}
# Logsh's error names by status (its HTTP_ERROR_CODES_BY_KEY, inverted).
ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    429: "rate_limit_exceeded",
}

MetadataValue = Annotated[str, msgspec.Meta(max_length=500)] | int | float | bool


class LogshEvent(msgspec.Struct, forbid_unknown_fields=True):
    """Logsh's `eventApiCreationSchema` (a strict object: unknown keys are refused), with its messages."""

    workspace: str
    event: str
    description: str = ""
    icon: str = DEFAULT_ICON
    notify: bool = False
    metadata: dict[Annotated[str, msgspec.Meta(min_length=1, max_length=100)], MetadataValue] = {}

    def __post_init__(self) -> None:
        self.workspace = _trimmed(self.workspace, "Workspace name", 35)
        self.event = _trimmed(self.event, "Event", 250)
        self.description = self.description.strip()
        if len(self.description) > 250:
            raise ValueError("Description must be 250 characters or fewer")
        self.icon = _emoji(self.icon)


def _trimmed(value: str, label: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{label} is required")
    if len(value) > limit:
        raise ValueError(f"{label} must be {limit} characters or fewer")
    return value


def _emoji(icon: str) -> str:
    """An emoji, or an emoji's name (`fire`, `:fire:`) as Logsh's node-emoji lookup allows, as the emoji itself."""
    icon = icon.strip()
    if emoji.is_emoji(icon):
        return icon
    named = emoji.emojize(f":{icon.strip(':')}:", language="alias")
    if emoji.is_emoji(named):
        return named
    raise ValueError(f"Icon must be a valid emoji {DEFAULT_ICON}")


def render_error(error: ErrorBody, headers: dict[str, str]) -> Response[Any]:
    name = ERROR_NAMES.get(error.status, "internal_server_error" if error.status >= 500 else "bad_request")
    body = {"status": False, "name": name, "message": error.message}
    return Response(body, status_code=error.status, headers=headers)


@post("/event", status_code=201, summary="Logsh: publish an event", operation_class=json_body(LogshEvent))
async def publish(request: Request) -> dict[str, bool]:
    """Metadata is kept whole as the event's content; its keys that are valid tag keys also become tags."""
    body = decode(await read_payload(request), LogshEvent)
    tag_key = re.compile(TAG_KEY_PATTERN)
    tags = dict(islice(((k, v) for k, v in body.metadata.items() if tag_key.fullmatch(k)), MAX_TAGS))
    data = {
        "project": slug_or_hash(body.workspace.lower(), "workspace"),  # lower: case-insensitive in any script
        "event": body.event,
        "description": body.description or None,
        "icon": body.icon,
        "notify": body.notify,
        "tags": tags or None,
        "content": body.metadata or None,
    }
    await store_event(request, data, "logsh", NAMES)
    return {"status": True}


router = Router(
    path="/api",
    route_handlers=[publish],
    guards=[require("ingest")],
    exception_handlers=peer_errors(render_error),
    request_max_body_size=None,  # read_payload, within `ingest.max_body_bytes`
    tags=["compat: Logsh"],
)
