"""When to try a failed delivery again, and when to give up on it."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def next_delay(attempts: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait after the `attempts`-th failure: the receiver's Retry-After when it gave one,
    otherwise exponential backoff with jitter (base * 2^(n-1), capped, times a random factor in [0.5, 1])
    so that retries from many deliveries do not arrive together."""
    if retry_after is not None:
        return max(0.0, retry_after)
    # The exponent stops growing long before a float would overflow (2 ** 1024), which a delivery retried every
    # few seconds for days reaches; by then the cap holds anyway.
    exponential = min(cap, base * 2 ** min(max(0, attempts - 1), 64))
    return exponential * random.uniform(0.5, 1.0)


def give_up(budget_from: datetime, budget: timedelta, retry_at: datetime) -> bool:
    """A retry that would fall after the retry budget is not scheduled: the delivery is dead-lettered."""
    return retry_at > budget_from + budget
