"""Reading and writing checks, their project keys and their history; shared by the API, the CLI and config sync.

Functions take a connection so callers choose the transaction (writes go through `db.writer`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Table, delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.pluginapi import Database, HubContext, ValidationProblem, decode_cursor, encode_cursor, insert_ignore

from . import tables
from .models import CheckOut, CheckPatch, CheckSpec, FlipOut, PingOut, check_schedule
from .states import CheckState, Flip, Schedule, with_deadlines

STATE_FIELDS = tuple(field.name for field in msgspec.structs.fields(CheckState))
MAX_PAGE = 200
UNIQUE_KEY_LENGTH = 32  # hex digits; a UUID has 36 characters

Row = Mapping[str, Any]


class Conflict(Exception):
    """The change clashes with an existing row (answered 409)."""


def state_of(row: Row) -> CheckState:
    return CheckState(**{name: row[name] for name in STATE_FIELDS})


def schedule_of(row: Row) -> Schedule:
    return Schedule(
        grace=row["grace"], period=row["period"], cron=row["cron"], tz=row["tz"], manual_resume=row["manual_resume"]
    )


def check_out(row: Row, now: datetime, public_url: str, *, may_ping: bool) -> CheckOut:
    """The check as a caller sees it; its UUID and ping URL only for one that `may_ping` (they change its state)."""
    state = state_of(row)
    return CheckOut(
        uuid=row["uuid"] if may_ping else None,
        unique_key=row["unique_key"],
        name=row["name"],
        slug=row["slug"],
        project=row["project"],
        channel=row["channel"],
        period=row["period"],
        cron=row["cron"],
        tz=row["tz"],
        grace=row["grace"],
        manual_resume=row["manual_resume"],
        methods=row["methods"],
        status=state.status_at(now),
        running=state.running,
        last_ping_at=row["last_ping_at"],
        last_start_at=row["last_start_at"],
        expected_at=row["expected_at"],
        down_at=row["alert_after"],
        down_since=row["down_since"],
        n_pings=row["n_pings"],
        last_duration=row["last_duration"],
        origin=row["origin"],
        created_at=row["created_at"],
        ping_url=f"{public_url}/ping/{row['uuid']}" if may_ping else None,
    )


async def project_keys(db: Database, conn: AsyncConnection, project: str, now: datetime) -> Row:
    """The project's ping and badge keys, made on first use."""
    values = {
        "project": project,
        "ping_key": secrets.token_urlsafe(16),
        "badge_key": secrets.token_urlsafe(12),
        "created_at": now,
    }
    await conn.execute(insert_ignore(db, tables.projects, values))
    row = (await conn.execute(select(tables.projects).where(tables.projects.c.project == project))).mappings().one()
    return row


async def find_check(conn: AsyncConnection, check_id: str, *, lock: bool = False) -> Row | None:
    """The check with this UUID or `unique_key` (lowercase). With `lock`, for a writer that saves what it read: the
    row is locked (`FOR UPDATE` on PostgreSQL; SQLite's writer holds the whole database), so a ping recorded
    meanwhile is not overwritten with the state read before."""
    c = tables.checks.c
    by_key = len(check_id) == UNIQUE_KEY_LENGTH
    query = select(tables.checks).where(c.unique_key == check_id if by_key else c.uuid == check_id)
    return (await conn.execute(query.with_for_update() if lock else query)).mappings().first()


async def find_by_slug(conn: AsyncConnection, project: str, slug: str, *, lock: bool = False) -> Row | None:
    """The project's check with this slug; `lock` as for `find_check`."""
    c = tables.checks.c
    query = select(tables.checks).where(c.project == project, c.slug == slug)
    return (await conn.execute(query.with_for_update() if lock else query)).mappings().first()


def new_check(spec: CheckSpec, *, origin: str, now: datetime) -> dict[str, Any]:
    """The row of a check that was just declared: status `new`, a fresh random UUID."""
    return {
        **msgspec.structs.asdict(spec),
        **msgspec.structs.asdict(CheckState()),
        "uuid": str(uuid.uuid4()),
        "unique_key": new_unique_key(),
        "origin": origin,
        "created_at": now,
    }


def new_unique_key() -> str:
    return secrets.token_hex(UNIQUE_KEY_LENGTH // 2)


async def give_keys(hub: HubContext) -> int:
    """Give a `unique_key` to the checks without one: those a hub process of an older version made after a newer
    one had migrated the database (during a rolling upgrade). Returns how many."""
    c = tables.checks.c
    async with hub.db.writer.begin() as conn:
        unkeyed = (await conn.execute(select(c.id).where(c.unique_key.is_(None)))).scalars().all()
        for check_id in unkeyed:
            await conn.execute(update(tables.checks).where(c.id == check_id).values(unique_key=new_unique_key()))
    return len(unkeyed)


async def create_check(db: Database, conn: AsyncConnection, spec: CheckSpec, *, origin: str, now: datetime) -> Row:
    """Insert a new check (status `new`, a fresh random UUID); Conflict if the project already has its slug."""
    assert spec.slug is not None
    if await find_by_slug(conn, spec.project, spec.slug):
        raise Conflict(f"project `{spec.project}` already has a check with slug `{spec.slug}`")
    await project_keys(db, conn, spec.project, now)
    values = new_check(spec, origin=origin, now=now)
    await conn.execute(insert(tables.checks).values(values))
    row = await find_check(conn, values["uuid"])
    assert row is not None
    return row


async def update_check(conn: AsyncConnection, row: Row, patch: CheckPatch) -> Row:
    """Apply a partial update; a new schedule moves the deadlines at once."""
    changes = patch.changes()
    merged = {**row, **changes}
    try:
        check_schedule(merged["period"], merged["cron"], merged["tz"])
    except ValueError as exc:
        raise ValidationProblem(str(exc), "cron" if "`cron`" in str(exc) else "tz") from None
    if "slug" in changes and changes["slug"] != row["slug"]:
        if await find_by_slug(conn, row["project"], str(changes["slug"])):
            raise Conflict(f"project `{row['project']}` already has a check with slug `{changes['slug']}`")
    state = with_deadlines(state_of(row), schedule_of(merged))
    changes.update(msgspec.structs.asdict(state))
    await conn.execute(update(tables.checks).where(tables.checks.c.id == row["id"]).values(changes))
    updated = await find_check(conn, row["uuid"])
    assert updated is not None
    return updated


async def save_state(conn: AsyncConnection, check_id: int, state: CheckState, flip: Flip | None) -> None:
    """Store a check's new state and the flip that led to it, if any."""
    await conn.execute(
        update(tables.checks).where(tables.checks.c.id == check_id).values(msgspec.structs.asdict(state))
    )
    if flip is not None:
        await conn.execute(insert(tables.flips).values(flip_row(check_id, flip)))


def flip_row(check_id: int, flip: Flip, outage: float | None = None) -> dict[str, Any]:
    return {
        "check_id": check_id,
        "created_at": flip.at,
        "old_status": flip.old,
        "new_status": flip.new,
        "reason": flip.reason,
        "outage": outage,
    }


async def delete_check(conn: AsyncConnection, check_id: int) -> None:
    # Children first: SQLite enforces ON DELETE CASCADE only with foreign keys on, which a third-party
    # connection may not have.
    for table in (tables.pings, tables.flips):
        await conn.execute(delete(table).where(table.c.check_id == check_id))
    await conn.execute(delete(tables.checks).where(tables.checks.c.id == check_id))


def _page(table: Table, cursor: str | None, limit: int) -> Any:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationProblem(f"`limit` must be between 1 and {MAX_PAGE}", "limit")
    query = select(table).order_by(table.c.created_at.desc(), table.c.id.desc()).limit(limit + 1)
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(tuple_(table.c.created_at, table.c.id) < tuple_(at, row_id))
    return query


def _next_cursor(rows: Sequence[Row], limit: int) -> str | None:
    return encode_cursor(rows[limit - 1]["created_at"], rows[limit - 1]["id"]) if len(rows) > limit else None


async def list_checks(
    conn: AsyncConnection, projects: Collection[str] | None, cursor: str | None, limit: int
) -> tuple[list[Row], str | None]:
    """A page of the checks of `projects` (None: every project)."""
    query = _page(tables.checks, cursor, limit)
    if projects is not None:
        query = query.where(tables.checks.c.project.in_(projects))
    rows = (await conn.execute(query)).mappings().all()
    return list(rows[:limit]), _next_cursor(rows, limit)


async def list_pings(
    conn: AsyncConnection, check_id: int, cursor: str | None, limit: int
) -> tuple[list[PingOut], str | None]:
    columns = [col for col in tables.pings.c if col.name != "check_id"]
    query = _page(tables.pings, cursor, limit).where(tables.pings.c.check_id == check_id).with_only_columns(*columns)
    rows = (await conn.execute(query)).mappings().all()
    items = [
        PingOut(**{k: v for k, v in row.items() if k != "check_id"} | {"id": str(row["id"])}) for row in rows[:limit]
    ]
    return items, _next_cursor(rows, limit)


async def list_flips(
    conn: AsyncConnection, check_id: int, cursor: str | None, limit: int
) -> tuple[list[FlipOut], str | None]:
    query = _page(tables.flips, cursor, limit).where(tables.flips.c.check_id == check_id)
    rows = (await conn.execute(query)).mappings().all()
    items = [
        FlipOut(
            id=str(r["id"]),
            created_at=r["created_at"],
            old_status=r["old_status"],
            new_status=r["new_status"],
            reason=r["reason"],
            outage=r["outage"],
        )
        for r in rows[:limit]
    ]
    return items, _next_cursor(rows, limit)


async def last_outputs(conn: AsyncConnection, check_ids: Sequence[int]) -> dict[int, str]:
    """The body of each check's latest ping that had one (for `missed` events)."""
    if not check_ids:
        return {}
    p = tables.pings.c
    newest = select(func.max(p.id)).where(p.check_id.in_(check_ids), p.body.is_not(None)).group_by(p.check_id)
    rows = await conn.execute(select(p.check_id, p.body).where(p.id.in_(newest.scalar_subquery())))
    return {r.check_id: r.body for r in rows}
