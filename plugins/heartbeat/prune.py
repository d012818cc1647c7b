"""Pings are kept for `ping_retention_days`; flips, the history of state changes, are kept for good."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from hub.pluginapi import HubContext

from . import tables
from .service import service


async def prune(hub: HubContext) -> None:
    heartbeat = service(hub)
    cutoff = heartbeat.now() - timedelta(days=heartbeat.settings.ping_retention_days)
    async with hub.db.writer.begin() as conn:
        await conn.execute(delete(tables.pings).where(tables.pings.c.created_at < cutoff))
