"""The periodic scan: checks whose `alert_after` deadline has passed go down, each exactly once.

One indexed query picks due checks in deadline order (the partial index holds only checks with a deadline);
on PostgreSQL it claims them with `FOR UPDATE SKIP LOCKED`, so concurrent scans in other processes skip them.
Each flip is then a conditional `UPDATE ... WHERE id IN (...) AND status = ? AND alert_after <= now`, and only
the rows that update reports back get a flip row and a `missed` event, stamped with the deadline. After a
hub was down, the first scan finds every deadline that passed meanwhile: the catch-up, once.

When a batch cannot be stored (say a plugin's hook fails on one event), its checks are taken one at a time, so
the one check at fault waits for the next scan and every other overdue check still goes down.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update

from hub.pluginapi import HubContext, StoredResult

from . import events, tables
from .service import service
from .states import Flip, due_flip
from .store import flip_row, last_outputs, schedule_of, state_of

BATCH = 1000
log = logging.getLogger(__name__)


async def scan(hub: HubContext) -> int:
    """Flip every overdue check down and store its `missed` event; returns how many this process flipped."""
    now = service(hub).now()
    total = 0
    failing: set[int] = set()
    while True:
        try:
            stored, more = await claim_due(hub, now, skip=failing)
        except Exception:
            stored, more = await _claim_one_at_a_time(hub, now, failing)
        total += len(stored)
        await hub.announce(stored)
        if not more:
            if failing:
                log.error("%d overdue check(s) could not go down; the next scan tries again", len(failing))
            return total


async def _claim_one_at_a_time(hub: HubContext, now: datetime, failing: set[int]) -> tuple[list[StoredResult], bool]:
    """The batch that failed, one check per transaction; the checks that fail alone join `failing`."""
    async with hub.db.reader.connect() as conn:
        ids = await conn.execute(due_query(now, lock=False, skip=failing).with_only_columns(tables.checks.c.id))
        ids = ids.scalars().all()
    stored: list[StoredResult] = []
    for check_id in ids:
        try:
            stored += (await claim_due(hub, now, only=check_id))[0]
        except Exception:
            if not failing:  # the first one's traceback; the rest would repeat it
                log.exception("check %d could not go down", check_id)
            failing.add(check_id)
    return stored, len(ids) == BATCH


def due_query(now: datetime, *, lock: bool, skip: Collection[int] = (), only: int | None = None) -> Select[Any]:
    """The scan's one query: due checks in deadline order, read from the partial index on `alert_after`.

    With `lock` (PostgreSQL) the rows are claimed `FOR UPDATE SKIP LOCKED`: a concurrent scan skips them.
    `skip` leaves out checks that failed earlier in this scan; `only` narrows it to one check.
    """
    c = tables.checks.c
    query = (
        select(tables.checks)
        .where(c.alert_after.is_not(None), c.alert_after <= now)
        .order_by(c.alert_after, c.id)
        .limit(BATCH)
    )
    if skip:
        query = query.where(c.id.not_in(skip))
    if only is not None:
        query = query.where(c.id == only)
    return query.with_for_update(skip_locked=True) if lock else query


async def claim_due(
    hub: HubContext, now: datetime, *, skip: Collection[int] = (), only: int | None = None
) -> tuple[list[StoredResult], bool]:
    """Flip one batch of overdue checks down and store their `missed` events, in one transaction; returns the
    events (to announce) and whether more may be due."""
    c = tables.checks.c
    async with hub.db.writer.begin() as conn:
        rows = (await conn.execute(due_query(now, lock=not hub.db.is_sqlite, skip=skip, only=only))).mappings().all()
        due: dict[int, tuple[Any, Flip]] = {}
        for row in rows:
            flip = due_flip(state_of(row), schedule_of(row), now)
            if flip is not None:
                due[row["id"]] = (row, flip)
        by_status: dict[str, list[int]] = defaultdict(list)
        for check_id, (row, _) in due.items():
            by_status[row["status"]].append(check_id)
        claimed: list[int] = []
        for status, ids in by_status.items():
            statement = (
                update(tables.checks)
                .where(c.id.in_(ids), c.status == status, c.alert_after <= now)
                .values(status="down", down_since=c.alert_after, expected_at=None, alert_after=None)
                .returning(c.id)
            )
            claimed += [r.id for r in await conn.execute(statement)]
        if claimed:
            await conn.execute(tables.flips.insert(), [flip_row(i, due[i][1]) for i in claimed])
        outputs = await last_outputs(conn, claimed)
        emitted = []
        for check_id in claimed:
            row, flip = due[check_id]
            missed = events.missed(
                row, deadline=flip.at, expected_at=row["expected_at"], reason=flip.reason, output=outputs.get(check_id)
            )
            emitted.append((row, missed))
        stored = await events.store(hub, conn, emitted, now)
    return stored, len(rows) == BATCH and bool(claimed)
