"""Event ids: 64-bit integers that sort by creation time, made without asking the database.

Layout: 41 bits of milliseconds since 2024-01-01 (until 2093), 10 bits of node (random per process), 12 bits
of a per-millisecond counter. Ids made by one process never collide; two processes collide only if they drew
the same node and the same millisecond and counter, which the writer survives by drawing new ids.
They leave the hub as decimal strings: opaque to clients, safe from JavaScript's 53-bit numbers.
"""

from __future__ import annotations

import secrets
import time

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
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

    def next_id(self) -> int:
        now_ms = time.time_ns() // 1_000_000 - EPOCH_MS
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


def parse_event_id(value: str) -> int | None:
    """The integer behind an id string, or None when it cannot be one of ours."""
    if not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if number < 1 << 63 else None
