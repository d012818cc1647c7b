"""The periodic scan: checks whose `alert_after` deadline has passed go down, each exactly once.

One indexed query picks due checks in deadline order (the partial index holds only checks with a deadline);
on PostgreSQL it claims them with `FOR UPDATE SKIP LOCKED`, so concurrent scans in other processes skip them.
Each flip is then a conditional `UPDATE ... WHERE id IN (...) AND status = ? AND alert_after <= now`, and only
the rows that update reports back get a flip row and a `missed` event, stamped with the deadline. After a
hub was down, the first scan finds every deadline that passed meanwhile: the catch-up, once.

When a batch cannot be stored (say a plugin's hook fails on one event), its checks are taken one at a time, so
every other overdue check still goes down; the check at fault is remembered and tried alone on later scans,
its traceback logged once an hour. A database error (locked, disk full) fails the scan as before.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import OperationalError

from hub.pluginapi import HubContext, StoredResult

from . import events, tables
from .service import service
from .states import Flip, due_flip
from .store import flip_row, last_outputs, schedule_of, state_of

BATCH = 1000
FAILURE_LOG_INTERVAL = 3600.0  # seconds between two tracebacks for the same failing check
log = logging.getLogger(__name__)


async def scan(hub: HubContext) -> int:
    """Flip every overdue check down and store its `missed` event; returns how many this process flipped."""
    now = service(hub).now()
    failing = service(hub).failing_checks
    # Checks that failed before go alone, so they cannot fail a whole batch again.
    stored, _ = await _claim_one_at_a_time(hub, now, list(failing), failing)
    total = len(stored)
    await hub.announce(stored)
    while True:
        try:
            stored, more = await claim_due(hub, now, skip=failing)
        except OperationalError:
            raise  # the database itself (locked, full, gone): every check would fail alone too
        except Exception:
            log.warning("a batch of overdue checks could not go down; trying them one at a time", exc_info=True)
            async with hub.db.reader.connect() as conn:
                query = due_query(now, lock=False, skip=failing).with_only_columns(tables.checks.c.id)
                ids = (await conn.execute(query)).scalars().all()
            stored, more = await _claim_one_at_a_time(hub, now, ids, failing)
            more = more and len(ids) == BATCH
        total += len(stored)
        await hub.announce(stored)
        if not more:
            return total


async def _claim_one_at_a_time(
    hub: HubContext, now: datetime, ids: Sequence[int], failing: dict[int, float]
) -> tuple[list[StoredResult], bool]:
    """Each check in its own transaction. One that fails joins `failing` (check id: when its failure was last
    logged, at most hourly); one that goes down, or is no longer due, leaves it. Returns the events and whether
    any check was dealt with, one way or the other."""
    stored: list[StoredResult] = []
    progress = False
    for check_id in ids:
        try:
            stored += (await claim_due(hub, now, only=check_id))[0]
        except OperationalError:
            raise
        except Exception:
            progress = progress or check_id not in failing
            last_logged = failing.get(check_id)
            if last_logged is None or time.monotonic() - last_logged > FAILURE_LOG_INTERVAL:
                log.exception("check %d could not go down; each scan tries it alone until it can", check_id)
                failing[check_id] = time.monotonic()
            continue
        failing.pop(check_id, None)
        progress = True
    return stored, progress


def due_query(now: datetime, *, lock: bool, skip: Collection[int] = (), only: int | None = None) -> Select[Any]:
    """The scan's one query: due checks in deadline order, read from the partial index on `alert_after`.

    With `lock` (PostgreSQL) the rows are claimed `FOR UPDATE SKIP LOCKED`: a concurrent scan skips them.
    `skip` leaves out checks known to fail; `only` narrows it to one check.
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
