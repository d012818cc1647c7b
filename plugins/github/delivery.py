"""Reading a GitHub delivery: its id and event headers, and its payload from a JSON or form-encoded body.

GitHub sends the payload either as the JSON body (content type `application/json`) or as the `payload`
field of a form (`application/x-www-form-urlencoded`), depending on the webhook's settings.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import msgspec

from hub.pluginapi import Rejected, WebhookRequest

MAX_DELIVERY_ID = 128
FORM = "application/x-www-form-urlencoded"


def delivery_id(request: WebhookRequest) -> str:
    """The GUID GitHub gives each delivery and keeps when it is redelivered; a request without one is not from
    GitHub."""
    value = request.headers.get("x-github-delivery", "").strip()
    if not value:
        raise Rejected(400, "missing X-GitHub-Delivery header: every GitHub delivery has one")
    if len(value) > MAX_DELIVERY_ID:
        raise Rejected(400, f"X-GitHub-Delivery must be at most {MAX_DELIVERY_ID} characters")
    return value


def event_name(request: WebhookRequest) -> str:
    value = request.headers.get("x-github-event", "").strip()
    if not value:
        raise Rejected(400, "missing X-GitHub-Event header: it names the event type")
    return value


def payload(request: WebhookRequest) -> dict[str, Any]:
    """The delivery's payload object; a body that is not one is refused with 400."""
    raw: bytes | str = _form_payload(request.body) if request.content_type == FORM else request.body
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise Rejected(400, f"the payload is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Rejected(400, "the payload must be a JSON object")
    return value


def _form_payload(body: bytes) -> str:
    try:
        fields = parse_qs(body.decode("ascii"), errors="strict", max_num_fields=100)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise Rejected(400, f"the form-encoded body is not valid: {exc}") from None
    values = fields.get("payload")
    if not values:
        raise Rejected(400, "the form-encoded body has no `payload` field")
    return values[0]
