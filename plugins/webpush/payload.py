"""The JSON the service worker receives, kept under the 4 KiB web push limit after encryption."""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from hub.pluginapi import ActionOut, Message, plain_text

# RFC 8291 aes128gcm adds an 86-byte header, a 16-byte tag and a padding delimiter to the 4096-byte record.
MAX_PLAINTEXT = 4096 - 86 - 16 - 1
MAX_ACTIONS = 2
# Characters of the body kept before the buttons are dropped to make room.
BODY_FLOOR = 200


def _button(index: int, action: ActionOut, event_url: str) -> dict[str, Any]:
    """A button with a `url` opens it (the service worker runs the others through the hub at once). An action
    that must ask first (`confirm`) or takes inputs opens the event's page, where the app asks for them."""
    button: dict[str, Any] = {"action": action.key or f"link-{index}", "title": action.label}
    if action.external:
        button["url"] = action.url
    elif action.confirm or action.inputs:
        button["url"] = event_url
    return button


def collapse_key(message: Message) -> str | None:
    """What a push may replace, as its Topic at the push service and its tag on the device: an earlier one of its
    group, which is its rule's in its project (two rules, or two projects, grouping by the same values replaced each
    other's pushes). A page (critical) has none, so it always shows, and alerts, and a milder push of its group (the
    follow-up of the window it opened) cannot take its place: a push replacing a shown one of its tag is silent."""
    if not message.group_key or message.severity == "critical":
        return None
    group = f"{message.rule}\n{message.project}\n{message.group_key}"
    return "group-" + hashlib.sha256(group.encode()).hexdigest()[:32]


def _body(message: Message) -> str:
    """What the notification says under its title: a markdown description as the text it shows (a notification
    shows no markup, and cannot hold a link: tapping it opens the event), a text one as typed."""
    return plain_text(message.body) if message.is_markdown else message.body


def build(message: Message, icon: str, user_id: str | None) -> dict[str, Any]:
    """`user_id`: whom the push is for. The service worker runs its buttons only while that person is the one
    signed in on the device: a browser that changed hands must not run them as someone else."""
    payload: dict[str, Any] = {
        "title": message.title,
        "body": _body(message),
        "icon": icon,
        "url": message.url,
        "severity": message.severity,
        "tag": collapse_key(message) or message.id,
        "user_id": user_id,
    }
    if message.event is not None:
        payload["event_id"] = message.event.id
    actions = [_button(i, a, message.url) for i, a in enumerate(message.actions[:MAX_ACTIONS])]
    if actions:
        payload["actions"] = actions
    return payload


def encode(message: Message, icon: str, user_id: str | None, limit: int = MAX_PLAINTEXT) -> bytes:
    """Shrink the body down to BODY_FLOOR; if that is not enough, drop the buttons (external links may be 2 KiB
    each), then shrink the body and at last the title, until the JSON fits. Two long links cut body and title to
    nothing when the buttons went last, and the phone showed a notification that said nothing."""
    payload = build(message, icon, user_id)
    data = _shrunk(dict(payload), "body", limit, floor=BODY_FLOOR)
    if len(data) <= limit:
        return data
    payload.pop("actions", None)  # and the body is cut from its whole text again, only as far as it must be
    _shrunk(payload, "body", limit)
    return _shrunk(payload, "title", limit)


def _shrunk(payload: dict[str, Any], key: str, limit: int, floor: int = 0) -> bytes:
    """The payload's JSON, with `payload[key]` cut to the longest start (ending in `…`) that fits, or to `floor`
    characters when none does. Bytes are not characters (an accent is two, a control character six as JSON), so
    the length is found by bisection, not worked out from the bytes over."""
    text = payload[key]
    data = msgspec.json.encode(payload)
    if len(data) <= limit or len(text) <= floor:
        return data

    def cut_to(keep: int) -> bytes:
        payload[key] = text[:keep] + "…" if keep else ""
        return msgspec.json.encode(payload)

    low, high = floor, len(text) - 1  # the longest keep that fits lies in [low, high], if any does
    while low < high:
        middle = (low + high + 1) // 2
        if len(cut_to(middle)) <= limit:
            low = middle
        else:
            high = middle - 1
    return cut_to(low)
