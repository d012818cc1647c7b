"""Cron heartbeats: checks that expect pings, Healthchecks-compatible ping URLs, and missed runs flagged.

The plugin's hooks; each names the module that does the work.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hub.pluginapi import HubContext, Job, PluginSettings, hookimpl

from . import api, badges, cli, pings
from .prune import prune
from .scan import scan
from .service import NAME, service
from .settings import HeartbeatSettings
from .sync import sync_config_checks

SCAN_SECONDS = 5.0
PRUNE_SECONDS = 3600


@hookimpl
def register_settings() -> PluginSettings:
    return PluginSettings(NAME, HeartbeatSettings)


@hookimpl
def register_migrations() -> Path:
    return Path(__file__).parent / "migrations"


@hookimpl
def register_routes() -> Iterable[Any]:
    return [pings.ping, badges.badge, api.ChecksController, api.CheckProjectsController]


@hookimpl
def register_jobs() -> Iterable[Job]:
    return [Job("heartbeat-scan", SCAN_SECONDS, scan), Job("heartbeat-prune", PRUNE_SECONDS, prune)]


@hookimpl
def register_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cli.add_commands(commands)


@hookimpl
async def startup(hub: HubContext) -> None:
    await sync_config_checks(hub)
    await service(hub).recorder.start()


@hookimpl
async def shutdown(hub: HubContext) -> None:
    await service(hub).recorder.stop()
