"""What the three compatible APIs share: peer-shaped errors, peer fields mapped onto EventIn, and storing.

Each peer's body is turned into the hub's own `EventIn` with `msgspec.convert`, so every native rule applies;
only the names in error messages are changed back to the ones the peer's client sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import emoji
import msgspec
from litestar import Request, Response

from hub.api.common import api_key, hub_of, project_for, read_body
from hub.api.errors import ErrorBody, describe_validation, exception_handlers, name_the_key
from hub.ingest import draft_from_input
from hub.models import EventIn, StoredResult, ValidationProblem, now_utc

Render = Callable[[ErrorBody, dict[str, str]], Response[Any]]

_PATH = re.compile(r"`\$\.([^`]*)`")
_NAME = re.compile(r"`(\w+)`")
_SEGMENT = re.compile(r"[A-Za-z_]\w*")


def peer_errors(render: Render) -> dict[Any, Callable[[Request, Exception], Response[Any]]]:
    """Exception handlers for a peer's routes: the native handler decides status and message, `render` the shape.

    Every key of the native map is overridden, so no error on these routes leaves in the native shape.
    """

    def handle(request: Request, exc: Exception) -> Response[Any]:
        native = next(exception_handlers[kind] for kind in type(exc).__mro__ if kind in exception_handlers)
        response = native(request, exc)
        return render(response.content, response.headers)

    return dict.fromkeys(exception_handlers, handle)


async def read_payload(request: Request, *, allow_text: bool = False, screen_nul: bool = True) -> bytes:
    """The body within the ingest limit (read_body refuses NUL characters, as on the native route, unless the
    caller screens a body that is no JSON itself: `screen_nul=False`)."""
    limit = hub_of(request).settings.ingest.max_body_bytes
    return await read_body(request, limit, allow_text=allow_text, screen_nul=screen_nul)


def rename_fields(message: str, field: str | None, names: Mapping[str, str]) -> tuple[str, str | None]:
    """Spell hub field names in a message and a dotted path the way the peer's client named them."""

    def path(dotted: str) -> str:
        return _SEGMENT.sub(lambda m: names.get(m[0], m[0]), dotted)

    message = _PATH.sub(lambda m: f"`$.{path(m[1])}`", message)
    message = _NAME.sub(lambda m: f"`{names.get(m[1], m[1])}`", message)
    return message, path(field) if field else None


def to_event(data: dict[str, Any], names: Mapping[str, str] | None = None) -> EventIn:
    """Validate a mapped body as the native EventIn; errors name the peer's fields (`names`: hub -> peer)."""
    try:
        return msgspec.convert(data, EventIn)
    except msgspec.ValidationError as exc:
        exc = name_the_key(exc, data, lambda trial: msgspec.convert(trial, EventIn))
        message, field = describe_validation(exc, model=EventIn)
        raise ValidationProblem(*rename_fields(message, field, names or {})) from None


async def store_event(
    request: Request, data: dict[str, Any], source: str, names: Mapping[str, str] | None = None
) -> StoredResult:
    """The native ingest path: EventIn, the key's project rule, a draft, the group-committing writer."""
    event_in = to_event(data, names)
    project = project_for(api_key(request), event_in.project)
    draft = draft_from_input(event_in, project=project, source=source, received_at=now_utc())
    [result] = await hub_of(request).ingestor.store([draft])
    return result


def leading_emoji(text: str) -> tuple[str | None, str]:
    """Split `🚀 Deployed` into the emoji (whole, even when several code points) and the trimmed rest. Only an
    emoji drawn as a picture counts: `™ Trademark renewal` keeps its sign, as Operational's own server does."""
    text = text.strip()
    found = emoji.emoji_list(text)
    if found and found[0]["match_start"] == 0 and _pictographic(found[0]["emoji"]):
        return found[0]["emoji"], text[found[0]["match_end"] :].strip()
    return None, text


def _pictographic(sequence: str) -> bool:
    """Shown as a picture: asked to be (U+FE0F), or from the blocks whose emoji are (pictographs, dingbats,
    symbols such as ⌚ and ⭐); not the text signs the emoji list also holds (™ © ® ‼ ↔)."""
    first = ord(sequence[0])
    return "\ufe0f" in sequence or first >= 0x1F000 or 0x2300 <= first <= 0x27BF or 0x2B00 <= first <= 0x2BFF
