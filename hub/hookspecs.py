"""The plugin contract: every hook the hub calls, when it calls it, and what it expects back.

A plugin is a module (or object) with functions decorated `@hookimpl`, named like the specs below; it
implements only the hooks it needs. Built-in plugins and third-party ones (entry point group `hub.plugins`)
are loaded the same way. The types plugins use are all in `hub.pluginapi`.

Hooks that return an awaitable are awaited by the hub.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    from hub.models import EventOut
    from hub.pluginapi import HubContext, Job, Notifier, PluginSettings, Source

hookspec = pluggy.HookspecMarker("hub")
hookimpl = pluggy.HookimplMarker("hub")


@hookspec
def register_settings() -> PluginSettings | None:
    """Called once at start-up, before anything else.

    Return `PluginSettings(name, struct)`: the hub validates the `[plugins.<name>]` table of the config file
    with `struct` (a msgspec Struct with defaults) and stops with a message naming the plugin when it is
    wrong. The plugin reads the result with `hub.plugin_settings(name)`.
    """


@hookspec
def register_sources() -> Iterable[Source] | None:
    """Called once at start-up. Return the webhook source types this plugin provides.

    Each `Source` has a `name` (the `{plugin}` part of `POST /hooks/{plugin}/{source}`), a `verify` that
    checks the sender's signature and raises `Rejected` when it is wrong, and a `parse` that turns the
    verified delivery into a `Delivery` (its id, for de-duplication, and its events). The hub owns the route,
    the lookup of the configured source, de-duplication, storage and error answers.
    """


@hookspec
def register_notifiers() -> Iterable[Notifier] | None:
    """Called once at start-up. Return the notifiers (delivery channels) this plugin provides.

    Each `Notifier` has a `name` that routing uses ("webpush", "email", "slack") and an async
    `send(hub, recipient, message)` that delivers one `Message` to one `Recipient` and returns an `Outcome`:
    delivered, retry (transient: timeouts, 429, 5xx; `retry_after` honoured), failed or gone (permanent), or
    later (not attempted, e.g. the notifier's own pacing). The hub owns the outbox, claims, retries with
    backoff, the retry budget, rate limits and the delivery log; requests to user-supplied URLs go through
    `hub.outbound`. Optional: `prepare(hub, recipients)` loads what a claim's sends need in one go, and
    `destination(hub, recipient)` says where a delivery goes (a `Destination`), so that deliveries to one
    receiver wait for its turns rather than hold the outbox's sending slots.
    """


@hookspec
def register_routes() -> Iterable[Any] | None:
    """Called once when the app is built. Return Litestar route handlers or controllers to mount.

    Handlers can ask for the `hub` dependency (a `HubContext`).
    """


@hookspec
def register_migrations() -> Path | str | None:
    """Called before migrations run. Return a folder of Alembic revision files for this plugin's tables.

    The plugin's first revision has `down_revision = None` and `branch_labels = ("<plugin name>",)`; the hub
    upgrades every branch to its head on start.
    """


@hookspec
def register_jobs() -> Iterable[Job] | None:
    """Called once at start-up. Return periodic `Job`s; each runs in every hub process, in-memory scheduled.

    With several processes, a job must claim its rows in the database (a conditional UPDATE or
    `FOR UPDATE SKIP LOCKED`) so each piece of work happens once.
    """


@hookspec
def register_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Called when the `hub` CLI is built. Add sub-commands with `commands.add_parser(...)`.

    Set `func` on the parser (`parser.set_defaults(func=...)`): it is called with the parsed arguments and
    a started `HubContext` as `func(args, hub)`, may be async, and returns the exit code. With `needs_hub=False`
    as well (`set_defaults(func=..., needs_hub=False)`) it is called as `func(args, None)`, without the database.
    Every `hub` command imports the plugin's module: import what loads SQLAlchemy or Litestar inside the hooks.
    """


@hookspec
def startup(hub: HubContext) -> Awaitable[None] | None:
    """Called once the database is migrated and the hub is ready, before requests are served."""


@hookspec
def shutdown(hub: HubContext) -> Awaitable[None] | None:
    """Called when the hub stops, after requests have stopped."""


@hookspec
def events_stored(hub: HubContext, events: list[EventOut]) -> Awaitable[None] | None:
    """Called after each commit with the events it stored (never replays or duplicates).

    Runs after the requests that sent them were answered; must not block for long. In tests,
    `await hub.testing.settled(hub)` waits for it to finish.
    """
