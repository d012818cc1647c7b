"""Slowing down password guessing: failed sign-ins are counted in a 15-minute window per email from one client
address, per email from any address (PER_EMAIL_FACTOR times as many) and per address (PER_ADDRESS_FACTOR times);
past a limit the hub answers 429 with `Retry-After` before checking any password. An email's own limit is per
address so that anyone's wrong guesses do not lock its owner out: locking it everywhere takes guesses from many
addresses, and so many that they bound guessing spread over them too.

Counters live in memory per process (like the API-key rate limiter): with N processes an attacker gets at
most N times the budget, still far too few guesses against scrypt-hashed passwords.
"""

from __future__ import annotations

import time
from collections import deque

WINDOW_SECONDS = 15 * 60
PER_EMAIL_FACTOR = 10
PER_ADDRESS_FACTOR = 4
MAX_TRACKED = 100_000


class LoginGuard:
    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        self._failures: dict[str, deque[float]] = {}

    def _limits(self, email: str, address: str) -> list[tuple[str, int]]:
        # Keyed as accounts are looked up (stripped, lower case): " ada@x.io" must not be a fresh counter.
        email = email.strip().lower()
        return [
            (f"email:{email} addr:{address}", self.attempts),
            (f"email:{email}", self.attempts * PER_EMAIL_FACTOR),
            (f"addr:{address}", self.attempts * PER_ADDRESS_FACTOR),
        ]

    def _wait(self, email: str, address: str) -> float:
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

    def begin(self, email: str, address: str) -> float:
        """Before a password is checked: 0 when the attempt may go on, and it is counted as a failure from now,
        so that guesses sent at once cannot all pass while the (slow) checks run; else the seconds to wait.
        A right password gives the attempt back (`succeeded`)."""
        wait = self._wait(email, address)
        if wait == 0:
            self._count(email, address)
        return wait

    def succeeded(self, email: str, address: str) -> None:
        """The password was right: the email's failures from this address are forgiven, and the email's and the
        address's counts get this attempt back (others' failures stay counted)."""
        (pair, _), *shared = self._limits(email, address)
        self._failures.pop(pair, None)
        for key, _ in shared:
            if attempts := self._failures.get(key):
                attempts.pop()

    def _count(self, email: str, address: str) -> None:
        if len(self._failures) > MAX_TRACKED:
            self._failures.clear()
        now = time.monotonic()
        for key, _ in self._limits(email, address):
            self._failures.setdefault(key, deque()).append(now)
