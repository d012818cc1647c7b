"""Per-key token buckets: `rate` requests a second, bursts of two seconds' worth, kept in memory per process."""

from __future__ import annotations

import math
import time


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def acquire(self, key: str, rate: float) -> float:
        """Take one token; return 0 when allowed, else the seconds to wait (for `Retry-After`)."""
        if rate <= 0:
            return 0.0
        capacity = max(1.0, rate * 2)
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / rate


def retry_after_header(wait: float) -> str:
    return str(max(1, math.ceil(wait)))
