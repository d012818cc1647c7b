"""Whether a destination (a webhook or push service host, the mail server) is answering, and what that allows.

A destination is answering until a request to it times out or cannot connect. From then on one request at a
time goes to it, to see whether it is back, and every other request is refused at once rather than waiting
out a timeout of its own; the first request that gets an answer makes it answering again. Without this, a
backlog of notifications to one hanging receiver held every sending slot of the outbox, a timeout at a time,
and notifications to everyone else waited behind them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator


class Breaker:
    """One destination's state: answering, or not answering since `failed_at` with one request probing it."""

    __slots__ = ("_probing", "failed_at", "name", "reason")

    def __init__(self, name: str) -> None:
        self.name = name  # the destination, as refusals name it
        self.failed_at: float | None = None  # monotonic time of the last unanswered request; None while answering
        self.reason = ""
        self._probing = False

    def refusal(self) -> str | None:
        """Why a request must not go now (the destination is not answering and another request is probing it),
        or None."""
        if self.failed_at is None or not self._probing:
            return None
        return self.why_not_sent()

    def why_not_sent(self) -> str:
        ago = time.monotonic() - (self.failed_at or time.monotonic())
        when = "just now" if ago < 1 else f"{ago:.0f} s ago"
        return (
            f"not sent: {self.name} did not answer a request {when} ({self.reason}); "
            "it gets one request at a time until it answers"
        )

    @contextlib.contextmanager
    def attempt(self) -> Iterator[None]:
        """Around a request that `refusal()` let through; while the destination is not answering, it probes."""
        probe = self.failed_at is not None
        self._probing = self._probing or probe
        try:
            yield
        finally:
            if probe:
                self._probing = False

    def answered(self) -> None:
        self.failed_at = None

    def unanswered(self, reason: str) -> None:
        self.failed_at = time.monotonic()
        self.reason = reason
