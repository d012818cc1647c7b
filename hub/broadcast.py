"""In-process fan-out of newly stored events to live subscribers (the SSE stream).

Events reach it twice in a process that has subscribers: from its own commits, and from the database tail
(hub.tail), which can read a commit of this process before the writer announces it. Each id is published once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator

from hub.models import EventOut

QUEUE_SIZE = 1000
REMEMBERED_IDS = 50_000


class Broadcaster:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[EventOut | None]] = set()
        self._published: OrderedDict[str, None] = OrderedDict()

    def published(self, event_id: str) -> bool:
        return event_id in self._published

    def publish(self, events: list[EventOut]) -> None:
        events = [e for e in events if e.id not in self._published]
        for event in events:
            self._published[event.id] = None
        while len(self._published) > REMEMBERED_IDS:
            self._published.popitem(last=False)
        if not events:
            return
        for queue in list(self._subscribers):
            if queue.qsize() + len(events) > QUEUE_SIZE:
                # A subscriber this far behind is ended (None); the client reconnects and pages the gap.
                self._subscribers.discard(queue)
                queue.put_nowait(None)
                continue
            for event in events:
                queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[EventOut | None]]:
        queue: asyncio.Queue[EventOut | None] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)
