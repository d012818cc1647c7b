"""The payload subset stored as an event's `content`: what a person reading the event may want, within 64 KiB.

GitHub payloads repeat the full repository, owner and sender objects and dozens of API URLs in every
delivery, and some (pull requests with long bodies, pushes with many files) pass the content limit. The
subset drops API URLs and internal ids, shrinks repositories and users to their names and links, and then
shortens strings and lists step by step until the JSON fits; if even the tightest step does not fit, only
the top-level keys are kept.
"""

from __future__ import annotations

from typing import Any

import msgspec

MAX_CONTENT_BYTES = 60 * 1024  # under the model's 64 KiB, leaving room for the encoder's choices
# (longest string, longest list, deepest nesting) tried in order until the subset fits.
STEPS = ((2000, 50, 8), (500, 20, 6), (200, 10, 4), (80, 5, 3))
KEPT_URLS = frozenset({"html_url", "compare", "target_url", "details_url", "environment_url", "log_url"})
DROPPED = frozenset({"node_id", "gravatar_id", "_links", "reactions", "check_suite_node_id", "tree_id"})
REPOSITORY_FIELDS = ("full_name", "html_url", "private", "default_branch", "stargazers_count", "forks_count")
USER_FIELDS = ("login", "type", "html_url")


def curated(payload: Any) -> Any:
    for longest, most, depth in STEPS:
        subset = _slim(payload, longest, most, depth)
        if len(msgspec.json.encode(subset)) <= MAX_CONTENT_BYTES:
            return subset
    keys = list(payload)[:50] if isinstance(payload, dict) else []
    return {"truncated": True, "keys": [_text(key, 80) for key in keys]}


def _slim(value: Any, longest: int, most: int, depth: int) -> Any:
    if isinstance(value, str):
        return _text(value, longest)
    if isinstance(value, list):
        if depth == 0:
            return f"[{len(value)} items]"
        items = [_slim(item, longest, most, depth - 1) for item in value[:most]]
        if len(value) > most:
            items.append(f"…and {len(value) - most} more")
        return items
    if isinstance(value, dict):
        if depth == 0:
            return "{…}"
        return {
            _text(key, longest): _slim(item, longest, most, depth - 1)
            for key, item in _fields(value).items()
            if not _noise(key)
        }
    return value


def _fields(value: dict[str, Any]) -> dict[str, Any]:
    """Repositories and users reduced to how a person names and finds them."""
    if isinstance(value.get("full_name"), str) and isinstance(value.get("owner"), dict):
        return {key: value[key] for key in REPOSITORY_FIELDS if key in value}
    if isinstance(value.get("login"), str) and "type" in value:
        return {key: value[key] for key in USER_FIELDS if key in value}
    return value


def _noise(key: str) -> bool:
    """API URLs and GraphQL ids: useful to a program calling GitHub back, not to a person reading the event."""
    if key in KEPT_URLS:
        return False
    return key in DROPPED or key == "url" or key.endswith("_url")


def _text(text: str, longest: int) -> str:
    text = text.replace("\x00", "")
    return text if len(text) <= longest else text[: longest - 1] + "…"
