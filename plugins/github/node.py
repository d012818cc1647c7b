"""A read-only view of an untrusted GitHub payload.

Payloads differ by event, by API version and by the app that caused them, and a delivery can carry anything
once its signature checks out. Renderers read fields through `Node` so that a missing or mistyped field
degrades the rendering instead of failing the delivery: no lookup raises, and each accessor answers a value
of the type it promises or an empty one.
"""

from __future__ import annotations

import re
from typing import Any

# The same rule the event model applies to action URLs, so a link taken from a payload is always accepted.
URL_PATTERN = re.compile(r"https?://[^\s]+")
MAX_URL_LENGTH = 2048


class Node:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __getitem__(self, key: str) -> Node:
        return Node(self.value.get(key) if isinstance(self.value, dict) else None)

    def text(self, default: str = "") -> str:
        return self.value if isinstance(self.value, str) else default

    def integer(self) -> int | None:
        value = self.value
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def flag(self) -> bool:
        return self.value is True

    def items(self) -> list[Node]:
        return [Node(item) for item in self.value] if isinstance(self.value, list) else []

    def keys(self) -> list[str]:
        return list(self.value) if isinstance(self.value, dict) else []

    def url(self) -> str | None:
        """The value when it is an http(s) URL the event model accepts as a link, else None."""
        value = self.value
        if isinstance(value, str) and len(value) <= MAX_URL_LENGTH and URL_PATTERN.fullmatch(value):
            return value
        return None
