"""hub.db.batch on both back ends: rows stored as `conn.execute` stores them, errors as SQLAlchemy's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from hub.db import schema
from hub.db.batch import inserting
from hub.ingest import draft_from_input
from hub.models import EventIn, now_utc

PROJECTS = inserting(schema.projects, ["slug", "created_at"])


def _draft(name: str):
    return draft_from_input(EventIn(event=name), project="shop", source="api", received_at=now_utc())


async def test_rows_are_stored_with_the_column_types_conversions(hub):
    at = datetime(2026, 3, 29, 1, 30, 0, 7, tzinfo=UTC)
    async with hub.db.writer.begin() as conn:
        await PROJECTS.run(conn, [("alpha", at), ("beta", at)])
    async with hub.db.reader.connect() as conn:
        rows = (await conn.execute(select(schema.projects.c.slug, schema.projects.c.created_at))).all()
    assert {(slug, created) for slug, created in rows} >= {("alpha", at), ("beta", at)}


async def test_a_constraint_violation_is_an_integrity_error_and_rolls_back_the_transaction(hub):
    at = now_utc()
    with pytest.raises(IntegrityError):
        async with hub.db.writer.begin() as conn:
            await PROJECTS.run(conn, [("gamma", at)])
            await PROJECTS.run(conn, [("delta", at), ("gamma", at)])  # slug is unique
    async with hub.db.reader.connect() as conn:
        slugs = set((await conn.execute(select(schema.projects.c.slug))).scalars())
    assert not slugs & {"gamma", "delta"}


async def test_the_ingest_writer_retries_with_new_ids_when_another_process_drew_the_same(hub, monkeypatch):
    [first] = await hub.ingestor.store([_draft("First")])
    taken = int(first.event.id)
    drawn = iter([taken])  # the next id drawn collides with the stored event's, as another process's would
    original = hub.ingestor.ids.next_id
    monkeypatch.setattr(hub.ingestor.ids, "next_id", lambda at: next(drawn, None) or original(at))

    [second] = await hub.ingestor.store([_draft("Second")])
    assert second.created and int(second.event.id) != taken
    async with hub.db.reader.connect() as conn:
        names = (await conn.execute(select(schema.events.c.event).order_by(schema.events.c.id))).scalars().all()
    assert names == ["First", "Second"]


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 29, 1, 30, 0, 7, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2026, 1, 1, 4, tzinfo=timezone(timedelta(hours=5))),
    ],
)
def test_sqlite_datetimes_are_stored_as_the_text_sqlalchemy_writes(value):
    """Rows written before the hub formatted datetimes itself must compare and sort with the new ones."""
    dialect = sqlite.dialect()
    ours = schema.UTCDateTime().dialect_impl(dialect)
    sqlalchemys = DateTime().dialect_impl(dialect)
    text = ours.bind_processor(dialect)(value)
    assert text == sqlalchemys.bind_processor(dialect)(value.astimezone(UTC).replace(tzinfo=None))
    assert ours.result_processor(dialect, None)(text) == value
