"""In-process fan-out of newly stored events to live subscribers (the SSE stream)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from hub.models import EventOut

QUEUE_SIZE = 1000


class Broadcaster:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[EventOut | None]] = set()

    def publish(self, events: list[EventOut]) -> None:
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
