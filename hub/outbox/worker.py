"""The outbox worker: claim due deliveries, send them concurrently through the notifiers, record every attempt.

Claims are a conditional UPDATE in one writer transaction (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
single `BEGIN IMMEDIATE` writer on SQLite), so with several processes each delivery is claimed by one. A
claimed row carries a lease: if its process dies before recording the result, the row is handed out again
when the lease runs out. While the process lives, it renews the leases of the rows it still holds (a backlog
waiting for a slow receiver can outlast one lease, and would otherwise be claimed and sent a second time). A
clean stop finishes the sends in flight first, so nothing is lost or sent twice; what still waits for its turn
is given back unsent, due at once, for the next process (or the restart) to send.

Every claimed delivery is a task of its own: it waits for its destination's turn (when its notifier says where
it goes: a webhook or push host gets as many turns as it has connections), then for one of `delivery.concurrency`
sending slots, sends, and waits for its outcome to be recorded. Outcomes are recorded as sends finish, those that
finish together in one transaction, and a new batch is claimed as soon as fewer than `concurrency` claimed
deliveries are left outside the destinations' lines. A claim skips the receivers (notifier and address) with
deliveries waiting in a line here, and claims for one again as soon as none of its wait. So a receiver that
answers slowly (or not at all, until the timeout) holds up only its own deliveries, never the ones claimed with it
or after it: a backlog to it, however big, holds only the slots its connections can use, the rest of it waits in
its destination's line, and the claims go past it. What waits in lines is bounded: claims wait while more than
`batch_size` deliveries do (a backlog spread over many receivers at one destination, say a push service, cannot
be skipped receiver by receiver). A backlog to a receiver that stopped answering does not wait out a timeout a
delivery either: it gets one request at a time and the rest fail at once, to be retried (hub.breaker).

A receiver that answers with a Retry-After (a 429 or 503, say) is paused until then in this process: every
delivery to it claimed meanwhile is given back unsent, due as the pause ends, so that they are claimed together
then and go out in the claim's order: critical first, then oldest first. The receiver, not its host: one Slack
webhook (or push subscription) being limited must not hold back the others at hooks.slack.com; each of them that
is limited too says so itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import bindparam, select, tuple_, update

from hub.breaker import Destination, NotAnswering
from hub.db import schema
from hub.models import now_utc
from hub.outbound import BlockedAddress, ResponseTooLarge
from hub.outbox.backoff import give_up, next_delay
from hub.outbox.log import USER_DELETED
from hub.outbox.messages import digest_for, load_messages
from hub.outbox.notifier import MAX_DETAIL, Message, Notifier, Outcome, Recipient

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from hub.core import Hub

log = logging.getLogger(__name__)
RECORD_EVERY_SECONDS = 0.02
# The share of an interval a drain may take. A drain that took all of it, having started a moment after its tick,
# ended a moment after the next one, which APScheduler then skipped with a warning: one every two seconds in the
# log for as long as a slow receiver had a backlog.
DRAIN_SHARE = 0.9
LATER_AFTER_STOP_SECONDS = 0.001  # a delivery a stopping hub gave back unsent is due again right away
RENEW_AT_ONCE = 500  # ids per UPDATE when leases are renewed
MOST_PAUSED = 10_000  # receivers' pauses kept before those long over are dropped
MOST_SKIPPED = 1000  # receivers a claim skips at most, those with the longest lines (two parameters each)

Receiver = tuple[str, str]  # (notifier, address)
D = schema.deliveries.c
# A delivery is due once its state's time has come; a lease that ran out is a claim whose process died.
DUE_AFTER = {"pending": D.next_attempt_at, "held": D.next_attempt_at, "sending": D.lease_until}
CLAIMED = (
    D.id,
    D.state,
    D.notifier,
    D.address,
    D.user_id,
    D.attempts,
    D.budget_from,
    D.notification_id,
    D.next_attempt_at,
)


class _Job:
    """One send: a delivery row (and, for a digest, the held rows it carries), claimed at `now`."""

    __slots__ = ("carried", "destination", "latency_ms", "message", "now", "outcome", "receiver", "recipient", "row")

    def __init__(self, row: Any, message: Message, carried: list[Any], now: datetime, timezone: str | None) -> None:
        self.row = row
        self.receiver: Receiver = (row.notifier, row.address)
        self.recipient = Recipient(row.notifier, row.address, row.user_id, timezone)
        self.message = message
        self.carried = carried
        self.now = now
        self.destination: Destination | None = None  # where it goes, if its notifier says
        self.outcome = Outcome("retry")
        self.latency_ms = 0.0


class Outbox:
    def __init__(self, hub: Hub, notifiers: Callable[[], Mapping[str, Notifier]]) -> None:
        self.hub = hub
        self._notifiers = notifiers
        self._claiming = asyncio.Lock()  # one claim at a time
        self._slots: asyncio.Semaphore | None = None  # `delivery.concurrency` sends at once; made on first use
        self._claimed: set[asyncio.Task[None]] = set()  # one per job, from its claim until its outcome is recorded
        self._in_line: Counter[Receiver] = Counter()  # claimed deliveries waiting for their destination's turn
        self._paused: dict[Receiver, datetime] = {}  # receivers that asked to be sent nothing before then
        self._progress = asyncio.Event()  # a claimed delivery went to wait in a line, left it, or was recorded
        self._line_emptied = asyncio.Event()  # a receiver has no delivery waiting in a line any more
        self._finished: list[tuple[_Job, asyncio.Future[None]]] = []  # sent, waiting to be recorded
        self._recorder: asyncio.Task[None] | None = None
        self._closed = False
        self._leased: set[int] = set()  # ids of the rows claimed here whose outcome is not recorded yet
        self._renewed_at = time.monotonic()

    @property
    def notifiers(self) -> Mapping[str, Notifier]:
        return self._notifiers()

    async def run_once(self, now: datetime | None = None) -> int:
        """Claim what is due (up to `batch_size`) and send it; returns how many deliveries were attempted, once
        every outcome is recorded. `now` is the clock (tests pass their own)."""
        sends, _ = await self._start(now or now_utc())
        if sends:
            await asyncio.wait(sends)  # not gather: a caller that gives up must not cancel the sends
            for send in sends:
                send.result()  # a recording that failed is raised here
        return len(sends)

    async def drain(self) -> None:
        """Claim again whenever fewer than `concurrency` claimed deliveries are left outside the destinations'
        lines, so a backlog goes out at full speed, not one claim a tick; and whenever a skipped receiver's line
        empties, so its line never runs dry. Sends started here go on after it returns.

        It returns within one interval, so the scheduler's next tick carries on rather than finding the job still
        running; earlier once nothing is due and nothing waits in a line.
        """
        await self._renew_leases()
        until = time.monotonic() + self.hub.settings.delivery.interval_seconds * DRAIN_SHARE
        while not self._closed and time.monotonic() < until:
            self._progress.clear()
            self._line_emptied.clear()
            if self._may_claim():
                sends, more = await self._start(now_utc())
                if sends:
                    continue
                if not more:
                    return  # nothing is due, not even to a receiver the claim went past
            # More may be due: to a receiver the claim went past, claimed once its line empties; or the claim was not
            # made, for want of room. Whether a line emptied is asked after the claim, not before: one that emptied
            # while the claim went past it (a slow claim on a loaded machine) would otherwise end the drain with its
            # backlog unclaimed until the next tick. Both events were cleared before the claim, so what happened
            # during it wakes this wait at once.
            wake = self._line_emptied if self._in_line and self._may_claim() else self._progress
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(until - time.monotonic()):
                    await wake.wait()

    async def close(self) -> None:
        """Claim nothing more, let the sends in flight finish and be recorded, and give back the claimed deliveries
        still waiting for their turn (called when the hub stops)."""
        async with self._claiming:
            self._closed = True
        if self._claimed:
            await asyncio.wait(set(self._claimed))

    async def _start(self, now: datetime) -> tuple[list[asyncio.Task[None]], bool]:
        """Claim due deliveries and start sending them; also whether more may be due (see `_claim_and_start`).
        Shielded: a caller cancelled mid-way (the scheduler stopping) must not leave rows claimed with no send,
        stuck until their lease runs out."""
        claim = asyncio.ensure_future(self._claim_and_start(now))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            claim.add_done_callback(_failure_logged)  # nobody awaits it now: asyncio would log a traceback
            raise

    async def _claim_and_start(self, now: datetime) -> tuple[list[asyncio.Task[None]], bool]:
        """The sends started, and whether more may be due that this claim did not take: it went past receivers with
        deliveries in line, or was not made for want of room."""
        async with self._claiming:
            settings = self.hub.settings.delivery
            if self._closed:
                return [], False
            if not self._may_claim():
                return [], True
            # A whole batch, however few slots are free: a recipient's held notifications make one digest only
            # when they are claimed together.
            skip = self._skipped_receivers()
            rows = await self._claim(now, settings.batch_size, skip=skip)
            jobs = sorted(await self._prepare(rows, now), key=_critical_first) if rows else []
            if not jobs:  # nothing due (its events deleted by retention meanwhile, if any), but to the skipped
                return [], bool(skip)
            self._leased.update(_row_ids(jobs))
            await self._let_notifiers_prepare(jobs)
            self._find_destinations(jobs)
            sends = [asyncio.create_task(self._send(job), name=f"hub-delivery-{job.row.id}") for job in jobs]
            for send in sends:
                self._claimed.add(send)
                send.add_done_callback(self._forget)
            await asyncio.sleep(0)  # the sends start: those that must wait for a turn are in line for the next claim
            return sends, bool(skip)

    def _may_claim(self) -> bool:
        """Whether fewer than `concurrency` claimed deliveries are left outside the destinations' lines, and no more
        than `batch_size` wait in them: room for a whole batch to one receiver, and a bound on what a backlog
        spread over many receivers at one destination (a push service) holds here."""
        settings = self.hub.settings.delivery
        waiting = self._in_line.total()
        return len(self._claimed) - waiting < settings.concurrency and waiting <= settings.batch_size

    def _skipped_receivers(self) -> list[Receiver]:
        """The receivers with deliveries waiting in a line here: more of theirs would only wait too, and would fill
        the claim that a notification to someone else is due in."""
        return [receiver for receiver, _ in self._in_line.most_common(MOST_SKIPPED)]

    def _forget(self, send: asyncio.Task[None]) -> None:
        self._claimed.discard(send)
        self._progress.set()
        if not send.cancelled():
            send.exception()  # retrieved: the recorder has logged it, and run_once raises it

    async def _send(self, job: _Job) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.hub.settings.delivery.concurrency)
        # The destination's turn first, then a slot: a delivery waiting for a busy host must not hold a slot that a
        # delivery to another host could use.
        try:
            async with self._turn(job), self._slots:
                if self._closed:
                    # The hub is stopping: given back unsent, due again at once, instead of the stop waiting for
                    # every turn of a backlog to a slow receiver (28 s for 40 deliveries to one answering in 3 s;
                    # a `docker stop` kills after 10 s, and a killed claim waits out its lease to go out).
                    job.outcome = Outcome("later", retry_after=LATER_AFTER_STOP_SECONDS)
                elif (held_back := self._held_back(job)) is not None:
                    job.outcome = held_back
                else:
                    await self._attempt(job)
                    if (wait := self._asked_wait(job.outcome)) is not None:
                        self._pause(job.receiver, job.now, wait)
        except NotAnswering as exc:  # refused in line: its destination stopped answering meanwhile
            job.outcome = Outcome("retry", detail=str(exc))
        done = asyncio.get_running_loop().create_future()
        self._finished.append((job, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_finished(), name="hub-delivery-recorder")
        await done

    @contextlib.asynccontextmanager
    async def _turn(self, job: _Job) -> AsyncIterator[None]:
        """Hold a turn at the job's destination, if its notifier says where it goes; until the turn comes, the job
        is in its receiver's line."""
        if job.destination is None:
            yield
            return
        async with contextlib.AsyncExitStack() as held:
            with self._waiting_in_line(job.receiver):
                await held.enter_async_context(job.destination.turn())
            yield

    @contextlib.contextmanager
    def _waiting_in_line(self, receiver: Receiver) -> Iterator[None]:
        self._in_line[receiver] += 1
        self._progress.set()
        try:
            yield
        finally:
            self._in_line[receiver] -= 1
            if not self._in_line[receiver]:
                del self._in_line[receiver]
                self._line_emptied.set()
            self._progress.set()

    async def _record_finished(self) -> None:
        """Record every outcome that is waiting, in one transaction; again for those that came in meanwhile.

        Sends finish one by one, so each round first waits RECORD_EVERY_SECONDS for more to finish: measured
        with 400 deliveries to 20 receivers, recording each as it came took 325 transactions, and the writer is
        shared with ingest."""
        finished: list[tuple[_Job, asyncio.Future[None]]] = []
        try:
            while self._finished:
                await asyncio.sleep(RECORD_EVERY_SECONDS)
                finished, self._finished = self._finished, []
                await self._record_together(finished)
        except BaseException as exc:  # cancelled with the loop: no send may wait for ever
            for _, done in [*finished, *self._finished]:
                _settle(done, exc)
            raise

    async def _record_together(self, finished: list[tuple[_Job, asyncio.Future[None]]]) -> None:
        """One transaction; if it fails, one per outcome, so that one bad row (say a delivery that retention
        deleted meanwhile) fails only itself. A row not recorded stays claimed and is sent again after its lease."""
        try:
            await self._record([job for job, _ in finished])
            self._leased.difference_update(_row_ids([job for job, _ in finished]))
        except Exception as exc:
            if len(finished) > 1:
                for one in finished:
                    await self._record_together([one])
                return
            job, done = finished[0]
            log.exception("recording the outcome of delivery %s failed; it is sent again after its lease", job.row.id)
            self._leased.difference_update(_row_ids([job]))
            _settle(done, exc)
        else:
            for _, done in finished:
                _settle(done, None)

    async def _renew_leases(self) -> None:
        """Extend the leases of the rows still held here, a third of a lease before they would run out."""
        lease = self.hub.settings.delivery.lease_seconds
        if not self._leased or time.monotonic() - self._renewed_at < lease / 3:
            return
        self._renewed_at = time.monotonic()
        d = schema.deliveries.c
        ids = sorted(self._leased)
        try:
            async with self.hub.db.writer.begin() as conn:
                for start in range(0, len(ids), RENEW_AT_ONCE):
                    await conn.execute(
                        update(schema.deliveries)
                        .where(d.id.in_(ids[start : start + RENEW_AT_ONCE]), d.state == "sending")
                        .values(lease_until=now_utc() + timedelta(seconds=lease))
                    )
        except Exception:
            log.exception("renewing the leases of %d claimed deliveries failed; the next drain tries again", len(ids))

    async def _claim(self, now: datetime, limit: int, skip: list[Receiver] | None = None) -> list[Any]:
        """Mark up to `limit` due deliveries as sending here, oldest first, except those to the `skip` receivers."""
        async with self.hub.db.writer.begin() as conn:
            rows = await _due(conn, now, limit, skip)
            await self._mark_sending(conn, rows, now)
        return rows

    async def _mark_sending(self, conn: AsyncConnection, rows: list[Any], now: datetime) -> None:
        if rows:
            lease_until = now + timedelta(seconds=self.hub.settings.delivery.lease_seconds)
            await conn.execute(
                update(schema.deliveries)
                .where(D.id.in_([r.id for r in rows]))
                .values(state="sending", lease_until=lease_until)
            )

    async def _prepare(self, rows: list[Any], now: datetime) -> list[_Job]:
        public_url = self.hub.settings.public_url
        async with self.hub.db.reader.connect() as conn:
            messages = await load_messages(conn, self.hub.projects, rows, public_url)
            zones = await _time_zones(conn, rows)
        jobs: list[_Job] = []
        held: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            if row.id not in messages:
                continue  # its event was deleted by retention; the cascade removes the row too
            if row.state == "held":
                held.setdefault((row.notifier, row.address), []).append(row)
            else:
                jobs.append(_Job(row, messages[row.id], [], now, zones.get(row.user_id)))
        for group in held.values():
            first, *rest = group
            if not rest:
                jobs.append(_Job(first, messages[first.id], [], now, zones.get(first.user_id)))
            else:
                digest = digest_for(first.id, [messages[r.id] for r in group], public_url)
                jobs.append(_Job(first, digest, rest, now, zones.get(first.user_id)))
        return jobs

    async def _let_notifiers_prepare(self, jobs: list[_Job]) -> None:
        by_notifier: dict[str, list[Recipient]] = {}
        for job in jobs:
            by_notifier.setdefault(job.row.notifier, []).append(job.recipient)
        for name, recipients in by_notifier.items():
            prepare = getattr(self.notifiers.get(name), "prepare", None)
            if prepare is None:
                continue
            try:
                await prepare(self.hub.context, recipients)
            except Exception:
                log.exception("notifier %s failed to prepare a claim; its sends go on without it", name)

    def _find_destinations(self, jobs: list[_Job]) -> None:
        """Ask each notifier where its deliveries go, right after `prepare` (whose cache may tell). One that does not
        say posts to its address if that is an http(s) URL (a webhook); otherwise it sends without waiting a turn."""
        notifiers = self.notifiers
        for job in jobs:
            name = job.row.notifier
            find = getattr(notifiers.get(name), "destination", None)
            if find is None:
                if job.recipient.address.startswith(("https://", "http://")):
                    job.destination = self.hub.outbound.destination(job.recipient.address)
                continue
            try:
                destination = find(self.hub.context, job.recipient)
                if destination is not None and not isinstance(destination, Destination):
                    raise TypeError(f"destination() returned {destination!r}, not a Destination or None")
            except Exception:
                log.exception("notifier %s could not say where delivery %s goes; sent anyway", name, job.row.id)
            else:
                job.destination = destination

    async def _attempt(self, job: _Job) -> None:
        row = job.row
        notifier = self.notifiers.get(row.notifier)
        started = time.perf_counter()
        if notifier is None:
            job.outcome = Outcome("failed", detail=f"no notifier plugin named {row.notifier!r} is loaded")
            return
        if row.user_id is not None and job.recipient.timezone is None:
            # Deleted since it was routed (its zone is read with the claim): retried by hand, or back from a try
            # that was under way then, it must not reach them, with events of projects they may no longer read.
            job.outcome = Outcome("failed", detail=USER_DELETED)
            return
        try:
            job.outcome = await notifier.send(self.hub.context, job.recipient, job.message)
        except BlockedAddress as exc:
            job.outcome = Outcome("failed", detail=str(exc))
        except ResponseTooLarge as exc:
            status = exc.response.status_code
            job.outcome = Outcome("delivered" if 200 <= status < 300 else "retry", status, str(exc))
        except httpx.TimeoutException:
            job.outcome = Outcome("retry", detail="timed out")
        except httpx.HTTPError as exc:
            job.outcome = Outcome("retry", detail=f"{type(exc).__name__}: {exc}"[:MAX_DETAIL])
        except Exception as exc:
            log.exception("notifier %s failed on delivery %s", row.notifier, row.id)
            job.outcome = Outcome("retry", detail=f"{type(exc).__name__}: {exc}"[:MAX_DETAIL])
        job.latency_ms = round((time.perf_counter() - started) * 1000, 2)

    def _pause(self, receiver: Receiver, now: datetime, seconds: float) -> None:
        """Send `receiver` nothing for `seconds` from `now`, as it asked; of two pauses asked, the longer holds."""
        if len(self._paused) >= MOST_PAUSED:  # those over, kept until their receiver's next claim, can go
            self._paused = {r: at for r, at in self._paused.items() if at > now}
        until = now + timedelta(seconds=seconds)
        self._paused[receiver] = max(until, self._paused.get(receiver, until))

    def _held_back(self, job: _Job) -> Outcome | None:
        """If the job's receiver asked to be sent nothing until after the job's claim: not attempted (nor counted),
        due again just as the pause ends, with the receiver's other deliveries."""
        resume_at = self._paused.get(job.receiver)
        if resume_at is None or job.now >= resume_at:
            self._paused.pop(job.receiver, None)
            return None
        # Not the address, which may hold a secret (a Slack webhook's path): its host, when the notifier says it.
        where = f"{job.destination.breaker.name} " if job.destination is not None else ""
        asked = f"not sent: {where}asked to be sent nothing before {resume_at:%Y-%m-%d %H:%M:%S} UTC"
        return Outcome("later", detail=asked, retry_after=(resume_at - job.now).total_seconds())

    def _asked_wait(self, outcome: Outcome) -> float | None:
        """The seconds a receiver asked to be sent nothing (a Retry-After with a 429 or 503, say), honoured up to the
        retry budget: a delivery asked to wait longer is dead-lettered, and its receiver paused no longer (an
        absurd Retry-After, 10^12 s, would not even fit a date)."""
        if outcome.result != "retry" or outcome.retry_after is None:
            return None
        return min(outcome.retry_after, self.hub.settings.delivery.retry_budget_hours * 3600)

    async def _record(self, jobs: list[_Job]) -> None:
        settings = self.hub.settings.delivery
        budget = timedelta(hours=settings.retry_budget_hours)
        updates: list[dict[str, Any]] = []
        attempts: list[dict[str, Any]] = []
        for job in jobs:
            row, outcome, now = job.row, job.outcome, job.now
            values: dict[str, Any] = {
                "_id": row.id,
                "state": "delivered",
                "attempts": row.attempts + 1,
                "next_attempt_at": now,
                "finished_at": now,
                "last_status": outcome.status,
                "last_error": None,
                "digest_id": None,
            }
            if outcome.result == "later":
                values.update(
                    state="held" if job.carried else "pending",
                    attempts=row.attempts,
                    next_attempt_at=now + timedelta(seconds=outcome.retry_after or 1.0),
                    finished_at=None,
                    last_error=outcome.detail or None,
                )
            elif outcome.result == "retry":
                retry_at = now + timedelta(
                    seconds=next_delay(
                        row.attempts + 1,
                        settings.backoff_base_seconds,
                        settings.backoff_max_seconds,
                        self._asked_wait(outcome),
                    )
                )
                dead = give_up(row.budget_from, budget, retry_at)
                values.update(
                    state="dead" if dead else ("held" if job.carried else "pending"),
                    next_attempt_at=now if dead else retry_at,
                    finished_at=now if dead else None,
                    last_error=outcome.detail or f"HTTP {outcome.status}",
                )
            elif outcome.result in ("failed", "gone"):
                values.update(state="failed", last_error=outcome.detail or f"HTTP {outcome.status}")
            updates.append(values)
            for carried in job.carried:
                updates.append(
                    {
                        **values,
                        "_id": carried.id,
                        "attempts": carried.attempts + (values["attempts"] - row.attempts),
                        "digest_id": row.id if values["state"] == "delivered" else None,
                    }
                )
            if outcome.result != "later":
                attempts.append(
                    {
                        "delivery_id": row.id,
                        "attempted_at": now,
                        "outcome": outcome.result,
                        "http_status": outcome.status,
                        "latency_ms": job.latency_ms,
                        "response": (outcome.detail or "")[:MAX_DETAIL] or None,
                    }
                )
        d = schema.deliveries.c
        statement = (
            update(schema.deliveries)
            .where(d.id == bindparam("_id"))
            .values(
                state=bindparam("b_state"),
                attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next_attempt_at"),
                finished_at=bindparam("b_finished_at"),
                last_status=bindparam("b_last_status"),
                last_error=bindparam("b_last_error"),
                digest_id=bindparam("b_digest_id"),
                lease_until=None,
            )
        )
        rows = [{("b_" + k if k != "_id" else k): v for k, v in u.items()} for u in updates]
        async with self.hub.db.writer.begin() as conn:
            await conn.execute(statement, rows)
            if attempts:
                await conn.execute(schema.delivery_attempts.insert(), attempts)


async def _time_zones(conn: AsyncConnection, rows: list[Any]) -> dict[str, str]:
    """user id -> time zone, for the claim's deliveries to hub users: one query for the whole claim, at send time, so
    that a person who moved zones since the event was routed (or held overnight) reads their own clock."""
    user_ids = {row.user_id for row in rows if row.user_id is not None}
    if not user_ids:
        return {}
    u = schema.users.c
    return {row.id: row.timezone for row in await conn.execute(select(u.id, u.timezone).where(u.id.in_(user_ids)))}


def _row_ids(jobs: list[_Job]) -> list[int]:
    """The delivery rows jobs hold: their own, and the held rows a digest carries."""
    return [row.id for job in jobs for row in (job.row, *job.carried)]


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    """Resolve a send's wait for its recording, unless its waiter has gone (a cancelled send)."""
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)


async def _due(conn: AsyncConnection, now: datetime, limit: int, skip: list[Receiver] | None) -> list[Any]:
    """Up to `limit` due deliveries, oldest first: state by state, each an ordered walk of the due index that stops
    at `limit` (one query for the three states sorted every due row first: bench/outbox_claim.py). On PostgreSQL,
    FOR UPDATE SKIP LOCKED: other processes claim the next rows."""
    found = []
    for state, after in DUE_AFTER.items():
        query = select(*CLAIMED).where(D.state == state, after <= now).order_by(D.next_attempt_at, D.id).limit(limit)
        if skip:
            query = query.where(tuple_(D.notifier, D.address).not_in(skip))
        if conn.dialect.name != "sqlite":
            query = query.with_for_update(skip_locked=True)
        found += (await conn.execute(query)).all()
    return sorted(found, key=_oldest_first)[:limit]


def _oldest_first(row: Any) -> tuple[datetime, int]:
    return row.next_attempt_at, row.id


def _failure_logged(claim: asyncio.Task[Any]) -> None:
    """A claim its cancelled caller left running that failed (the database locked as the hub stops, say): one line."""
    if not claim.cancelled() and (exc := claim.exception()) is not None:
        log.warning("a delivery claim failed after its caller stopped waiting: %s", exc)


def _critical_first(job: _Job) -> tuple[bool, int]:
    """The order a claim's deliveries take their destinations' turns in: critical ones first, then the oldest."""
    return job.message.severity != "critical", job.row.id
