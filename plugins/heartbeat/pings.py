"""The ping URLs, answered as Healthchecks answers them, so its scripts and wrappers work with a new base URL.

`/ping/{uuid}[/start|/fail|/log|/{exit_status}]` and `/ping/{ping_key}/{slug}[/...]` (`?create=1` makes the
check on its first ping); GET, POST and HEAD; `?rid=` pairs a start with its finish. A POST body is kept up
to `ping_body_limit` bytes, the rest dropped and the ping marked truncated; a body over MAX_BODY_BYTES is refused
with 413 and the ping not recorded. Answers are plain text: `OK`,
`OK (not found)` (or `404 not found`, see the `not_found` setting), `Created` (201) for `?create=1`, and
`400 invalid url format` / `invalid uuid format` for exit statuses above 255 and malformed run ids.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import parse_qsl

import msgspec
from litestar import asgi
from litestar.types import Receive, Scope, Send

from hub.pluginapi import hub_context

from .models import SLUG
from .recorder import Ping
from .service import service
from .states import Action

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_SLUG = re.compile(SLUG)
# Ping keys are `secrets.token_urlsafe` text (tables.projects.ping_key is 32 long): anything else, NUL say,
# names no project and must not reach the database, where PostgreSQL refuses it and the whole batch with it.
_PING_KEY = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
ACTIONS: dict[str, Action] = {"start": "start", "fail": "fail", "log": "log"}
# The most a ping's body may be, kept or not: past it a stray upload (a whole log file, without end) would hold
# the connection for as long as it lasts, and its size would not fit the pings table.
MAX_BODY_BYTES = 100 * 1024 * 1024


class BadPing(Exception):
    """A ping URL that cannot be answered `OK`: its status and Healthchecks' text for it."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


def too_big() -> BadPing:
    """The refusal of a body over MAX_BODY_BYTES, whether its Content-Length says so or its reading finds out."""
    return BadPing(413, f"ping body over {MAX_BODY_BYTES} bytes")


class Target(msgspec.Struct, frozen=True):
    uuid: str | None
    ping_key: str | None
    slug: str | None
    action: Action
    exit_status: int | None


def _action(segment: str | None) -> tuple[Action, int | None]:
    if segment is None:
        return "success", None
    if segment in ACTIONS:
        return ACTIONS[segment], None
    # ASCII digits only, as Healthchecks' `<int:exitstatus>`: str.isdigit() also takes `²` and Arabic-Indic `٣`.
    if segment.isascii() and segment.isdigit():
        digits = segment.lstrip("0") or "0"
        # Length first: int() of thousands of digits is refused by Python.
        if len(digits) > 3 or int(digits) > 255:
            raise BadPing(400, "invalid url format")
        status = int(digits)
        return ("success" if status == 0 else "fail"), status
    raise BadPing(404, "not found")


def parse_path(segments: list[str]) -> Target:
    """Which check a ping path names and what it reports; BadPing for paths Healthchecks would refuse."""
    if segments and UUID.match(segments[0]) and len(segments) <= 2:
        action, status = _action(segments[1] if len(segments) == 2 else None)
        return Target(uuid=segments[0].lower(), ping_key=None, slug=None, action=action, exit_status=status)
    if len(segments) in (2, 3) and _PING_KEY.match(segments[0]) and _SLUG.match(segments[1]):
        action, status = _action(segments[2] if len(segments) == 3 else None)
        return Target(uuid=None, ping_key=segments[0], slug=segments[1], action=action, exit_status=status)
    raise BadPing(404, "not found")


async def read_body(receive: Receive, limit: int) -> tuple[str | None, int, bool]:
    """The body's first `limit` bytes as text, its full size, and whether some of it was dropped.

    The rest is read and counted but not kept, so a client that sends more is still answered `OK`, up to
    MAX_BODY_BYTES: past that, BadPing(413).
    """
    kept = bytearray()
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise too_big()
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
        more = message.get("more_body", False)
    if not size:
        return None, 0, False
    # Invalid UTF-8 and NUL (which PostgreSQL text cannot hold) become U+FFFD.
    text = kept.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return text, size, size > len(kept)


@lru_cache(maxsize=64)
def _head(status: int, text: str, limit: int) -> tuple[tuple[tuple[bytes, bytes], ...], bytes]:
    """The headers and body of one of the few answers there are, built once."""
    body = text.encode()
    headers = (
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"ping-body-limit", str(limit).encode()),
        (b"access-control-allow-origin", b"*"),
    )
    if status == 405:
        headers += ((b"allow", b"GET, POST, HEAD"),)  # RFC 9110: a 405 says which methods the URL takes
    return headers, body


async def _answer(send: Send, method: str, status: int, text: str, limit: int) -> None:
    headers, body = _head(status, text, limit)
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


@asgi("/ping", is_mount=True, copy_scope=False)
async def ping(scope: Scope, receive: Receive, send: Send) -> None:
    """`/ping/...`, answered without the framework's request and response objects: pings are the hottest
    path of the hub and their answers are a few bytes of text."""
    hub = hub_context(scope)
    heartbeat = service(hub)
    settings = heartbeat.settings
    limit = settings.ping_body_limit
    method = scope["method"]
    if method not in ("GET", "POST", "HEAD"):
        await _answer(send, method, 405, "method not allowed", limit)
        return
    query = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    try:
        target = parse_path([part for part in scope["path"].split("/") if part])
        rid = query.get("rid") or None
        if rid is not None and not UUID.match(rid):
            raise BadPing(400, "invalid uuid format")
        declared = next((value for name, value in scope["headers"] if name == b"content-length"), b"")
        if len(declared) > 10 or (declared.isdigit() and int(declared) > MAX_BODY_BYTES):
            raise too_big()  # refused before it is sent
        body, size, truncated = await read_body(receive, limit) if method == "POST" else (None, 0, False)
    except BadPing as exc:
        await _answer(send, method, exc.status, exc.text, limit)
        return
    user_agent = next((value for name, value in scope["headers"] if name == b"user-agent"), b"")
    client = scope.get("client")
    recorded = await heartbeat.recorder.record(
        Ping(
            uuid=target.uuid,
            ping_key=target.ping_key,
            slug=target.slug,
            create=settings.allow_create and query.get("create") == "1",
            action=target.action,
            exit_status=target.exit_status,
            rid=rid.lower() if rid else None,
            method=method,
            remote_addr=client[0] if client else None,
            user_agent=user_agent.decode("latin-1")[:256] or None,
            body=body,
            body_size=size,
            body_truncated=truncated,
        )
    )
    if not recorded.found:
        if settings.not_found == "ok":
            await _answer(send, method, 200, "OK (not found)", limit)
        else:
            await _answer(send, method, 404, "not found", limit)
    else:
        await _answer(send, method, 201 if recorded.created else 200, "Created" if recorded.created else "OK", limit)
