"""Slowing down password guessing: failed sign-ins are counted per email and per client address in a
15-minute window; past the limit the hub answers 429 with `Retry-After` before checking any password.

Counters live in memory per process (like the API-key rate limiter): with N processes an attacker gets at
most N times the budget, still far too few guesses against scrypt-hashed passwords.
"""

from __future__ import annotations

import time
from collections import deque

WINDOW_SECONDS = 15 * 60
PER_ADDRESS_FACTOR = 4
MAX_TRACKED = 100_000


class LoginGuard:
    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        self._failures: dict[str, deque[float]] = {}

    def _limits(self, email: str, address: str) -> list[tuple[str, int]]:
        return [(f"email:{email.lower()}", self.attempts), (f"addr:{address}", self.attempts * PER_ADDRESS_FACTOR)]

    def wait(self, email: str, address: str) -> float:
        """Seconds until another attempt is allowed; 0 when one is allowed now."""
        now = time.monotonic()
        longest = 0.0
        for key, limit in self._limits(email, address):
            failures = self._failures.get(key)
            if not failures:
                continue
            while failures and failures[0] <= now - WINDOW_SECONDS:
                failures.popleft()
            if len(failures) >= limit:
                longest = max(longest, failures[0] + WINDOW_SECONDS - now)
        return longest

    def failed(self, email: str, address: str) -> None:
        if len(self._failures) > MAX_TRACKED:
            self._failures.clear()
        now = time.monotonic()
        for key, _ in self._limits(email, address):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, email: str) -> None:
        self._failures.pop(f"email:{email.lower()}", None)
