"""Open event streams per caller, at most `limit` at once in a process.

A stream holds a connection, a subscription queue and a recheck of the caller's rights every few seconds for as
long as it is open, so one key (or one signed-in person) opening streams without end would wear the hub down for
everyone. A slot is taken before the stream's answer starts, so one too many is refused with 429 rather than
ended after a 200. It is given back when the answer ends, however it ends (`with slot:` around it); slots are held
weakly besides, so one whose answer was never sent at all goes with the dropped stream.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from types import TracebackType


class Slot:
    """One open stream; `with slot:` gives it back at the end of the block."""

    __slots__ = ("__weakref__", "_held")

    def __init__(self, held: weakref.WeakSet[Slot]) -> None:
        self._held = held

    def __enter__(self) -> Slot:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._held.discard(self)


class StreamSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: defaultdict[str, weakref.WeakSet[Slot]] = defaultdict(weakref.WeakSet)

    def take(self, caller_id: str) -> Slot | None:
        """A slot for one more of this caller's streams, or None when it holds `limit` already."""
        held = self._held[caller_id]
        if len(held) >= self.limit:
            return None
        slot = Slot(held)
        held.add(slot)
        return slot
