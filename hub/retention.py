"""Pruning: test-mode events after their TTL, real events past their project's retention, stale dedupe keys.

Deletes go in chunks, each in its own short transaction, so ingest is never blocked for long. A context's
children go with their parent card.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.models import now_utc
from hub.pluginapi import HubContext, Job

CHUNK = 5000


async def _delete_where(context: HubContext, condition: ColumnElement[bool]) -> int:
    e = schema.events.c
    total = 0
    while True:
        async with context.db.writer.begin() as conn:
            ids = [row.id for row in await conn.execute(select(e.id).where(condition).limit(CHUNK))]
            if not ids:
                return total
            await conn.execute(delete(schema.event_tags).where(schema.event_tags.c.event_id.in_(ids)))
            children = select(e.id).where(e.parent_id.in_(ids)).scalar_subquery()
            await conn.execute(delete(schema.event_tags).where(schema.event_tags.c.event_id.in_(children)))
            await conn.execute(delete(schema.events).where(e.parent_id.in_(ids)))
            await conn.execute(delete(schema.events).where(e.id.in_(ids)))
            total += len(ids)


async def prune(context: HubContext) -> dict[str, int]:
    """Run every pruning rule once; returns how many events each removed."""
    settings = context.settings.retention
    now = now_utc()
    e, p = schema.events.c, schema.projects.c
    removed = {
        "test": await _delete_where(
            context, (e.test.is_(True)) & (e.received_at < now - timedelta(hours=settings.test_events_hours))
        )
    }
    async with context.db.reader.connect() as conn:
        projects = (await conn.execute(select(p.id, p.slug))).all()
    real = 0
    for project in projects:
        days = settings.projects.get(project.slug, settings.events_days)
        real += await _delete_where(
            context, (e.project_id == project.id) & (e.test.is_(False)) & (e.created_at < now - timedelta(days=days))
        )
    removed["real"] = real
    keep_keys = max(timedelta(hours=settings.idempotency_hours), timedelta(days=context.settings.webhooks.dedupe_days))
    c = schema.contexts.c
    async with context.db.writer.begin() as conn:
        await conn.execute(
            update(schema.events)
            .where(e.idempotency_key.is_not(None), e.received_at < now - keep_keys)
            .values(idempotency_key=None)
        )
        await conn.execute(delete(schema.contexts).where(~exists().where(e.id == c.parent_event_id)))
        if real or removed["test"]:
            await _recount_channels(conn)
    return removed


async def _recount_channels(conn: AsyncConnection) -> None:
    e, ch = schema.events.c, schema.channels.c
    counts = (
        select(func.count())
        .where(e.project_id == ch.project_id, e.channel == ch.name, e.test.is_(False))
        .scalar_subquery()
    )
    await conn.execute(update(schema.channels).values(event_count=counts))


def retention_job(interval_seconds: float) -> Job:
    return Job(name="retention", seconds=interval_seconds, func=prune)
