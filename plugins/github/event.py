"""The one place a rendering becomes an `EventIn`, so every GitHub event respects the event model's limits.

Renderers decide what an event says; this module adds what all of them share (the `[owner/repo]` title
prefix, the common tags, the curated payload as content) and clamps every field to the model's limits, so
no payload, however odd, can produce an event the hub would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import msgspec

from hub.pluginapi import EventIn, truncate

from .content import curated
from .node import Node
from .text import one_line

Severity = Literal["info", "warning", "critical"]
TagValue = str | int | bool | None

MAX_TITLE = 250
MAX_DESCRIPTION = 4000
MAX_TAG_TEXT = 200
MAX_LINK_LABEL = 48
MAX_LINKS = 5


@dataclass(frozen=True, slots=True)
class Rendering:
    """What a renderer says about one delivery; `None` tag values and links without a URL are left out."""

    title: str
    icon: str
    channel: str
    description: str | None = None
    severity: Severity = "info"
    tags: dict[str, TagValue] = field(default_factory=dict)
    links: list[tuple[str, str | None]] = field(default_factory=list)


def scope_of(payload: Node) -> str:
    """Where the event happened: the repository, else the organization, else the app installation's account."""
    return one_line(
        payload["repository"]["full_name"].text()
        or payload["organization"]["login"].text()
        or payload["installation"]["account"]["login"].text(),
        140,
    )


def common_tags(name: str, payload: Node) -> dict[str, TagValue]:
    return {
        "event": name,
        "action": payload["action"].text() or None,
        "repo": payload["repository"]["full_name"].text() or None,
        "org": payload["organization"]["login"].text() or None,
        "sender": payload["sender"]["login"].text() or None,
    }


def clean_tags(tags: dict[str, TagValue]) -> dict[str, str | int | bool]:
    """Tags without empty values, text on one line and short enough to filter on."""
    cleaned: dict[str, str | int | bool] = {}
    for key, value in tags.items():
        if isinstance(value, str):
            value = one_line(value, MAX_TAG_TEXT)
        if value is not None and value != "":
            cleaned[key] = value
    return cleaned


def external_links(links: list[tuple[str, str | None]]) -> list[dict[str, object]]:
    """Up to five "open in a new tab" actions, one per distinct URL."""
    actions: list[dict[str, object]] = []
    seen: set[str] = set()
    for label, url in links:
        url = Node(url).url()
        if url and url not in seen and len(actions) < MAX_LINKS:
            seen.add(url)
            actions.append({"label": one_line(label, MAX_LINK_LABEL), "url": url, "external": True})
    return actions


def build_event(name: str, payload: Node, rendering: Rendering) -> EventIn:
    scope = scope_of(payload)
    title = f"[{scope}] {rendering.title}" if scope else rendering.title
    return msgspec.convert(
        {
            "event": one_line(title, MAX_TITLE),
            "channel": rendering.channel,
            "description": truncate(rendering.description, MAX_DESCRIPTION),
            "parser": "markdown",
            "icon": rendering.icon,
            "notify": rendering.severity != "info",
            "severity": rendering.severity,
            "tags": clean_tags(common_tags(name, payload) | rendering.tags),
            "content": curated(payload.value),
            "actions": external_links(rendering.links),
        },
        EventIn,
    )
