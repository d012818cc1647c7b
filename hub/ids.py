"""Event ids: 64-bit integers that sort by the time the hub received the event, made without asking the database.

Layout: 41 bits of milliseconds since 2024-01-01 (until 2093), 10 bits of node (random per process), 12 bits
of a per-millisecond counter. The milliseconds are the event's `received_at` (never going backwards within a
process), so an event's `created_at`, which validation keeps at most 5 minutes after `received_at`, is also at
most 5 minutes after the time in its id: search walks matches newest id first and stops early on that bound.
Ids made by one process never collide; two processes collide only if they drew the same node and the same
millisecond and counter, which the writer survives by drawing new ids.
They leave the hub as decimal strings: opaque to clients, safe from JavaScript's 53-bit numbers.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MILLISECOND_BITS = 41
NODE_BITS = 10
COUNTER_BITS = 12


class IdGenerator:
    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        """Draw a new node number (after a collision with another process)."""
        self._node = secrets.randbelow(1 << NODE_BITS)
        self._last_ms = -1
        self._counter = 0

    def next_id(self, received_at: datetime | None = None) -> int:
        """A new id whose time part is `received_at` (default: now), or later when that is behind the last id."""
        at = time.time() if received_at is None else received_at.timestamp()
        now_ms = int(at * 1000) - EPOCH_MS
        if now_ms <= self._last_ms:
            now_ms = self._last_ms
            self._counter += 1
            if self._counter >= 1 << COUNTER_BITS:  # 4,096 ids in one millisecond: borrow the next one
                now_ms += 1
                self._counter = 0
        else:
            self._counter = 0
        self._last_ms = now_ms
        return (now_ms << (NODE_BITS + COUNTER_BITS)) | (self._node << COUNTER_BITS) | self._counter


def id_time(event_id: int) -> datetime:
    """The instant in an id's time part."""
    return datetime.fromtimestamp(((event_id >> (NODE_BITS + COUNTER_BITS)) + EPOCH_MS) / 1000, UTC)


def first_id_at(when: datetime) -> int:
    """The lowest id an event received at `when` (to the millisecond) or later can have; a time outside the ids'
    span (2024 to 2093) gives the lowest id of its first or last millisecond."""
    ms = int(when.timestamp() * 1000) - EPOCH_MS
    return min(max(ms, 0), (1 << MILLISECOND_BITS) - 1) << (NODE_BITS + COUNTER_BITS)


def parse_event_id(value: str) -> int | None:
    """The integer behind an id string, or None when it cannot be one of ours. ASCII digits only:
    `str.isdigit()` also takes `²` and `³`, which `int()` then refuses."""
    if not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if number < 1 << 63 else None
