"""Cron heartbeats: checks that expect pings, Healthchecks-compatible ping URLs, and missed runs flagged.

The plugin's hooks; each names the module that does the work, imported when the hook runs: the modules that use
the database or serve HTTP load SQLAlchemy and Litestar, which `hub run` (every cron job's wrapper) does not need.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hub.pluginapi import HubContext, Job, PluginSettings, hookimpl

from . import cli
from .settings import NAME, HeartbeatSettings

SCAN_SECONDS = 5.0
PRUNE_SECONDS = 3600
KEYS_SECONDS = 3600


@hookimpl
def register_settings() -> PluginSettings:
    return PluginSettings(NAME, HeartbeatSettings)


@hookimpl
def register_migrations() -> Path:
    return Path(__file__).parent / "migrations"


@hookimpl
def register_routes() -> Iterable[Any]:
    from . import api, badges, pings

    return [pings.ping, badges.badge, api.ChecksController, api.CheckProjectsController]


@hookimpl
def register_jobs() -> Iterable[Job]:
    from .prune import prune
    from .scan import scan
    from .store import give_keys

    return [
        Job("heartbeat-scan", SCAN_SECONDS, scan),
        Job("heartbeat-prune", PRUNE_SECONDS, prune),
        Job("heartbeat-keys", KEYS_SECONDS, give_keys),
    ]


@hookimpl
def register_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cli.add_commands(commands)


@hookimpl
async def startup(hub: HubContext) -> None:
    from .service import service
    from .store import give_keys
    from .sync import sync_config_checks

    await give_keys(hub)
    await sync_config_checks(hub)
    await service(hub).recorder.start()


@hookimpl
async def shutdown(hub: HubContext) -> None:
    from .service import service

    await service(hub).recorder.stop()
