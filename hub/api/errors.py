"""Every error leaves as JSON `{"message": ..., "field": ...}` with a fitting status; never a stack trace.

The `message` key is what the LogSnag, Logsh and Operational.co clients print, so their users see the reason.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, SerializationException
from litestar.handlers import BaseRouteHandler
from litestar.utils.scope.state import ScopeState
from sqlalchemy.exc import DBAPIError

from hub.db.engine import unavailable_reason
from hub.models import ValidationProblem, plain_patterns

log = logging.getLogger(__name__)

_AT_PATH = re.compile(r" - at `(?:[^`]*` in `)?\$\.?([^`]*)`$")
# A message that starts by naming a field within the object it is at: the hub's own rules ("`content` must ...")
# and msgspec's "Object missing required field `event`".
_NAMED = re.compile(r"^(?:Object missing required field |Object contains unknown field )?`([A-Za-z_][\w.-]*)`")
# msgspec's path to a value in an object of free keys (`dict[str, ...]`): `- at `$.tags[...]``.
_FREE_KEY_AT = re.compile(r" - at `\$((?:\.\w+|\[\d+\])*)\[\.\.\.\]")
# msgspec's messages for a number past a float's range and for an integer of more digits than Python reads (4,300),
# and the path they end with (`$.content[...][2]`), step by step: a field `.name` (the name's group), an index `[2]`
# (the index's group), a free key `[...]` (neither).
_OUT_OF_RANGE = ("Number out of range", "Integer value out of range")
_MSGSPEC_PATH = re.compile(r" - at `\$([^`]*)`$")
_PATH_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]|\[\.\.\.\]")
# On every answer (app.py sets them on the handlers' own; errors get them here): a browser must not take a JSON body
# that repeats the request for a page of another type, nor show the hub's answers in another site's frame, nor keep
# them (events, keys, a session's CSRF token) on disk or in a shared cache. An answer that may be kept (the app's
# files, a badge) says so itself, and its own header wins.
BASELINE_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
# A JSON body's numbers read as written (Decimal) and written back so: a number no float holds (`1e400`, which
# msgspec refuses with "Number out of range") survives being cut short and checked again by `name_the_key`.
_AS_WRITTEN = msgspec.json.Decoder(float_hook=Decimal)
AS_WRITTEN = msgspec.json.Encoder(decimal_format="number")
# What a 503 for a database unavailable for now asks clients to wait (a restart, a connection re-made).
RETRY_AFTER_SECONDS = 5
_DEFAULT_MESSAGES = {
    404: "not found",
    405: "method not allowed on this path",
    413: "request body too large",
}


class ErrorBody(msgspec.Struct, omit_defaults=True):
    message: str
    status: int
    field: str | None = None


def error_response(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(
        ErrorBody(message=message, status=status, field=field),
        status_code=status,
        media_type=MediaType.JSON,
        headers={**BASELINE_HEADERS, **(headers or {})},
    )


def field_of(message: str, prefix: str = "") -> str | None:
    """The dotted field a msgspec error message points at (`$.actions[0].url` -> `actions[0].url`), down to the
    field it names (`actions[0].key` for "`key` is required ... - at `$.actions[0]`"). A rule that names its field
    from the top already (`quiet_hours.timezone` ... - at `$.quiet_hours`) is not prefixed twice."""
    at = _AT_PATH.search(message)
    named = _NAMED.match(message)
    path = at.group(1).replace("[...]", "") if at else ""
    if named and path and named.group(1).startswith(f"{path}."):
        path = ""
    parts = [prefix.strip("."), path, named.group(1) if named else ""]
    return ".".join(part for part in parts if part) or None


def name_the_key(
    exc: msgspec.ValidationError, document: Any, validate: Callable[[Any], object]
) -> msgspec.ValidationError:
    """msgspec points at a bad value in an object of free keys as `$.tags[...]`; this names the key (`$.tags.plan`).

    `document` is what failed (a JSON body, or the value it decodes to), `validate` the check that failed; a body's
    numbers reach it as Decimals, for it to write back with AS_WRITTEN. Entries are checked in order, so the culprit
    ends the shortest run of the object's first entries that still fails the same way, found by checking again with
    the object cut short (a bisection, on errors only)."""
    message = str(exc)
    at = _FREE_KEY_AT.search(message)
    if at is None:
        return exc
    if isinstance(document, bytes | msgspec.Raw):
        try:
            document = _read_as_written(document)
        except (ValueError, RecursionError):
            return exc
    if message.startswith(_OUT_OF_RANGE) and (named := _name_out_of_range(message, document)) is not None:
        return named
    steps: list[str | int] = [name or int(index) for name, index in re.findall(r"\.(\w+)|\[(\d+)\]", at.group(1))]
    parent, node = None, document
    for step in steps:
        parent, node = node, _child(node, step)
    if not isinstance(node, dict) or not node:
        return exc
    entries = list(node.items())

    def fails_the_same_way(count: int) -> bool:
        if parent is not None:
            parent[steps[-1]] = dict(entries[:count])
        try:
            validate(document if parent is not None else dict(entries[:count]))
        except msgspec.ValidationError as again:
            return str(again) == message
        except ValueError:  # a trial AS_WRITTEN cannot write: not the same failure
            return False
        finally:
            if parent is not None:
                parent[steps[-1]] = node
        return False

    low, high = 1, len(entries)
    if not fails_the_same_way(high):
        return exc
    while low < high:
        middle = (low + high) // 2
        if fails_the_same_way(middle):
            high = middle
        else:
            low = middle + 1
    key = entries[low - 1][0]
    return msgspec.ValidationError(message.replace(f"{at.group(1)}[...]", f"{at.group(1)}.{key}", 1))


def _read_as_written(body: bytes | msgspec.Raw) -> Any:
    """A body's numbers as Decimals where a float would not hold them; `ValueError` when it is not JSON. msgspec
    reads no integer of more digits than Python's `int()` takes, so such a body is read by the standard library,
    which hands over an integer's digits (as msgspec refused it, the body is JSON)."""
    try:
        return _AS_WRITTEN.decode(body)
    except msgspec.ValidationError:
        document = json.loads(
            bytes(body),
            parse_float=Decimal,
            parse_int=_integer_as_written,
            parse_constant=_not_json,
            object_pairs_hook=_keys_once,
        )
        AS_WRITTEN.encode(document)  # what msgspec refuses and json takes (a lone surrogate) fails here, not later
        return document


def _integer_as_written(digits: str) -> int | Decimal:
    return Decimal(digits) if len(digits.lstrip("-")) > sys.get_int_max_str_digits() else int(digits)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _keys_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object as msgspec reads it, or ValueError: of a key given twice, msgspec may have read either."""
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("a key is given twice")
    return document


def _name_out_of_range(message: str, document: Any) -> msgspec.ValidationError | None:
    """The full path of a number msgspec refused (`$.content.a.b[2]`, where it says `$.content[...][...][2]`), found
    in one walk rather than a bisection per level. The walk follows msgspec's path and, at each free key, the
    object's entries in order, as msgspec read them: the culprit is the first number on such a path that
    `_read_as_written` decoded as a Decimal no float holds (a float past the range, or an integer too long to
    read). None when there is none."""
    at = _MSGSPEC_PATH.search(message)
    if at is None:
        return None
    try:
        path = _path_to(document, _PATH_STEP.findall(at.group(1)), 0)
    except RecursionError:
        return None
    if path is None:
        return None
    shown = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)
    return msgspec.ValidationError(f"{message[: at.start(1)]}{shown}`")


def _path_to(node: Any, shape: list[tuple[str, str]], depth: int) -> tuple[str | int, ...] | None:
    """The steps from `node` along `shape[depth:]` (a field's name, an index, or neither: a free key) to the first
    number no float holds; each entry is looked at once at most, however wide or deep the document."""
    if depth == len(shape):
        return () if isinstance(node, Decimal) and math.isinf(float(node)) else None
    name, index = shape[depth]
    steps: list[str | int]
    if index:
        steps = [int(index)] if isinstance(node, list) and int(index) < len(node) else []
    elif name:
        steps = [name] if isinstance(node, dict) and name in node else []
    else:
        steps = list(node) if isinstance(node, dict) else []
    for step in steps:
        if (found := _path_to(node[step], shape, depth + 1)) is not None:
            return (step, *found)
    return None


def _child(node: Any, step: str | int) -> Any:
    """`node[step]` when there is such an entry, else None."""
    if isinstance(step, int):
        return node[step] if isinstance(node, list) and step < len(node) else None
    return node.get(step) if isinstance(node, dict) else None


def _type_at(model: type, path: str) -> msgspec.inspect.Type | None:
    """Follow `a.b[0].c` through a Struct's declared types."""
    node: msgspec.inspect.Type | None = msgspec.inspect.type_info(model)
    for name, index in re.findall(r"\.?([A-Za-z_]\w*)|\[(\d+)\]", path):
        node = _declared(node)
        if name and isinstance(node, msgspec.inspect.StructType):
            node = next((f.type for f in node.fields if f.encode_name == name), None)
        elif index and isinstance(node, msgspec.inspect.ListType):
            node = node.item_type
        else:
            return None
    return _declared(node)


def _declared(node: msgspec.inspect.Type | None) -> msgspec.inspect.Type | None:
    """The type a value is read as: an optional's other member, an annotated type itself."""
    while isinstance(node, msgspec.inspect.UnionType):
        node = next((t for t in node.types if not isinstance(t, msgspec.inspect.NoneType)), node.types[0])
    return node.type if isinstance(node, msgspec.inspect.Metadata) else node


def describe_validation(
    exc: msgspec.ValidationError, prefix: str = "", model: type | None = None
) -> tuple[str, str | None]:
    """msgspec's message with the field's full path, and the allowed values spelled out for enums."""
    message = plain_patterns(str(exc))
    field = field_of(message, prefix)
    match = _AT_PATH.search(message)
    if model is not None and match and message.startswith("Invalid enum value"):
        node = _type_at(model, match.group(1))
        if isinstance(node, msgspec.inspect.LiteralType):
            allowed = ", ".join(repr(v) for v in node.values)
            message = message.replace(" - at", f" (expected one of {allowed}) - at", 1)
    if prefix:
        message = message.replace("`$", f"`$.{prefix.rstrip('.')}", 1)
    return message, field


def on_validation_problem(_: Request, exc: ValidationProblem) -> Response[ErrorBody]:
    return error_response(400, str(exc), exc.field)


def on_msgspec_validation(_: Request, exc: msgspec.ValidationError) -> Response[ErrorBody]:
    message, field = describe_validation(exc, model=getattr(exc, "model", None))
    return error_response(400, message, field)


def on_decode_error(_: Request, exc: msgspec.DecodeError) -> Response[ErrorBody]:
    return error_response(400, f"the body is not valid JSON: {exc}")


def refused_field(exc: HTTPException) -> str | None:
    """The request value a refusal names (`extra={"field": "project"}`), if any."""
    return exc.extra.get("field") if isinstance(exc.extra, dict) else None


def _body_limit(request: Request) -> int | None:
    """The framework's limit on the route's body (a 413 it raised without saying it)."""
    handler = request.scope.get("route_handler")
    return handler.resolve_request_max_body_size() if handler is not None else None


def on_http_exception(request: Request, exc: HTTPException) -> Response[ErrorBody]:
    message = exc.detail
    if (
        not message
        or message == getattr(exc, "default_detail", None)
        or message in {"Not Found", "Request Entity Too Large", "Method Not Allowed"}
    ):
        message = _DEFAULT_MESSAGES.get(exc.status_code, message or "error")
        if exc.status_code == 413 and (limit := _body_limit(request)):
            message = f"request body is larger than the limit of {limit} bytes"
    if (
        exc.status_code == 400
        and isinstance(exc.__cause__, SerializationException)
        and message.startswith(_OUT_OF_RANGE)
    ):
        return _out_of_range_in_body(request, message)
    if exc.status_code == 400 and isinstance(exc.extra, list) and exc.extra:
        # Litestar's own parameter validation: name the parameter.
        first = exc.extra[0]
        if isinstance(first, dict) and first.get("key"):
            # Litestar names the source as an enum (`ParamType.QUERY`); people read "query parameter".
            source = getattr(first.get("source"), "value", first.get("source")) or "request"
            where = f"{source} parameter" if source in ("query", "path", "header", "cookie") else str(source)
            message = plain_patterns(str(first.get("message")))
            if source == "body":
                # As the routes that decode their own bodies say it: `- at `$.period``. Litestar calls the whole
                # body `data`, a name no request has; a rule broken there names its field in the message.
                key = str(first["key"])
                message = message if key == "data" else f"{message} - at `$.{key}`"
                return error_response(400, message, field_of(message) or (None if key == "data" else key))
            return error_response(400, f"{message} - at `{first['key']}` ({where})", str(first["key"]))
    return error_response(exc.status_code, str(message), refused_field(exc), headers=exc.headers)


def _out_of_range_in_body(request: Request, message: str) -> Response[ErrorBody]:
    """Litestar decodes a `data: JSONBody[...]` body as plain JSON first, where every object has free keys, so a
    number no float holds is at `$[...][...]`; named from the body Litestar read, which it keeps in the scope."""
    exc = msgspec.ValidationError(message)
    body = ScopeState.from_scope(request.scope).body
    if isinstance(body, bytes):
        exc = name_the_key(exc, body, lambda trial: msgspec.json.decode(AS_WRITTEN.encode(trial)))
    message, field = describe_validation(exc)
    return error_response(400, message, field)


def on_unexpected(request: Request, exc: Exception) -> Response[ErrorBody]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal error; the hub's log has the details")


def on_database_error(request: Request, exc: DBAPIError) -> Response[ErrorBody]:
    """A database that cannot be used for now (PostgreSQL restarted under the hub, a full disk, a read-only file):
    503 with Retry-After, which clients retry, and one line in the log rather than a traceback per request."""
    if (reason := unavailable_reason(exc)) is None:
        return on_unexpected(request, exc)
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, reason)
    return error_response(
        503, "the database is unavailable for now; retry later", headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )


def takes_json_body(handler: BaseRouteHandler) -> bool:
    """Whether Litestar decodes the request body as JSON for this handler (`data: JSONBody[...]`)."""
    data = handler.parsed_fn_signature.parameters.get("data")
    return data is not None and getattr(data.kwarg_definition, "media_type", None) == RequestEncodingType.JSON


exception_handlers = {
    ValidationProblem: on_validation_problem,
    msgspec.ValidationError: on_msgspec_validation,
    msgspec.DecodeError: on_decode_error,
    HTTPException: on_http_exception,
    DBAPIError: on_database_error,
    Exception: on_unexpected,
}
