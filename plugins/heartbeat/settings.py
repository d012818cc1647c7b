"""`[plugins.heartbeat]` in the config file, validated by the hub at start-up."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from .models import CheckSpec

NAME = "heartbeat"  # the plugin's name, and its table `[plugins.heartbeat]`


class HeartbeatSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Bytes of a ping's body that are kept; the rest is dropped and the ping marked truncated.
    ping_body_limit: Annotated[int, msgspec.Meta(ge=0, le=10 * 1024 * 1024)] = 100 * 1024
    # Answer to a ping for a check that does not exist: "ok" is `200 OK (not found)` (healthchecks.io),
    # "404" is `404 not found` (self-hosted Healthchecks).
    not_found: Literal["ok", "404"] = "ok"
    # Allow `?create=1` on slug ping URLs to create the check on its first ping.
    allow_create: bool = True
    # Pings older than this are deleted (flips, the history of state changes, are kept).
    ping_retention_days: Annotated[int, msgspec.Meta(ge=1)] = 90
    # Checks declared here are created on start and kept in step with this file (matched by project + slug).
    checks: list[CheckSpec] = []

    def __post_init__(self) -> None:
        seen: set[tuple[str, str | None]] = set()
        for spec in self.checks:
            if (spec.project, spec.slug) in seen:
                message = f"two checks in project `{spec.project}` have the slug `{spec.slug}`; give one its own `slug`"
                raise ValueError(message)
            seen.add((spec.project, spec.slug))
