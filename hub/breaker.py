"""Whether a destination (a webhook or push service host, the mail server) is answering, and what that allows.

A destination is answering until a request to it times out or cannot connect. From then on one request at a
time goes to it, to see whether it is back, and every other request is refused at once rather than waiting
out a timeout of its own; the first request that gets an answer makes it answering again. Without this, a
backlog of notifications to one hanging receiver held every sending slot of the outbox, a timeout at a time,
and notifications to everyone else waited behind them.

A `Destination` adds the outbox's line to its breaker: deliveries wait there for one of the destination's turns
(as many as it has connections) before they take a sending slot, so a backlog to a receiver that answers, however
slowly, holds only the slots it can use.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator


class NotAnswering(Exception):
    """Not sent: the destination is not answering, and another request is probing it (the message says since when)."""


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


class Line:
    """At most `limit` holders at once; the others wait in order, and a turn given back passes straight to the
    next in line (no wake-up race for a newcomer to win)."""

    __slots__ = ("limit", "taken", "waiting")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.taken = 0
        self.waiting: deque[asyncio.Future[None]] = deque()

    async def take(self) -> None:
        """A turn, in order; raises what `refuse` sets if the line is refused meanwhile."""
        if self.taken < self.limit and not self.waiting:
            self.taken += 1
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.give_back()  # the turn came as the caller gave up: it goes to the next in line
            elif turn in self.waiting:
                self.waiting.remove(turn)
            raise

    def give_back(self) -> None:
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self.taken -= 1

    def refuse(self, error: Callable[[], BaseException]) -> None:
        """Fail everyone waiting with `error()`; the turns being held are not affected."""
        while self.waiting:
            turn = self.waiting.popleft()
            if not turn.done():
                turn.set_exception(error())


class Destination:
    """Where a notifier's deliveries go, as the outbox sees it: its breaker, and its line of `limit` turns.

    A delivery takes one of the destination's turns before it takes one of the outbox's sending slots, so at most
    `limit` deliveries to it (as many as it has connections) hold a slot at once and the rest wait here holding
    none. When a turn is given back while the destination is not answering, it goes to the next in line (which
    probes, or is refused by the breaker) and everyone behind is refused at once, as a host's queued requests are.
    """

    __slots__ = ("__weakref__", "breaker", "line")

    def __init__(self, name: str, limit: int) -> None:
        self.breaker = Breaker(name)
        self.line = Line(limit)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the turns; NotAnswering, without waiting, while the breaker refuses requests."""
        if (refusal := self.breaker.refusal()) is not None:
            raise NotAnswering(refusal)
        await self.line.take()
        try:
            yield
        finally:
            self.line.give_back()
            if self.breaker.failed_at is not None:
                refusal = self.breaker.why_not_sent()
                self.line.refuse(lambda: NotAnswering(refusal))
