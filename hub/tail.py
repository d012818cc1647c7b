"""Events committed by other hub processes, fed to this process's live subscribers.

Each process publishes its own commits at once; this task polls the database for the rest while anyone is
subscribed. It reads by `received_at` with an overlap, because a process may commit an event a moment after
another one that was received later; ids already published are skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import timedelta

from sqlalchemy import select

from hub.broadcast import Broadcaster
from hub.db import schema
from hub.db.engine import Database
from hub.db.events import ProjectDirectory, event_from_row
from hub.models import EventOut, now_utc

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
OVERLAP = timedelta(seconds=3)
MAX_ROWS = 2000
REMEMBERED_IDS = 50_000


class DatabaseTail:
    def __init__(self, db: Database, projects: ProjectDirectory, broadcaster: Broadcaster) -> None:
        self.db = db
        self.projects = projects
        self.broadcaster = broadcaster
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._since = now_utc()
        self._task: asyncio.Task[None] | None = None

    def remember(self, events: list[EventOut]) -> None:
        """Mark events this process published itself, so the tail does not publish them again."""
        for event in events:
            self._seen[event.id] = None
        while len(self._seen) > REMEMBERED_IDS:
            self._seen.popitem(last=False)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hub-database-tail")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            if not self.broadcaster.subscriber_count:
                self._since = now_utc()
                continue
            try:
                await self.poll()
            except Exception:
                log.exception("reading new events for the live stream failed; retrying")

    async def poll(self) -> None:
        e = schema.events.c
        query = (
            select(schema.events).where(e.received_at > self._since - OVERLAP).order_by(e.received_at).limit(MAX_ROWS)
        )
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
            fresh = [
                event_from_row(row, await self.projects.slug(conn, row["project_id"]))
                for row in rows
                if str(row["id"]) not in self._seen
            ]
        if rows:
            self._since = max(self._since, rows[-1]["received_at"])
        if fresh:
            self.remember(fresh)
            self.broadcaster.publish(fresh)
