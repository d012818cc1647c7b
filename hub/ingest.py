"""The one way an event gets stored: validated drafts go through a single writer task that commits in groups.

Every entrance (native API, compatible routes, webhook sources, heartbeats) ends in `Ingestor.store()`. The
writer takes whatever has queued up while the previous transaction ran and writes it in one transaction,
because SQLite's cost is per transaction, not per row. `store()` returns only after that commit, so a 2xx
answer means the event is durable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.db.batch import Batch, commit_together, inserting, run_together
from hub.db.dialect import insert_ignore, upsert
from hub.db.engine import Database, unavailable_reason
from hub.db.events import ProjectDirectory, event_from_row
from hub.ids import IdGenerator
from hub.models import BACKFILL_AFTER, ActionOut, EventIn, EventOut, StoredResult, event_time, tag_text

log = logging.getLogger(__name__)

# (project id, test, key): a key is reused only by an event of the same project and test mode.
IdempotencyKey = tuple[int, bool, str]
StoredListener = Callable[[list[EventOut]], Awaitable[None] | None]
AfterWrite = Callable[[AsyncConnection], Awaitable[None]]
# Sees the events an ingest transaction is about to write, before they are written, with the ids of those that are
# backfills (see Draft.backfill): it may read through the connection, and must not write. It returns its writes as
# an AfterWrite, which runs in the same transaction once the events are in (routing writes its outbox rows so: a
# notification exists exactly when its event does), or None. When no hook returns writes and nothing else needed
# the database, the group commits in one trip (_write).
TransactionHook = Callable[[AsyncConnection, list[EventOut], frozenset[str]], Awaitable[AfterWrite | None]]


class Draft(msgspec.Struct, kw_only=True):
    """An event that passed validation and is ready to be written, with its project named."""

    project: str
    channel: str
    event: str
    description: str | None = None
    parser: str = "text"
    icon: str | None = None
    notify: bool = False
    severity: str = "info"
    tags: dict[str, Any] | None = None
    content: Any = None
    user_id: str | None = None
    actions: list[dict[str, Any]] | None = None
    context_id: str | None = None
    context_start: bool = False
    idempotency_key: str | None = None
    # How long `idempotency_key` protects against repeats; None means the ingestor's default (24 h).
    idempotency_window: timedelta | None = None
    source: str = "api"
    test: bool = False
    created_at: datetime
    received_at: datetime
    # Stamped more than BACKFILL_AFTER before it was received: history an app imports, which never notifies.
    # A plugin's webhook deliveries and alerts are news however late they come (`notify_backfilled`).
    backfill: bool = False


def draft_from_input(data: EventIn, *, project: str, source: str, received_at: datetime) -> Draft:
    """Normalise a validated EventIn: lower-case slugs, absolute action expiry, no notify when backfilled."""
    created_at = event_time(data.timestamp, received_at)
    backfilled = received_at - created_at > BACKFILL_AFTER
    actions = [
        {
            **msgspec.to_builtins(action),
            "expires_at": (received_at + timedelta(minutes=action.expire_in)).isoformat(),
        }
        for action in data.actions
    ]
    for action in actions:
        action.pop("expire_in", None)
    return Draft(
        project=project.lower(),
        channel=data.channel.lower(),
        event=data.event,
        description=data.description,
        parser=data.parser,
        icon=data.icon,
        notify=data.notify and not backfilled and not data.test,
        severity=data.severity,
        tags=data.tags or None,
        content=data.content,
        user_id=data.user_id,
        actions=actions or None,
        context_id=data.context_id,
        context_start=data.context_start,
        idempotency_key=data.idempotency_key,
        source=source,
        test=data.test,
        created_at=created_at,
        received_at=received_at,
        backfill=backfilled,
    )


class _Submission:
    __slots__ = ("drafts", "future")

    def __init__(self, drafts: Sequence[Draft], future: asyncio.Future[list[StoredResult]]) -> None:
        self.drafts = drafts
        self.future = future


class Ingestor:
    """Owns the writer task. `store()` is safe to call from any number of concurrent requests."""

    def __init__(
        self,
        db: Database,
        projects: ProjectDirectory,
        *,
        max_rows_per_commit: int = 5000,
        idempotency_window: timedelta = timedelta(hours=24),
    ) -> None:
        self.db = db
        self.projects = projects
        self.max_rows = max_rows_per_commit
        self.idempotency_window = idempotency_window
        self.ids = IdGenerator()
        self.listeners: list[StoredListener] = []
        self.transaction_hooks: list[TransactionHook] = []
        self._queue: asyncio.Queue[_Submission] = asyncio.Queue()
        self._count_channels = Batch(
            upsert(
                db,
                schema.channels,
                ["project_id", "name"],
                {name: bindparam(name) for name in CHANNEL_COUNT_COLUMNS},
                increment=["event_count"],
                greatest=["last_event_at"],
            ),
            CHANNEL_COUNT_COLUMNS,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name="hub-ingest-writer")

    async def settled(self) -> None:
        """Wait until every event submitted so far is committed and its listeners (`events_stored`, the live feed)
        have run: they run after the senders are answered, so an answer does not mean they are done."""
        await self._queue.join()

    async def stop(self) -> None:
        """Finish what is queued, then end the writer."""
        if self._task is None:
            return
        await self.settled()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def store(self, drafts: Sequence[Draft]) -> list[StoredResult]:
        if self._task is None:
            raise RuntimeError("the ingest writer is not running")
        future: asyncio.Future[list[StoredResult]] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Submission(drafts, future))
        return await future

    async def store_within(self, conn: AsyncConnection, drafts: Sequence[Draft]) -> list[StoredResult]:
        """Write `drafts` inside the caller's writer transaction, so they commit or roll back with its own rows.

        For a plugin whose events must exist exactly when its state change does (a check going down and its
        `missed` event). Once the transaction has committed, pass the results to `announce()`.
        """
        try:
            return await self._write(conn, list(drafts), commit=False)
        except Exception as exc:
            self.projects.forget()  # projects it created roll back with the caller's transaction
            if isinstance(exc, IntegrityError):
                self.ids.reseed()  # another process drew the same ids: the caller's retry gets new ones
            raise

    async def announce(self, results: Sequence[StoredResult]) -> None:
        """Tell the live feed and the plugins about events committed through `store_within()`."""
        await self._notify([r.event for r in results if r.created])

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            rows = len(group[0].drafts)
            while rows < self.max_rows and not self._queue.empty():
                submission = self._queue.get_nowait()
                group.append(submission)
                rows += len(submission.drafts)
            await self._write_group(group)
            for _ in group:
                self._queue.task_done()

    async def _write_group(self, group: list[_Submission]) -> None:
        try:
            results = await self._write_with_retry([d for s in group for d in s.drafts])
        except Exception as exc:
            if len(group) > 1:
                # One bad submission must not fail the others that shared its transaction.
                for submission in group:
                    await self._write_group([submission])
                return
            if (reason := unavailable_reason(exc)) is not None:  # a full disk, a lost connection: no traceback
                log.warning("storing %d event(s) failed, the database is unavailable: %s", len(group[0].drafts), reason)
            else:
                log.exception("storing %d event(s) failed", len(group[0].drafts))
            if not group[0].future.done():
                group[0].future.set_exception(exc)
            return
        offset = 0
        for submission in group:
            count = len(submission.drafts)
            if not submission.future.done():
                submission.future.set_result(results[offset : offset + count])
            offset += count
        await self._notify([r.event for r in results if r.created])

    async def _write_with_retry(self, drafts: list[Draft]) -> list[StoredResult]:
        for attempt in range(3):
            try:
                async with self.db.writer.connect() as conn:  # closing it rolls back what did not commit
                    return await self._write(conn, drafts, commit=True)
            except Exception as exc:
                self.projects.forget()  # projects this transaction created rolled back with it
                # Another process drew the same ids, or stored the same idempotency key first: look again. Or
                # PostgreSQL broke a deadlock by aborting this transaction (routing locks a follow-up's deliveries
                # while the outbox records their outcome): the next attempt finds it gone.
                if not (isinstance(exc, IntegrityError) or _deadlock(exc)) or attempt == 2:
                    raise
                self.ids.reseed()
        raise AssertionError("unreachable")

    async def _notify(self, stored: list[EventOut]) -> None:
        if not stored:
            return
        for listener in self.listeners:
            try:
                result = listener(stored)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("an event listener failed")

    async def _write(self, conn: AsyncConnection, drafts: list[Draft], *, commit: bool) -> list[StoredResult]:
        """Store `drafts` on `conn`; with `commit`, in a transaction of its own, committed when this returns."""
        project_ids = await self.projects.ensure(conn, {d.project for d in drafts}, drafts[0].received_at)
        replays = await self._find_replays(conn, drafts, project_ids)
        results: list[StoredResult | None] = [None] * len(drafts)
        fresh: list[tuple[int, int, Draft]] = []  # (position, event id, draft)
        first_by_key: dict[IdempotencyKey, int] = {}
        for position, draft in enumerate(drafts):
            project_id = project_ids[draft.project]
            if draft.idempotency_key:
                key = (project_id, draft.test, draft.idempotency_key)
                if key in replays:
                    results[position] = StoredResult(replays[key], created=False)
                    continue
                if key in first_by_key:
                    continue  # resolved below, once the first one has its id
                first_by_key[key] = position
            fresh.append((position, self.ids.next_id(draft.received_at), draft))

        parents = await self._assign_contexts(conn, fresh, project_ids)
        event_rows, tag_rows = [], []
        channel_counts: dict[tuple[int, str], tuple[int, datetime]] = {}
        for position, event_id, draft in fresh:
            project_id = project_ids[draft.project]
            parent_id = parents.get(event_id)
            event_rows.append(_event_row(event_id, project_id, draft, parent_id))
            results[position] = StoredResult(_event_out(event_id, draft, parent_id), created=True)
            for key, value in (draft.tags or {}).items():
                tag_rows.append((event_id, key, tag_text(value), draft.created_at))
            if not draft.test:
                count, latest = channel_counts.get((project_id, draft.channel), (0, draft.created_at))
                channel_counts[(project_id, draft.channel)] = (count + 1, max(latest, draft.created_at))

        # In key order, so concurrent transactions on PostgreSQL lock the same rows in the same order.
        counts = sorted(channel_counts.items())
        batches = (
            (_INSERT_EVENTS, event_rows),
            (_INSERT_TAGS, tag_rows),
            (self._count_channels, [(*key, count, latest) for key, (count, latest) in counts]),
        )
        created = [r.event for r in results if r is not None and r.created]
        backfills = frozenset(str(event_id) for _, event_id, draft in fresh if draft.backfill)
        hooks = self.transaction_hooks
        after = [write for hook in hooks if (write := await hook(conn, created, backfills)) is not None]
        if commit and not after and not conn.in_transaction():
            # Nothing above needed the database (known projects, no idempotency keys or contexts, no rule matched):
            # on SQLite, BEGIN, the rows and COMMIT in one trip to the driver's thread instead of three. Each trip
            # waits behind the requests the event loop is serving; measured, 9% more single events per second.
            await commit_together(conn, *batches, checkpoint=self._checkpoint_due())
        else:
            await run_together(conn, *batches)
            for write in after:
                await write(conn)
            if commit:
                await conn.commit()
        for position, draft in enumerate(drafts):
            if results[position] is None:  # a second copy of an idempotency key within this group
                first = results[first_by_key[(project_ids[draft.project], draft.test, draft.idempotency_key or "")]]
                assert first is not None
                results[position] = StoredResult(first.event, created=False)
        return [r for r in results if r is not None]

    def _checkpoint_due(self) -> bool:
        """Whether this commit should finish the background checkpoint, so the WAL starts over (hub.db.checkpoint)."""
        return self.db.checkpointer is not None and self.db.checkpointer.take_finish()

    async def _find_replays(
        self, conn: AsyncConnection, drafts: list[Draft], project_ids: dict[str, int]
    ) -> dict[IdempotencyKey, EventOut]:
        """Stored events whose idempotency key is reused within the window; older holders lose the key. Keys are
        per project and per test mode (a test event's key never answers a real event)."""
        windows = {
            (project_ids[d.project], d.test, d.idempotency_key): d.idempotency_window or self.idempotency_window
            for d in drafts
            if d.idempotency_key
        }
        if not windows:
            return {}
        slugs = {v: k for k, v in project_ids.items()}
        now = drafts[0].received_at
        e = schema.events.c
        keyed = select(schema.events).where(  # each column of the keys' index, so both databases seek it
            e.project_id.in_({p for p, _, _ in windows}),
            e.test.in_({t for _, t, _ in windows}),
            e.idempotency_key.in_({k for _, _, k in windows}),
        )
        replays: dict[IdempotencyKey, EventOut] = {}
        for row in (await conn.execute(keyed)).mappings().all():
            key = (row["project_id"], row["test"], row["idempotency_key"])
            if key not in windows:
                continue
            if row["received_at"] >= now - windows[key]:
                replays[key] = event_from_row(row, slugs[row["project_id"]])
            else:
                await conn.execute(
                    update(schema.events).where(schema.events.c.id == row["id"]).values(idempotency_key=None)
                )
        return replays

    async def _assign_contexts(
        self, conn: AsyncConnection, fresh: list[tuple[int, int, Draft]], project_ids: dict[str, int]
    ) -> dict[int, int]:
        """Which parent each new context event hangs under; the first of a context (or a `context_start`) leads.
        Test events have timelines of their own, apart from real ones.

        On PostgreSQL the contexts rows read are held (FOR KEY SHARE) until this transaction commits, so retention
        cannot delete a card's context while an event is being stored under that card (hub.retention). A context
        that another process's transaction created after the read is found when its row is written: its card
        leads, and the events of this group hang under it (the first events of a context sent to two processes
        at once would otherwise make two cards)."""
        wanted = {(project_ids[d.project], d.test, d.context_id) for _, _, d in fresh if d.context_id}
        if not wanted:
            return {}
        c = schema.contexts.c
        rows = await conn.execute(
            select(c.project_id, c.test, c.context_id, c.parent_event_id)
            .where(
                c.project_id.in_({p for p, _, _ in wanted}),
                c.test.in_({t for _, t, _ in wanted}),
                c.context_id.in_({cid for _, _, cid in wanted}),
            )
            .with_for_update(read=True, key_share=True)
        )
        leaders = {(r.project_id, r.test, r.context_id): r.parent_event_id for r in rows}
        parents: dict[int, int] = {}
        changed: dict[tuple[int, bool, str], Draft] = {}
        for _, event_id, draft in fresh:
            if not draft.context_id:
                continue
            key = (project_ids[draft.project], draft.test, draft.context_id)
            if draft.context_start or key not in leaders:
                leaders[key] = event_id
                changed[key] = draft
            else:
                parents[event_id] = leaders[key]
        for key in sorted(changed):
            (project_id, test, context_id), draft, event_id = key, changed[key], leaders[key]
            row = {
                "project_id": project_id,
                "test": test,
                "context_id": context_id,
                "parent_event_id": event_id,
                "updated_at": draft.received_at,
            }
            if draft.context_start:
                await conn.execute(upsert(self.db, schema.contexts, ["project_id", "test", "context_id"], row))
            elif not (await conn.execute(insert_ignore(self.db, schema.contexts, row))).rowcount:
                # Created meanwhile by another process (the insert waited for its commit). This event is the first
                # of its context in the group (a later one would be a `context_start`): all of them move under it.
                found = select(c.parent_event_id).where(
                    c.project_id == project_id, c.test == test, c.context_id == context_id
                )
                leader = (await conn.execute(found.with_for_update(read=True, key_share=True))).scalar_one()
                parents = {child: leader if parent == event_id else parent for child, parent in parents.items()}
                parents[event_id] = leader
        return parents


def _deadlock(exc: Exception) -> bool:
    """PostgreSQL's `deadlock_detected` (SQLSTATE 40P01): the transaction was aborted and may simply run again."""
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == "40P01"


EVENT_COLUMNS = (
    "id",
    "project_id",
    "channel",
    "event",
    "description",
    "parser",
    "icon",
    "notify",
    "severity",
    "tags",
    "content",
    "actions",
    "user_id",
    "context_id",
    "parent_id",
    "source",
    "test",
    "idempotency_key",
    "created_at",
    "received_at",
)
# A group's events mostly share their `received_at` (a batch, all of it), and a batch its `created_at` too.
_INSERT_EVENTS = inserting(schema.events, EVENT_COLUMNS, memoise=["created_at", "received_at"])
CHANNEL_COUNT_COLUMNS = ("project_id", "name", "event_count", "last_event_at")
_INSERT_TAGS = inserting(schema.event_tags, ["event_id", "key", "value", "created_at"], memoise=["created_at"])


def _event_row(event_id: int, project_id: int, draft: Draft, parent_id: int | None) -> tuple[Any, ...]:
    """The draft in EVENT_COLUMNS order."""
    return (
        event_id,
        project_id,
        draft.channel,
        draft.event,
        draft.description,
        draft.parser,
        draft.icon,
        draft.notify,
        draft.severity,
        draft.tags,
        draft.content,
        draft.actions,
        draft.user_id,
        draft.context_id,
        parent_id,
        draft.source,
        draft.test,
        draft.idempotency_key,
        draft.created_at,
        draft.received_at,
    )


def _event_out(event_id: int, draft: Draft, parent_id: int | None) -> EventOut:
    """The stored event as it will read back, built without a round trip."""
    return EventOut(
        id=str(event_id),
        project=draft.project,
        channel=draft.channel,
        event=draft.event,
        description=draft.description,
        parser=draft.parser,
        icon=draft.icon,
        notify=draft.notify,
        severity=draft.severity,
        tags=draft.tags or {},
        content=draft.content,
        user_id=draft.user_id,
        actions=[msgspec.convert(a, ActionOut, strict=False) for a in draft.actions or ()],
        context_id=draft.context_id,
        parent_id=str(parent_id) if parent_id is not None else None,
        source=draft.source,
        test=draft.test,
        created_at=draft.created_at,
        received_at=draft.received_at,
    )
