"""Pruning: test-mode events after their TTL, real events past their project's retention, stale dedupe keys.

Ingest must not wait on it (on SQLite every write waits for the one writer): what to remove is found on a reader
connection, outside the write lock, and removed in small transactions that also take the removed events off
their channels' counts and last event times. A context's children go with their parent card, but not while a
notification of that timeline still waits to be sent (held by quiet hours, or to be retried): the card is left for
a later pass, so a recent child's notification is neither lost nor sent about an event that is gone.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, bindparam, case, delete, exists, false, func, null, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.models import now_utc
from hub.pluginapi import HubContext, Job

FOUND_AT_ONCE = 50_000  # ids read in one pass of the reader
# Events (with their children and tags) removed per write transaction: 5 to 20 ms on SQLite at 1M events. Keys
# released per transaction: more, an UPDATE of one column being much cheaper.
CARDS_AT_ONCE = 50
KEYS_AT_ONCE = 2000
PAUSE_PER_WRITE = 3  # seconds of pause per second of writing: retention takes at most a quarter of the writer
E = schema.events.c
Work = Callable[[AsyncConnection, list[int]], Awaitable[int]]
WAITING = ("pending", "held", "sending")  # a delivery in these states is still to be sent


async def prune(context: HubContext) -> dict[str, int]:
    """Run every pruning rule once; returns how many events each removed (not counting context children)."""
    settings = context.settings.retention
    now = now_utc()
    top_level = E.parent_id.is_(None)  # what the feed indexes hold; children go with their card
    test_expired = E.test.is_(True) & (E.received_at < _before(now, hours=settings.test_events_hours))
    removed = {"test": await _in_chunks(context, test_expired & top_level, CARDS_AT_ONCE, _delete_cards)}
    p = schema.projects.c
    async with context.db.reader.connect() as conn:
        projects = (await conn.execute(select(p.id, p.slug))).all()
    keys_kept_since = min(
        _before(now, hours=settings.idempotency_hours), _before(now, days=context.settings.webhooks.dedupe_days)
    )
    removed["real"] = 0
    for project in projects:
        cutoff = _before(now, days=settings.projects.get(project.slug, settings.events_days))  # keys lower-cased
        expired = (E.project_id == project.id) & E.test.is_(False) & (E.created_at < cutoff) & top_level
        removed["real"] += await _in_chunks(context, expired, CARDS_AT_ONCE, _delete_cards)
        # By project, so SQLite reads the index of keys, not every event received before the cutoff (1 s at 1M).
        stale_keys = (E.project_id == project.id) & E.idempotency_key.is_not(None) & (E.received_at < keys_kept_since)
        await _in_chunks(context, stale_keys, KEYS_AT_ONCE, _release_keys)
    c = schema.contexts.c
    async with context.db.writer.begin() as conn:  # rows left by versions that kept them until here
        await conn.execute(delete(schema.contexts).where(~exists().where(E.id == c.parent_event_id)))
    return removed


def _before(now: datetime, **period: int) -> datetime:
    """`now` less `period`; a period longer than the calendar behind it (99999 days, for "keep them") goes back to
    its start, so nothing is older."""
    try:
        return now - timedelta(**period)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC)


async def _in_chunks(context: HubContext, condition: ColumnElement[bool], size: int, work: Work) -> int:
    """Find the events matching `condition` on a reader, then hand them to `work` `size` at a time, each chunk in
    a write transaction of its own; returns the sum of what `work` returns."""
    total = 0
    while True:
        async with context.db.reader.connect() as conn:
            found = select(E.id).where(condition).limit(FOUND_AT_ONCE)
            ids = list((await conn.execute(found)).scalars())
        done = 0
        for first in range(0, len(ids), size):
            started = time.monotonic()
            async with context.db.writer.begin() as conn:
                done += await work(conn, ids[first : first + size])
            # A pause after each chunk: deletes write much to the WAL, which commits must then checkpoint.
            await asyncio.sleep((time.monotonic() - started) * PAUSE_PER_WRITE)
        total += done
        if len(ids) < FOUND_AT_ONCE or not done:  # nothing done: what is left is left for a later pass
            return total


async def _delete_cards(conn: AsyncConnection, ids: list[int]) -> int:
    """Delete these events, their children and their tags, and take them off their channels' counts: by the rows
    each DELETE returns, so of two processes pruning at once on PostgreSQL, only the one that deleted a row counts
    it.

    The contexts these cards lead go first, in the same transaction: an event of such a context stored after it
    starts a new card instead of hanging under a deleted one (hidden from the feed, never pruned). On PostgreSQL,
    ingest holds the contexts rows it read until it commits (`_assign_contexts`), so locking them here waits for an
    event being stored under one of these cards: the look for notifications still to be sent (`_settled`) then sees
    that event's, and the DELETEs below see the event and remove it with its card."""
    c = schema.contexts.c
    leading = select(E.id, E.project_id, E.test, E.context_id).where(E.id.in_(ids), E.context_id.is_not(None))
    led = [{"p": r.project_id, "t": r.test, "c": r.context_id, "e": r.id} for r in await conn.execute(leading)]
    if led and conn.dialect.name == "postgresql":
        keys = [(c.project_id == k["p"]) & (c.test == k["t"]) & (c.context_id == k["c"]) for k in led]
        await conn.execute(select(c.context_id).where(or_(*keys)).with_for_update())  # by their key, the one index
    if not (ids := await _settled(conn, ids)):
        return 0
    if led := [k for k in led if k["e"] in ids]:
        await conn.execute(  # by the contexts' own key, the one index of their table
            delete(schema.contexts).where(
                c.project_id == bindparam("p"),
                c.test == bindparam("t"),
                c.context_id == bindparam("c"),
                c.parent_event_id == bindparam("e"),
            ),
            led,
        )
    event_ids = select(E.id).where(or_(E.id.in_(ids), E.parent_id.in_(ids))).scalar_subquery()
    await conn.execute(delete(schema.event_tags).where(schema.event_tags.c.event_id.in_(event_ids)))
    deleting = delete(schema.events).returning(E.project_id, E.channel, E.test, E.created_at)
    children = (await conn.execute(deleting.where(E.parent_id.in_(ids)))).all()  # first: they point at their card
    cards = (await conn.execute(deleting.where(E.id.in_(ids)))).all()
    gone: Counter[tuple[int, str]] = Counter()
    newest: dict[tuple[int, str], datetime] = {}
    for row in (*children, *cards):
        if not row.test:
            channel = (row.project_id, row.channel)
            gone[channel] += 1
            newest[channel] = max(row.created_at, newest.get(channel, row.created_at))
    if gone:
        ch = schema.channels.c
        left = ch.event_count - bindparam("gone")
        await conn.execute(
            update(schema.channels)
            .where(ch.project_id == bindparam("p"), ch.name == bindparam("c"))
            .values(
                event_count=left,
                # An emptied channel has no last event; one whose newest event went shows the newest one left.
                last_event_at=case(
                    (left < 1, null()),
                    (ch.last_event_at <= bindparam("newest", type_=ch.last_event_at.type), _newest_left()),
                    else_=ch.last_event_at,
                ),
            ),
            [{"p": p, "c": c, "gone": n, "newest": newest[(p, c)]} for (p, c), n in sorted(gone.items())],
        )
    return len(cards)


async def _settled(conn: AsyncConnection, ids: list[int]) -> list[int]:
    """The cards of `ids` none of whose timeline's notifications still wait to be sent."""
    n, d = schema.notifications.c, schema.deliveries.c
    waiting = (
        select(func.coalesce(E.parent_id, E.id))
        .join(schema.notifications, n.event_id == E.id)
        .join(schema.deliveries, d.notification_id == n.id)
        .where(or_(E.id.in_(ids), E.parent_id.in_(ids)), d.state.in_(WAITING))
        .distinct()
    )
    kept = set((await conn.execute(waiting)).scalars())
    return [card for card in ids if card not in kept]


def _newest_left() -> ColumnElement[datetime]:
    """When the newest counted event left in the channel being updated was created (NULL for none). Asked only
    when its newest event was just deleted: its newest card is found at once in the channel feed's index (which
    holds cards only); its context children, which may sit in any channel, have no index by channel."""
    ch = schema.channels.c
    counted = (E.project_id == ch.project_id, E.channel == ch.name, E.test == false())
    cards = select(func.max(E.created_at).label("at")).where(*counted, E.parent_id.is_(None))
    children = select(func.max(E.created_at).label("at")).where(*counted, E.parent_id.is_not(None))
    both = union_all(cards.correlate(schema.channels), children.correlate(schema.channels)).subquery()
    return select(func.max(both.c.at)).scalar_subquery()


async def _release_keys(conn: AsyncConnection, ids: list[int]) -> int:
    """Forget these events' idempotency keys (past their window), so a key can be used again."""
    await conn.execute(update(schema.events).where(E.id.in_(ids)).values(idempotency_key=None))
    return len(ids)


def retention_job(interval_seconds: float) -> Job:
    return Job(name="retention", seconds=interval_seconds, func=prune)
