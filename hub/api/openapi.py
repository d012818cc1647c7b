"""Two corrections to the OpenAPI description Litestar builds.

The ingest routes, native and compatible, decode their body straight from bytes with msgspec (for speed, and to
answer in each peer's own error shape), so Litestar sees no `data` parameter and would describe no body at all.
`json_body(Model)` is the `operation_class` that describes it, from msgspec's own JSON Schema of the model.

The hub's patterns end in Python's `\\Z` (see hub.models.plain_patterns); JSON Schema's regular expressions are
ECMA-262's, where that is `$`. `OpenAPIJSON` serves `openapi.json` with them so spelled.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody


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


class OpenAPIJSON(JsonRenderPlugin):
    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, _ecma_patterns(openapi_schema))


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
