"""Pings are kept for `ping_retention_days`; flips, the history of state changes, are kept for good.

The oldest pings go a batch at a time, each batch in its own transaction with a pause after it: one DELETE of a
day of pings from a thousand checks would hold every write (ingest, other pings) for as long as it runs.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from sqlalchemy import delete, select

from hub.pluginapi import HubContext

from . import tables
from .service import service

PINGS_AT_ONCE = 1000
PAUSE_PER_WRITE = 1  # seconds of pause per second of deleting: pruning takes at most half of the writer


async def prune(hub: HubContext) -> int:
    """Delete the pings past their retention; returns how many."""
    heartbeat = service(hub)
    p = tables.pings.c
    cutoff = heartbeat.now() - timedelta(days=heartbeat.settings.ping_retention_days)
    oldest = select(p.id).where(p.created_at < cutoff).order_by(p.created_at).limit(PINGS_AT_ONCE)
    total = 0
    while True:
        started = time.monotonic()
        async with hub.db.writer.begin() as conn:
            gone = (await conn.execute(delete(tables.pings).where(p.id.in_(oldest.scalar_subquery())))).rowcount
        total += gone
        if gone < PINGS_AT_ONCE:
            return total
        await asyncio.sleep((time.monotonic() - started) * PAUSE_PER_WRITE)
