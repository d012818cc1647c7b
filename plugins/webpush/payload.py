"""The JSON the service worker receives, kept under the 4 KiB web push limit after encryption."""

from __future__ import annotations

from typing import Any

import msgspec

from hub.pluginapi import Message

# RFC 8291 aes128gcm adds an 86-byte header, a 16-byte tag and a padding delimiter to the 4096-byte record.
MAX_PLAINTEXT = 4096 - 86 - 16 - 1
MAX_ACTIONS = 2


def build(message: Message, icon: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "title": message.title,
        "body": message.body,
        "icon": icon,
        "url": message.url,
        "severity": message.severity,
        "tag": message.group_key or message.id,
    }
    if message.event is not None:
        payload["event_id"] = message.event.id
    actions = [
        {"action": a.key or f"link-{i}", "title": a.label, **({"url": a.url} if a.external else {})}
        for i, a in enumerate(message.actions[:MAX_ACTIONS])
    ]
    if actions:
        payload["actions"] = actions
    return payload


def encode(message: Message, icon: str, limit: int = MAX_PLAINTEXT) -> bytes:
    """Shrink the body, then the title, then drop the buttons, until the JSON fits."""
    payload = build(message, icon)
    data = msgspec.json.encode(payload)
    for key in ("body", "title"):
        while len(data) > limit and payload[key]:
            text, cut = payload[key], len(data) - limit
            # Every character is at least one byte and the ellipsis three, so this always gains `cut` bytes.
            payload[key] = text[: len(text) - cut - 3] + "…" if len(text) > cut + 3 else ""
            data = msgspec.json.encode(payload)
    if len(data) > limit:
        payload.pop("actions", None)  # external action URLs may be up to 2 KiB each
        data = msgspec.json.encode(payload)
    return data
