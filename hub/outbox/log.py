"""Reading the outbox for the API: deliveries (newest first, keyset-paginated) with their attempts; manual retry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.db.engine import Database
from hub.db.events import decode_cursor, encode_cursor
from hub.models import ValidationProblem, now_utc, shown_address
from hub.routing.recipients import NO_DEVICE

STATES = ("pending", "held", "sending", "delivered", "failed", "dead", "suppressed")
# Only finished deliveries that did not arrive can be retried by hand.
RETRYABLE = ("failed", "dead")
USER_DELETED = "not sent: the user was deleted"  # what a delivery to a deleted hub user ends with


class AttemptOut(msgspec.Struct):
    attempted_at: datetime
    outcome: str
    http_status: int | None
    latency_ms: float
    response: str | None


class DeliveryOut(msgspec.Struct, kw_only=True):
    id: str
    notification_id: str
    event_id: str
    event_title: str  # the event's `event`, so a list of deliveries says what each was about
    rule: str
    notifier: str
    # Webhook URLs can hold secrets: only their origin is shown.
    address: str
    user_id: str | None
    state: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    finished_at: datetime | None
    last_status: int | None
    last_error: str | None
    digest_id: str | None
    attempt_log: list[AttemptOut] = []


def _out(row: Any, attempts: list[AttemptOut] | None = None) -> DeliveryOut:
    return DeliveryOut(
        id=str(row.id),
        notification_id=str(row.notification_id),
        event_id=str(row.event_id),
        event_title=row.event_title,
        rule=row.rule,
        notifier=row.notifier,
        address=shown_address(row.notifier, row.address),
        user_id=row.user_id,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        created_at=row.created_at,
        finished_at=row.finished_at,
        last_status=row.last_status,
        last_error=row.last_error,
        digest_id=str(row.digest_id) if row.digest_id is not None else None,
        attempt_log=attempts or [],
    )


def _query() -> Any:
    d, n, e = schema.deliveries.c, schema.notifications.c, schema.events.c
    return (
        select(schema.deliveries, n.event_id, e.event.label("event_title"))
        .join(schema.notifications, n.id == d.notification_id)
        .join(schema.events, e.id == n.event_id)
    )


async def list_deliveries(
    conn: AsyncConnection, *, state: str | None, event_id: int | None, cursor: str | None, limit: int
) -> tuple[list[DeliveryOut], str | None]:
    d, n = schema.deliveries.c, schema.notifications.c
    query = _query()
    if state:
        if state not in STATES:
            raise ValidationProblem(f"`state` must be one of {', '.join(STATES)}", "state")
        query = query.where(d.state == state)
    if event_id is not None:
        query = query.where(n.event_id == event_id)
    if cursor:
        when, last = decode_cursor(cursor)
        query = query.where(or_(d.created_at < when, and_(d.created_at == when, d.id < last)))
    rows = (await conn.execute(query.order_by(d.created_at.desc(), d.id.desc()).limit(limit + 1))).all()
    items = [_out(r) for r in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].created_at, rows[limit - 1].id) if len(rows) > limit else None
    return items, next_cursor


async def get_delivery(conn: AsyncConnection, delivery_id: int) -> DeliveryOut | None:
    row = (await conn.execute(_query().where(schema.deliveries.c.id == delivery_id))).first()
    if row is None:
        return None
    a = schema.delivery_attempts.c
    attempts = [
        AttemptOut(r.attempted_at, r.outcome, r.http_status, r.latency_ms, r.response)
        for r in await conn.execute(
            select(schema.delivery_attempts).where(a.delivery_id == delivery_id).order_by(a.attempted_at, a.id)
        )
    ]
    return _out(row, attempts)


class StillNoDevice(Exception):
    """A push delivery to a person who had no push device, and still has none: a retry would reach no one."""

    def __init__(self, email: str | None) -> None:
        super().__init__(f"{email or 'its person'} still has no push device")


async def retry_delivery(db: Database, delivery_id: int) -> str | None:
    """Put a failed or dead delivery back in the queue with a fresh retry budget; returns its previous state.

    One to a person who had no push device goes to the devices they have now, a copy of it to each after the first
    (its empty address would fail again, as a subscription removed); StillNoDevice while they have none."""
    d, ps = schema.deliveries.c, schema.push_subscriptions.c
    now = now_utc()
    async with db.writer.begin() as conn:
        row = (await conn.execute(select(schema.deliveries).where(d.id == delivery_id))).first()
        if row is None or row.state not in RETRYABLE:
            return None if row is None else row.state
        changes: dict[str, Any] = {"state": "pending", "next_attempt_at": now, "budget_from": now, "finished_at": None}
        if row.notifier == "webpush" and row.address == NO_DEVICE:
            query = select(ps.id).where(ps.user_id == row.user_id).order_by(ps.created_at, ps.id)
            first, *others = list(await conn.scalars(query)) or [None]
            if first is None:
                email = await conn.scalar(select(schema.users.c.email).where(schema.users.c.id == row.user_id))
                raise StillNoDevice(email)
            changes |= {"address": first, "last_error": None}
            if others:
                copy = {**row._asdict(), **changes, "created_at": now}
                del copy["id"]
                await conn.execute(insert(schema.deliveries), [{**copy, "address": other} for other in others])
        await conn.execute(
            update(schema.deliveries).where(d.id == delivery_id, d.state.in_(RETRYABLE)).values(**changes)
        )
    return row.state
