"""What many handlers share: the API-key guard, body reading with limits, and project resolution."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from hub.api.errors import AS_WRITTEN, name_the_key, takes_json_body
from hub.api.session_auth import caller_for, session_user
from hub.auth import ApiKey
from hub.models import ValidationProblem
from hub.ratelimit import retry_after_header

if TYPE_CHECKING:
    from hub.core import Hub

T = TypeVar("T")
# A JSON `\u0000` escape, not a literal backslash followed by "u0000" (an even run of backslashes before it).
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# A \uD800-\uDBFF escape with no \uDC00-\uDFFF escape after it (an even run of backslashes before it, as above).
_UNPAIRED_HIGH_SURROGATE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])")
EMPTY_BODY = "the request body is empty; send a JSON object"
# Deeper than Python's stack allows msgspec to decode.
TOO_DEEP = "the body nests JSON too deeply to be read"
Guard = Callable[[ASGIConnection, BaseRouteHandler], Coroutine[Any, Any, None]]


def hub_of(connection: ASGIConnection) -> Hub:
    return connection.app.state.hub


async def screen_request(request: Request) -> None:
    """A `before_request` hook, run before the handler's body is decoded.

    A NUL character in the path or query can name nothing the hub stores. A handler that takes a JSON body
    (`data: JSONBody[...]`) answers 415 to a body sent as another media type, as the ingest routes do, where
    Litestar would decode it as JSON anyway: a form or a `text/plain` body is what a cross-site page can send
    without the browser asking first. A body it needs and did not get is a 400 that says so, where Litestar's
    own answer was `'data'`. The body is checked here as strictly as the ingest routes check theirs (see
    `check_strictly`).
    """
    scope = request.scope  # not request.url, which would build a URL object for every request
    if "\x00" in scope["path"] or b"%00" in scope["query_string"].lower():
        raise ValidationProblem("the URL contains a NUL character (%00), which the hub does not accept")
    if not takes_json_body(request.route_handler):
        return
    body = b""
    if request.headers.get("content-length") != "0":
        refuse_unless_json(request)
        # Read here, the body is kept for Litestar's decoding; PostgreSQL's text would refuse a NUL with a 500.
        body = await request.body()
        refuse_nul(body)
    data = request.route_handler.parsed_fn_signature.parameters["data"]
    if not body and not data.has_default:
        raise ValidationProblem(EMPTY_BODY)
    if body:
        check_strictly(body, data.annotation)


def check_strictly(body: bytes, type_: Any) -> None:
    """Litestar converts a body leniently, and took `"60"` for a check's period of 60 or `"true"` for true: the
    body must be what `type_` says, with the messages the ingest routes give. A whole number written as a float
    (60.0, as Python's `timedelta.total_seconds()` gives) is still that number."""
    try:
        decode(body, type_)
    except TypeError:  # a type msgspec cannot decode (a plugin's own): Litestar's decoding alone
        return
    except msgspec.ValidationError as exc:
        if "got `float`" not in str(exc):
            raise
        try:
            msgspec.convert(_whole_numbers(msgspec.json.decode(body)), type_)
        except msgspec.ValidationError as again:
            again.model = type_  # type: ignore[attr-defined]
            raise


def _whole_numbers(value: Any) -> Any:
    """`value` with every float that is a whole number made an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    return value


def bearer_token(connection: ASGIConnection) -> str | None:
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def require(scope: str) -> Guard:
    """A guard: see `authorize`."""

    async def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        await authorize(connection, scope)

    return guard


async def hub_admin(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """A guard for administering the whole hub (keys, sources, people, routing rules, deliveries, action secrets):
    the `admin` scope on a key bound to no project. A key bound to a project reads and writes that project only;
    with `admin`, it also manages that project's own things (its heartbeat checks)."""
    key = await authorize(connection, "admin")
    if key.project is not None:
        raise PermissionDeniedException(
            f"this API key is bound to project `{key.project}`; administering the hub needs a key bound to no project"
        )


async def authorize(connection: ASGIConnection, scope: str) -> ApiKey:
    """The caller's valid, unrevoked key with `scope` (admin has every scope), within its rate limit.

    Without a bearer key, a web app session counts instead (see hub.api.session_auth), its role as scopes.
    The single-event ingest route calls this itself rather than through a guard: Litestar hands every guard its
    own copy of the route handler, which cost about a tenth of that route's work.
    """
    key = await caller(connection, scope)
    hub = hub_of(connection)
    rate = key.rate_limit if key.rate_limit is not None else hub.settings.ingest.rate_limit_per_key
    wait = hub.limiter.acquire(key.id, rate)
    if wait:
        raise HTTPException(
            status_code=429,
            detail=f"rate limit of {rate:g} requests/s for this key exceeded",
            headers={"Retry-After": retry_after_header(wait)},
        )
    connection.state.api_key = key
    return key


async def caller(connection: ASGIConnection, scope: str) -> ApiKey:
    """The caller's key, or its session as one, if it is valid and has `scope`: 401 or 403 otherwise."""
    hub = hub_of(connection)
    token = bearer_token(connection)
    user = await session_user(hub, connection) if token is None else None
    if token is None and user is None:
        raise NotAuthorizedException(
            "missing API key: send `Authorization: Bearer <key>`", headers={"WWW-Authenticate": "Bearer"}
        )
    key = caller_for(user) if user is not None else await hub.keys.authenticate(token or "")
    if key is None:
        raise NotAuthorizedException("invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"})
    if not key.allows(scope):
        who = f"your role ({user.role})" if user is not None else "this API key"
        raise PermissionDeniedException(f"{who} lacks the `{scope}` scope")
    return key


def refuse_unless_json(request: Request, *, allow_text: bool = False) -> None:
    """415 for a body declared as another media type than JSON (or `text/plain`, with `allow_text`)."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type and "json" not in content_type and not (allow_text and content_type.startswith("text/plain")):
        raise HTTPException(status_code=415, detail=f"send the body as application/json, not {content_type}")


def api_key(request: Request) -> ApiKey:
    return request.state.api_key


async def read_body(request: Request, limit: int, *, allow_text: bool = False, screen_nul: bool = True) -> bytes:
    """The raw body, refused with 413 past `limit` bytes and 415 when it is not JSON (and 400 with a NUL character,
    unless the caller answers the parts of the body on their own: `screen_nul=False`)."""
    refuse_unless_json(request, allow_text=allow_text)
    body = await read_up_to(request, limit, f"request body is larger than the limit of {limit} bytes")
    if not body:
        raise ValidationProblem(EMPTY_BODY)
    if screen_nul:
        refuse_nul(body)
    return body


async def read_up_to(request: Request, limit: int, too_large: str) -> bytes:
    """The body, or 413 saying `too_large` as soon as it is known to pass `limit` bytes: from its Content-Length,
    else while it comes in, so that a chunked body is never held past the limit. A route that reads its body this
    way sets `request_max_body_size=None`: the app's own limit is the one for bodies the framework decodes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=too_large)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def has_nul(body: bytes) -> bool:
    """Whether a body holds a NUL character, raw or as a JSON `\\u0000` escape: PostgreSQL's text cannot."""
    return b"\x00" in body or (b"\\u0000" in body and _ESCAPED_NUL.search(body) is not None)


def refuse_nul(body: bytes) -> None:
    """400 for a JSON body with a NUL character, naming the field it is in."""
    if (problem := nul_problem(body)) is not None:
        raise problem


def nul_problem(body: bytes, prefix: str = "") -> ValidationProblem | None:
    """What is wrong with a JSON body (or a part of one, at `prefix` such as `events[3].`) that holds a NUL
    character, naming the field it is in; None when it holds none."""
    if not has_nul(body):
        return None
    field = _nul_field(body)
    where = f"{prefix}{field}" if field else prefix.rstrip(".")
    if where:
        return ValidationProblem(f"`{where}` contains a NUL character (\\u0000), which the hub does not store", where)
    return ValidationProblem("the request body contains a NUL character (\\u0000), which the hub does not store")


def _nul_field(body: bytes) -> str | None:
    """The dotted path (`inputs.reason`, `tags[2]`) of the first string with a NUL in a JSON body; for a key with
    one, the object holding it. None when the body is no JSON or the NUL is at the top."""

    def walk(value: Any, path: str) -> str | None:
        if isinstance(value, str):
            return path if "\x00" in value else None
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return path
                if found := walk(item, f"{path}.{key}" if path else key):
                    return found
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if found := walk(item, f"{path}[{index}]"):
                    return found
        return None

    try:
        return walk(msgspec.json.decode(body), "") or None
    except (msgspec.DecodeError, RecursionError):
        return None


def decode(body: bytes, type_: type[T]) -> T:
    """Decode and validate; a ValidationError carries the model so the error handler can name allowed values."""
    try:
        return msgspec.json.decode(body, type=type_)
    except msgspec.ValidationError as exc:
        named = name_the_key(exc, body, lambda trial: msgspec.json.decode(AS_WRITTEN.encode(trial), type=type_))
        named.model = type_  # type: ignore[attr-defined]
        if named is exc:
            raise
        raise named from None
    except msgspec.DecodeError as exc:
        if str(exc) == "Input data was truncated" and _UNPAIRED_HIGH_SURROGATE.search(body):
            # msgspec takes an unpaired high surrogate for the end of the input
            raise msgspec.DecodeError(
                "JSON is malformed: a \\uD800-\\uDBFF escape must be followed by a \\uDC00-\\uDFFF escape "
                "(an unpaired UTF-16 surrogate)"
            ) from None
        raise
    except RecursionError:
        raise ValidationProblem(TOO_DEEP) from None


def project_for(key: ApiKey, requested: str | None, default: str | None = None) -> str:
    """The project an event goes to: the key's own, or the one named (which a project-bound key must match)."""
    if key.project:
        if requested and requested.lower() != key.project:
            raise PermissionDeniedException(
                f"this API key may only send to project `{key.project}`", extra={"field": "project"}
            )
        return key.project
    if requested:
        return requested.lower()
    if default:
        return default
    raise ValidationProblem("`project` is required (or use an API key bound to a project)", "project")
