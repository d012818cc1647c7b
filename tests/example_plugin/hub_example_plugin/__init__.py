"""An example third-party source plugin: webhooks signed with `X-Signature: sha256=<hex HMAC of the body>`.

Body: `{"id": "...", "title": "...", "level": "info|warning|critical", "details": {...}}`.
It is the complete example from docs/plugins.md, installed in the test run through its entry point.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import msgspec

from hub.pluginapi import Delivery, EventIn, PluginSettings, Rejected, WebhookRequest, hookimpl, truncate


class ExampleSettings(msgspec.Struct, forbid_unknown_fields=True):
    icon: str = "🧪"


class Payload(msgspec.Struct):
    id: str
    title: str
    level: str = "info"
    details: dict[str, object] = {}


class ExampleSource:
    name = "example"

    def verify(self, request: WebhookRequest, secrets: Sequence[str]) -> None:
        header = request.headers.get("x-signature", "")
        if not header.startswith("sha256="):
            raise Rejected(400, "missing or malformed X-Signature header (expected sha256=<hex>)")
        for secret in secrets:
            expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, header.removeprefix("sha256=")):
                return
        raise Rejected(401, "X-Signature does not match any secret of this source")

    def parse(self, request: WebhookRequest) -> Delivery:
        try:
            payload = msgspec.json.decode(request.body, type=Payload)
        except msgspec.MsgspecError as exc:
            raise Rejected(400, f"not an example payload: {exc}") from None
        severity = payload.level if payload.level in ("info", "warning", "critical") else "info"
        event = EventIn(
            event=truncate(payload.title, 250) or "untitled",
            channel="examples",
            icon=request.settings.icon,
            severity=severity,  # type: ignore[arg-type]
            tags={"example_id": payload.id[:1024]},
            content=payload.details,
        )
        return Delivery(delivery_id=payload.id, events=[event])


@hookimpl
def register_settings() -> PluginSettings:
    return PluginSettings("example", ExampleSettings)


@hookimpl
def register_sources() -> list[ExampleSource]:
    return [ExampleSource()]
