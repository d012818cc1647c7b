"""GitHub webhooks: `POST /hooks/github/<source>` turns each signed delivery into one readable event.

Channels by area (a source's configured channel overrides them): `code`, `pulls`, `issues`, `ci`,
`deploys`, `releases`, `security`, `community`, and `github` for the hook itself, settings, people,
apps and event types without a specific rendering. Warnings and critical events notify.
"""

from __future__ import annotations

from hub.hookspecs import hookimpl

from .source import GitHubSource


@hookimpl
def register_sources() -> list[GitHubSource]:
    return [GitHubSource()]
