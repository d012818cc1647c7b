"""Events committed by other hub processes, fed to this process's live subscribers.

Each process publishes its own commits at once; this task polls the database for the rest while anyone is
subscribed. It reads by `received_at` with an overlap, because a process may commit an event a moment after
another one that was received later; the broadcaster skips ids it has already published. The window is read in
pages, by (`received_at`, id) and ids alone first: under load it holds more rows than one page, and a poll that
read only its first page would never get past them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from hub.broadcast import QUEUE_SIZE, Broadcaster
from hub.db import schema
from hub.db.engine import Database
from hub.db.events import ProjectDirectory, event_from_row
from hub.models import now_utc

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
OVERLAP = timedelta(seconds=3)
PAGE_ROWS = 5000
# Events published at once: half a subscriber's queue, which a follow-up takes two places of (itself and its
# card's timeline change), and the subscribers run between two publishes, so a stream that keeps up is not ended
# by a burst another process stored.
PUBLISH_ROWS = QUEUE_SIZE // 2


class DatabaseTail:
    def __init__(self, db: Database, projects: ProjectDirectory, broadcaster: Broadcaster) -> None:
        self.db = db
        self.projects = projects
        self.broadcaster = broadcaster
        self._since = now_utc()
        self._task: asyncio.Task[None] | None = None

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
        after: tuple[datetime, int] | None = None
        while True:
            query = select(e.id, e.received_at).where(e.received_at > self._since - OVERLAP)
            if after is not None:
                query = query.where(or_(e.received_at > after[0], and_(e.received_at == after[0], e.id > after[1])))
            async with self.db.reader.connect() as conn:
                page = (await conn.execute(query.order_by(e.received_at, e.id).limit(PAGE_ROWS))).all()
            fresh = [row.id for row in page if not self.broadcaster.published(str(row.id))]
            for start in range(0, len(fresh), PUBLISH_ROWS):
                await self._publish(fresh[start : start + PUBLISH_ROWS])
            if page:
                after = (page[-1].received_at, page[-1].id)
                self._since = max(self._since, page[-1].received_at)
            if len(page) < PAGE_ROWS:
                return

    async def _publish(self, ids: list[int]) -> None:
        e = schema.events.c
        query = select(schema.events).where(e.id.in_(ids)).order_by(e.received_at, e.id)
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
            events = [event_from_row(row, await self.projects.slug(conn, row["project_id"])) for row in rows]
        self.broadcaster.publish(events)
