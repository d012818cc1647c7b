"""Corrections to the OpenAPI description Litestar builds.

The ingest routes, native and compatible, decode their body straight from bytes with msgspec (for speed, and to
answer in each peer's own error shape), so Litestar sees no `data` parameter and would describe no body at all.
`json_body(Model)` is the `operation_class` that describes it, from msgspec's own JSON Schema of the model.

The hub's patterns end in Python's `\\Z` (see hub.models.plain_patterns); JSON Schema's regular expressions are
ECMA-262's, where that is `$`. `OpenAPIJSON` serves `openapi.json` with them so spelled, and with two more
corrections to what Litestar writes: its error answers are described as its own exception body (`status_code`,
`detail`, `extra`), where the hub answers `ErrorBody` (`message`, `status`, `field`); and a union of `int` and
`float` is a `oneOf`, which a whole number matches twice and so fails (`anyOf` says what is meant).

`ApiReference` is the interactive page at `/schema`. It runs Scalar's bundle on the hub's own origin, where a
signed-in admin's session lives, so the bundle is a pinned release held to its hash (Subresource Integrity) and
nothing else is loaded from elsewhere (Litestar's page adds a stylesheet and an icon from a GitHub branch).
"""

from __future__ import annotations

import html
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody

from hub.api.errors import ErrorBody

ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


def json_body(model: Any, *, only: Collection[str] = (), text: str | None = None) -> type[Operation]:
    """An Operation class whose request body is `model` as JSON; `only`: the fields to show (a peer's subset),
    `text`: what a `text/plain` body means, when the route takes one too."""
    schema = _inlined(msgspec.json.schema(model))
    if only:
        schema["properties"] = {name: value for name, value in schema["properties"].items() if name in only}
        schema["required"] = [name for name in schema.get("required", []) if name in only]
    content = {"application/json": OpenAPIMediaType(schema=schema)}  # type: ignore[arg-type]  # a plain dict is kept as is
    if text:
        content["text/plain"] = OpenAPIMediaType(schema={"type": "string", "description": text})  # type: ignore[arg-type]

    @dataclass
    class WithJSONBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(content=content, required=True)

    return WithJSONBody


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """msgspec's schema with each `$ref` to its `$defs` replaced by the definition: one self-contained schema
    (a `#/$defs/...` reference would point into the OpenAPI document's root, where there are none)."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


SCALAR_VERSION = "1.76.4"
SCALAR_JS = f"https://cdn.jsdelivr.net/npm/@scalar/api-reference@{SCALAR_VERSION}/dist/browser/standalone.js"
# sha384 of that file in the npm package (`npm pack @scalar/api-reference@1.76.4`, then
# `openssl dgst -sha384 -binary package/dist/browser/standalone.js | openssl base64 -A`): jsDelivr serves a file
# named by its path as the package has it. Change the three together.
SCALAR_INTEGRITY = "sha384-hwB9WroDTpZaI38gr+u9CXA6ksz5gUYgD2GxXazKl/agT1L2GWUiRFWGJYNiFu4Q"
# Scalar's options (its @scalar/types ApiReferenceConfiguration): no fonts from fonts.scalar.com, no telemetry,
# and none of its hosted services offered (its toolbar's SDK and deploy links, its AI chat, its MCP server).
SCALAR_OPTIONS = {
    "withDefaultFonts": False,
    "telemetry": False,
    "showDeveloperTools": "never",
    "agent": {"disabled": True},
    "mcp": {"disabled": True},
}


class ApiReference(ScalarRenderPlugin):
    def __init__(self) -> None:
        super().__init__(js_url=SCALAR_JS)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(f"{openapi_schema['info']['title']} API reference")
        json_url = html.escape(self.get_openapi_json_route(request))
        options = html.escape(msgspec.json.encode(SCALAR_OPTIONS).decode())
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="/icons/icon.svg">
</head>
<body>
<noscript>This page needs JavaScript. The schema itself is at <a href="{json_url}">{json_url}</a>.</noscript>
<script id="api-reference" data-url="{json_url}" data-configuration="{options}"></script>
<script src="{self.js_url}" integrity="{SCALAR_INTEGRITY}" crossorigin="anonymous" referrerpolicy="no-referrer">
</script>
</body>
</html>
""".encode()


class OpenAPIJSON(JsonRenderPlugin):
    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        document = _numbers_any_of(_ecma_patterns(openapi_schema))
        _errors_as_answered(document)
        return super().render(request, document)


def _errors_as_answered(document: dict[str, Any]) -> None:
    """Every error answer Litestar describes with its exception body, described as the ErrorBody it is (in place)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorBody", _inlined(msgspec.json.schema(ErrorBody)))
    for item in document.get("paths", {}).values():
        for operation in item.values():
            responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
            for status, response in responses.items():
                media = (response.get("content") or {}).get("application/json")
                if status[0] in "45" and media and _is_litestar_error(media.get("schema", {})):
                    media["schema"] = ERROR_BODY


def _is_litestar_error(schema: dict[str, Any]) -> bool:
    """Litestar's `{status_code, detail, extra}`, alone or as a `oneOf` of several exceptions."""
    return "detail" in schema.get("properties", {}) or any(_is_litestar_error(s) for s in schema.get("oneOf", []))


def _numbers_any_of(node: Any) -> Any:
    if isinstance(node, dict):
        types = {member.get("type") for member in node.get("oneOf", []) if isinstance(member, dict)}
        union = "anyOf" if {"integer", "number"} <= types else "oneOf"
        return {union if key == "oneOf" else key: _numbers_any_of(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_numbers_any_of(item) for item in node]
    return node


def _ecma_patterns(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: value.removesuffix("\\Z") + "$"
            if key == "pattern" and str(value).endswith("\\Z")
            else _ecma_patterns(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_ecma_patterns(item) for item in node]
    return node
