"""Pings are written in groups: one writer task, one transaction for whatever queued up meanwhile.

A ping costs one row and one check update, and SQLite's cost is per transaction, so grouping is what makes
thousands of pings a second possible. `record()` returns only after the commit, so `OK` means stored.

Each group locks the checks it touches (`FOR UPDATE`, in id order, on PostgreSQL; SQLite's writer holds the
database), so a ping decides "this check was down, it recovers" on the current row, and with several
processes exactly one ping emits `recovered` (or `failed`). These events are stored in the same
transaction as the pings, so `OK` means they are stored too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.pluginapi import EventIn, HubContext, insert_ignore, inserting, run_together

from . import events, tables
from .batch import FLIP_COLUMNS, PING_COLUMNS, updating_states
from .models import CheckSpec
from .states import Action, apply_ping
from .store import STATE_FIELDS, new_check, schedule_of, state_of

log = logging.getLogger(__name__)
MAX_GROUP = 1000

# Built once: pings are the hub's hottest write path.
_READ_CHECKS = (
    select(tables.checks)
    .where(tables.checks.c.uuid.in_(bindparam("uuids", expanding=True)))
    .order_by(tables.checks.c.id)
)
_LOCK_CHECKS = _READ_CHECKS.with_for_update()
_UPDATE_STATES = updating_states(STATE_FIELDS)
_INSERT_PINGS = inserting(tables.pings, PING_COLUMNS, memoise=PING_COLUMNS)
_INSERT_FLIPS = inserting(tables.flips, FLIP_COLUMNS, memoise=FLIP_COLUMNS)


class Ping(msgspec.Struct, kw_only=True):
    """One ping as received: which check (`uuid`, or `ping_key` + `slug`) and what it says."""

    uuid: str | None = None
    ping_key: str | None = None
    slug: str | None = None
    create: bool = False
    action: Action
    exit_status: int | None = None
    rid: str | None = None
    method: str
    remote_addr: str | None = None
    user_agent: str | None = None
    body: str | None = None
    body_size: int = 0
    body_truncated: bool = False


class Recorded(msgspec.Struct, frozen=True):
    found: bool
    created: bool = False


class _Pending:
    __slots__ = ("future", "ping")

    def __init__(self, ping: Ping, future: asyncio.Future[Recorded]) -> None:
        self.ping = ping
        self.future = future


class PingRecorder:
    def __init__(self, hub: HubContext, now: Callable[[], datetime]) -> None:
        self.hub = hub
        self.now = now
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="heartbeat-ping-writer")

    async def stop(self) -> None:
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        self._task = None

    async def record(self, ping: Ping) -> Recorded:
        if self._task is None:
            raise RuntimeError("the heartbeat ping writer is not running")
        future: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(ping, future))
        return await future

    async def _run(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < MAX_GROUP and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                await self._write_group(group)
            finally:
                for _ in group:
                    self._queue.task_done()

    async def _write_group(self, group: list[_Pending]) -> None:
        try:
            async with self.hub.db.writer.begin() as conn:
                results, emitted, now = await self._write(conn, [p.ping for p in group])
                stored = await events.store(self.hub, conn, emitted, now)
        except Exception as exc:
            if len(group) > 1:
                for pending in group:  # one bad ping must not fail the others that shared its transaction
                    await self._write_group([pending])
                return
            log.exception("storing a ping failed")
            if not group[0].future.done():
                group[0].future.set_exception(exc)
            return
        await self.hub.announce(stored)
        for pending, result in zip(group, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)

    async def _write(
        self, conn: AsyncConnection, pings: Sequence[Ping]
    ) -> tuple[list[Recorded], list[tuple[Any, EventIn]], datetime]:
        """Write the group; returns what each ping found, the events to store, and the time the pings are
        stamped with."""
        slug_uuids, created = await self._resolve_slugs(conn, pings, self.now())
        wanted = {ping.uuid for ping in pings if ping.uuid} | set(slug_uuids.values())
        statement = _LOCK_CHECKS if not self.hub.db.is_sqlite else _READ_CHECKS
        rows = {r["id"]: r for r in (await conn.execute(statement, {"uuids": list(wanted)})).mappings()}
        # The time is read with the checks held: a scan that flipped one while this group waited for it has
        # committed by now, and a ping stamped before that flip made a recovery with a negative outage.
        now = self.now()
        ids = {(row["uuid"],): check_id for check_id, row in rows.items()}
        ids.update({target: ids[(uuid,)] for target, uuid in slug_uuids.items() if (uuid,) in ids})
        stored = {check_id: state_of(row) for check_id, row in rows.items()}
        states = dict(stored)
        results: list[Recorded] = []
        ping_rows: list[tuple[Any, ...]] = []
        flip_rows: list[tuple[Any, ...]] = []
        emitted: list[tuple[Any, EventIn]] = []
        for ping in pings:
            check_id = ids.get(_target(ping))
            if check_id is None or check_id not in rows:
                results.append(Recorded(found=False))
                continue
            row = rows[check_id]
            # `201 Created` for the first ping of the group with `?create=1` to the check it made; the others
            # found it made.
            made = ping.create and _target(ping) in created
            results.append(Recorded(found=True, created=made))
            if made:
                created.discard(_target(ping))
            counted = msgspec.structs.replace(states[check_id], n_pings=states[check_id].n_pings + 1)
            if row["methods"] == "POST" and ping.method != "POST":
                # A chat app unfurling the ping URL, or a browser opening it, must not tell that the job ran.
                ping_rows.append(_ping_row(check_id, ping, "ign", now, None))
                states[check_id] = counted
                continue
            state, outcome = apply_ping(counted, schedule_of(row), ping.action, ping.rid, now)
            duration = outcome.duration
            if duration is None and ping.rid and ping.action in ("success", "fail") and not outcome.ignored:
                duration = await _run_since(conn, check_id, ping.rid, now)
            seconds = duration.total_seconds() if duration is not None else None
            if seconds is not None:
                state.last_duration = seconds
            states[check_id] = state
            kind = "ign" if outcome.ignored else ping.action
            ping_rows.append(_ping_row(check_id, ping, kind, now, seconds))
            if outcome.flip is not None:
                outage = outcome.recovered_after.total_seconds() if outcome.recovered_after else None
                flip = outcome.flip
                flip_rows.append((check_id, flip.at, flip.old, flip.new, flip.reason, outage))
            if outcome.recovered_after is not None or outcome.failed:
                snapshot = {**row, **msgspec.structs.asdict(state)}
                if outcome.recovered_after is not None:
                    emitted.append((snapshot, events.recovered(snapshot, at=now, outage=outcome.recovered_after)))
                if outcome.failed:
                    event = events.failed(snapshot, at=now, exit_status=ping.exit_status, output=ping.body)
                    emitted.append((snapshot, event))
        changed = [(check_id, state) for check_id, state in states.items() if state != stored[check_id]]
        await run_together(
            conn,
            (_INSERT_PINGS, ping_rows),
            (_INSERT_FLIPS, flip_rows),
            (_UPDATE_STATES, [(*msgspec.structs.astuple(state), check_id) for check_id, state in changed]),
        )
        return results, emitted, now

    async def _resolve_slugs(
        self, conn: AsyncConnection, pings: Sequence[Ping], now: datetime
    ) -> tuple[dict[tuple[str, ...], str], set[tuple[str, ...]]]:
        """The UUIDs of the checks slug pings name, creating checks for `?create=1`."""
        c, p = tables.checks.c, tables.projects.c
        ids: dict[tuple[str, ...], str] = {}
        created: set[tuple[str, ...]] = set()
        for ping in pings:
            target = _target(ping)
            if ping.uuid or target in ids:
                continue
            query = (
                select(c.uuid, p.project)
                .select_from(tables.projects.outerjoin(tables.checks, (c.project == p.project) & (c.slug == ping.slug)))
                .where(p.ping_key == ping.ping_key)
            )
            found = (await conn.execute(query)).first()
            if found is None:
                continue
            if found.uuid is None and ping.create:
                spec = CheckSpec(name=ping.slug or "", slug=ping.slug, project=found.project)
                # insert_ignore: when another process creates the same slug at once, its check is used (and that
                # process answers 201).
                check = new_check(spec, origin="ping", now=now)
                if (await conn.execute(insert_ignore(self.hub.db, tables.checks, check))).rowcount == 1:
                    created.add(target)
                found = (await conn.execute(query)).first()
            if found is not None and found.uuid is not None:
                ids[target] = found.uuid
        return ids, created


def _target(ping: Ping) -> tuple[str, ...]:
    return (ping.uuid,) if ping.uuid else (ping.ping_key or "", ping.slug or "")


async def _run_since(conn: AsyncConnection, check_id: int, rid: str, now: datetime) -> timedelta | None:
    """The duration of a run whose start is not the latest one (overlapping runs told apart by `rid`)."""
    p = tables.pings.c
    query = (
        select(p.created_at)
        .where(p.check_id == check_id, p.rid == rid, p.kind == "start")
        .order_by(p.created_at.desc(), p.id.desc())
        .limit(1)
    )
    started = (await conn.execute(query)).scalar()
    return now - started if started is not None else None


def _ping_row(check_id: int, ping: Ping, kind: str, now: datetime, duration: float | None) -> tuple[Any, ...]:
    """The row of heartbeat_pings, in PING_COLUMNS order."""
    return (
        check_id,
        now,
        kind,
        ping.exit_status,
        ping.rid,
        ping.method,
        ping.remote_addr,
        ping.user_agent,
        ping.body,
        ping.body_size,
        ping.body_truncated,
        duration,
    )
