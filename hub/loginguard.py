"""Slowing down password guessing: failed sign-ins are counted in a 15-minute window per email from one client
address, per email from any address (PER_EMAIL_FACTOR times as many) and per address (PER_ADDRESS_FACTOR times);
past a limit the hub answers 429 with `Retry-After` before checking any password. An email's own limit is per
address so that anyone's wrong guesses do not lock its owner out: locking it everywhere takes guesses from many
addresses, and so many that they bound guessing spread over them too. Even then, an address the email signed in
from within KNOWN_FOR_SECONDS keeps its own budget: guesses from ten addresses locked the only admin out for as
long as they went on. An IPv6 client counts as its /64, the block one subscriber is given.

Counters live in memory per process (like the API-key rate limiter): with N processes an attacker gets at
most N times the budget, still far too few guesses against scrypt-hashed passwords.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque

WINDOW_SECONDS = 15 * 60
PER_EMAIL_FACTOR = 10
PER_ADDRESS_FACTOR = 4
KNOWN_FOR_SECONDS = 30 * 24 * 3600
MAX_TRACKED = 100_000


def client_of(address: str) -> str:
    """The address as counted: an IPv6 one as its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    return str(ipaddress.ip_network(f"{ip}/64", strict=False)) if ip.version == 6 else address


class LoginGuard:
    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        self._failures: dict[str, deque[float]] = {}
        self._known: dict[str, float] = {}  # "email addr" -> when that email last signed in from that address

    def _limits(self, email: str, address: str) -> list[tuple[str, int]]:
        # Keyed as accounts are looked up (stripped, lower case): " ada@x.io" must not be a fresh counter.
        email, client = email.strip().lower(), client_of(address)
        pair = f"email:{email} addr:{client}"
        limits = [(pair, self.attempts), (f"addr:{client}", self.attempts * PER_ADDRESS_FACTOR)]
        if time.monotonic() - self._known.get(pair, -KNOWN_FOR_SECONDS) >= KNOWN_FOR_SECONDS:
            limits.append((f"email:{email}", self.attempts * PER_EMAIL_FACTOR))
        return limits

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
        """The password was right: the email's failures from this address are forgiven, the email's and the
        address's counts get this attempt back (others' failures stay counted), and the address is known to it."""
        (pair, _), *shared = self._limits(email, address)
        self._failures.pop(pair, None)
        for key, _ in shared:
            if attempts := self._failures.get(key):
                attempts.pop()
        self._known.pop(pair, None)
        self._known[pair] = time.monotonic()  # newest last, for _forget_old
        if len(self._known) > MAX_TRACKED:
            del self._known[next(iter(self._known))]

    def _count(self, email: str, address: str) -> None:
        now = time.monotonic()
        if len(self._failures) > MAX_TRACKED:
            self._forget_old(now)
        for key, _ in self._limits(email, address):
            self._failures.setdefault(key, deque()).append(now)

    def _forget_old(self, now: float) -> None:
        """Counters with no failure left in the window go; then, if need be, those of one failure, oldest first:
        filling them with one guess each is how someone would wipe the counts of the email they are guessing (it
        took one request past the limit when they were all cleared)."""
        cutoff = now - WINDOW_SECONDS
        for key in [key for key, failures in self._failures.items() if not failures or failures[-1] <= cutoff]:
            del self._failures[key]
        excess = len(self._failures) - MAX_TRACKED * 9 // 10
        for key in [key for key, failures in self._failures.items() if len(failures) == 1][: max(0, excess)]:
            del self._failures[key]
