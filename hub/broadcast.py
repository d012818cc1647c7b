"""In-process fan-out of newly stored events to live subscribers (the SSE stream).

Events reach it twice in a process that has subscribers: from its own commits, and from the database tail
(hub.tail), which can read a commit of this process before the writer announces it. Each id is published once.

A follow-up goes out a second time, as a TimelineChange: its card's timeline summary, for the streams that show
cards but not follow-ups. The summaries of a batch are read in one query once the batch's events are out, not per
subscriber, and in a task of their own: the caller (the ingest writer, between two commits) waits for nobody.
Read from the database rather than counted here, a summary holds every follow-up committed so far, by any
process: one published later never counts fewer than one published before, however late another process's
follow-ups arrive, so a client keeps the summary with the most follow-ups.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator

from hub.background import BackgroundTasks
from hub.db.engine import Database, error_line
from hub.db.events import timeline_changes
from hub.models import EventOut, TimelineChange

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
REMEMBERED_IDS = 50_000


Published = EventOut | TimelineChange


class Broadcaster:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._subscribers: set[asyncio.Queue[Published | None]] = set()
        self._published: OrderedDict[str, None] = OrderedDict()
        self._telling = BackgroundTasks()  # timeline summaries being read

    def published(self, event_id: str) -> bool:
        return event_id in self._published

    def publish(self, events: list[EventOut]) -> None:
        events = self._first_time(events)
        if not events or not self._subscribers:
            return
        self._fan_out(events)
        if follow_ups := [e for e in events if e.parent_id is not None]:
            self._telling.add(self._tell_timelines(follow_ups))

    async def _tell_timelines(self, follow_ups: list[EventOut]) -> None:
        try:
            async with self.db.reader.connect() as conn:
                changes = await timeline_changes(conn, follow_ups)
        except Exception as exc:  # the follow-ups themselves are out; their cards' summaries wait for the next
            count = len(follow_ups)
            log.warning("reading the timeline summaries of %d follow-up(s) failed: %s", count, error_line(exc))
            return
        self._fan_out(changes)

    async def close(self) -> None:
        """Wait for the summaries still being read (before the database they read goes)."""
        await self._telling.wait()

    def _first_time(self, events: list[EventOut]) -> list[EventOut]:
        """The events not published before, remembered as published from now on."""
        events = [e for e in events if e.id not in self._published]
        for event in events:
            self._published[event.id] = None
        while len(self._published) > REMEMBERED_IDS:
            self._published.popitem(last=False)
        return events

    def _fan_out(self, items: list[EventOut] | list[TimelineChange]) -> None:
        for queue in list(self._subscribers):
            if queue.qsize() + len(items) > QUEUE_SIZE:
                # A subscriber this far behind is ended (None); the client reconnects and pages the gap.
                self._subscribers.discard(queue)
                queue.put_nowait(None)
                continue
            for item in items:
                queue.put_nowait(item)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Published | None]]:
        queue: asyncio.Queue[Published | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
