"""hub.db.batch on both back ends: rows stored as `conn.execute` stores them, errors as SQLAlchemy's own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime, insert, null, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError, OperationalError

from hub.db import schema
from hub.db.batch import ANY_COUNT_UP_TO, MOST_ROWS, commit_together, inserting, run_together, statement_sizes
from hub.ingest import draft_from_input
from hub.models import EventIn, now_utc

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _draw_next_id(hub, monkeypatch, taken: int) -> None:
    """The ingest writer's next id is `taken`; the ones after it are drawn as usual."""
    drawn = iter([taken])
    original = hub.ingestor.ids.next_id
    monkeypatch.setattr(hub.ingestor.ids, "next_id", lambda at: next(drawn, None) or original(at))


def _draft(name: str, project: str = "shop"):
    return draft_from_input(EventIn(event=name), project=project, source="api", received_at=now_utc())


async def test_rows_are_stored_with_the_column_types_conversions(hub):
    at = datetime(2026, 3, 29, 1, 30, 0, 7, tzinfo=UTC)
    projects = inserting(schema.projects, ["slug", "created_at"])
    async with hub.db.writer.begin() as conn:
        await projects.run(conn, [("alpha", at), ("beta", at)])
    async with hub.db.reader.connect() as conn:
        rows = (await conn.execute(select(schema.projects.c.slug, schema.projects.c.created_at))).all()
    assert {(slug, created) for slug, created in rows} >= {("alpha", at), ("beta", at)}


async def test_a_constraint_violation_is_an_integrity_error_and_rolls_back_the_transaction(hub):
    at = now_utc()
    projects = inserting(schema.projects, ["slug", "created_at"])
    with pytest.raises(IntegrityError):
        async with hub.db.writer.begin() as conn:
            await projects.run(conn, [("gamma", at)])
            await projects.run(conn, [("delta", at), ("gamma", at)])  # slug is unique
    async with hub.db.reader.connect() as conn:
        slugs = set((await conn.execute(select(schema.projects.c.slug))).scalars())
    assert not slugs & {"gamma", "delta"}


async def test_rows_keep_every_value_as_sqlalchemy_stores_it(hub):
    """Text with quotes and emoji, NULLs, booleans, 64-bit ids, JSON columns: as `conn.execute` stores them,
    but for None in a JSON column, which is SQL NULL rather than JSON `null` (both read back as None)."""
    names = ("id", "project_id", "channel", "event", "description", "parser", "icon", "notify", "severity", "tags",
             "content", "actions", "user_id", "context_id", "parent_id", "source", "test", "idempotency_key",
             "created_at", "received_at")  # fmt: skip
    at = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    async with hub.db.writer.begin() as conn:
        project_id = (await hub.projects.ensure(conn, ["shop"], at))["shop"]
    base = {"project_id": project_id, "channel": "orders", "parser": "text", "severity": "info", "source": "api",
            "created_at": at, "received_at": at, "description": None, "icon": None, "actions": None, "user_id": None,
            "context_id": None, "parent_id": None, "idempotency_key": None}  # fmt: skip
    rows = [
        {**base, "id": 2**62 + 1, "event": 'Say "hi" 👋\n\\', "notify": True, "test": False,
         "tags": {"plan": "pro", "n": 3, "ok": True}, "content": {"nested": [1, 2.5, None, "ü"]}},
        {**base, "id": 2**62 + 2, "event": "Ordinary", "notify": False, "test": True, "tags": None, "content": None,
         "description": "a\u2028b", "icon": "🚀", "user_id": "u-1"},
    ]  # fmt: skip
    async with hub.db.writer.begin() as conn:
        json_nulls = {"tags": null(), "content": null(), "actions": null()}
        await conn.execute(
            insert(schema.events), [{**r, **{k: v for k, v in json_nulls.items() if r[k] is None}} for r in rows]
        )
        await inserting(schema.events, names).run(
            conn, [tuple({**r, "id": r["id"] + 10}[n] for n in names) for r in rows]
        )
    async with hub.db.reader.connect() as conn:
        stored = (await conn.execute(select(schema.events).order_by(schema.events.c.id))).mappings().all()
        if hub.db.is_sqlite:  # the stored types too, which reading through SQLAlchemy would hide (1.0 == 1)
            typed = ", ".join(f"typeof({n}), {n}" for n in names if n != "id")
            raw = (await conn.exec_driver_sql(f"SELECT {typed} FROM events ORDER BY id")).all()
            assert raw[:2] == raw[2:]
    plain, batched = [dict(r) for r in stored[:2]], [dict(r) for r in stored[2:]]
    for a, b in zip(plain, batched, strict=True):
        assert b.pop("id") == a.pop("id") + 10
        assert a == b
    assert batched[0]["event"] == 'Say "hi" 👋\n\\' and batched[0]["notify"] is True
    assert batched[0]["tags"] == {"plan": "pro", "n": 3, "ok": True}


@pytest.mark.parametrize("count", [1, ANY_COUNT_UP_TO, ANY_COUNT_UP_TO + 1, MOST_ROWS * 2 + 37])
async def test_every_row_is_stored_whatever_the_count(hub, count):
    """On SQLite the rows go as several multi-row statements past ANY_COUNT_UP_TO rows, and past MOST_ROWS."""
    at = now_utc()
    slugs = [f"count-{count}-{n}" for n in range(count)]
    async with hub.db.writer.begin() as conn:
        await inserting(schema.projects, ["slug", "created_at"]).run(conn, [(slug, at) for slug in slugs])
    async with hub.db.reader.connect() as conn:
        stored = (await conn.execute(select(schema.projects.c.slug).where(schema.projects.c.slug.in_(slugs)))).all()
    assert sorted(slug for (slug,) in stored) == sorted(slugs)


@pytest.mark.parametrize("most", [MOST_ROWS, 32, 8])
def test_statements_take_few_distinct_row_counts(most):
    """Each distinct count is a statement SQLite prepares; the connection's cache keeps 128 of them."""
    seen = set()
    for count in range(1, 2_000):
        sizes = statement_sizes(count, most=most)
        assert sum(sizes) == count and max(sizes) <= most
        seen.update(sizes)
        assert len(sizes) <= count // most + 1 + (most // ANY_COUNT_UP_TO).bit_length()
    assert len(seen) <= ANY_COUNT_UP_TO + most.bit_length()


async def test_the_ingest_writer_retries_with_new_ids_when_another_process_drew_the_same(hub, monkeypatch):
    [first] = await hub.ingestor.store([_draft("First")])
    taken = int(first.event.id)
    _draw_next_id(hub, monkeypatch, taken)  # collides with the stored event's, as another process's would

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


def test_a_naive_datetime_is_refused_on_sqlite_as_on_postgresql():
    convert = schema.UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    with pytest.raises(ValueError, match="naive datetime"):
        convert(datetime(2026, 3, 29, 1, 30))


async def test_a_retried_write_does_not_reuse_a_project_its_rolled_back_attempt_created(hub, monkeypatch):
    [first] = await hub.ingestor.store([_draft("First")])
    _draw_next_id(hub, monkeypatch, int(first.event.id))  # the attempt creating `billing` collides, rolls back

    [stored] = await hub.ingestor.store([_draft("Invoice paid", project="billing")])
    assert stored.created and stored.event.project == "billing"
    async with hub.db.reader.connect() as conn:
        slugs = set((await conn.execute(select(schema.projects.c.slug))).scalars())
    assert "billing" in slugs


async def test_rows_written_on_a_connection_without_begin_roll_back_with_it(hub):
    """The driver path starts the transaction SQLAlchemy would have started for its own first statement."""
    projects = inserting(schema.projects, ["slug", "created_at"])
    async with hub.db.writer.connect() as conn:
        await projects.run(conn, [("epsilon", now_utc())])
        await conn.rollback()
    async with hub.db.reader.connect() as conn:
        assert "epsilon" not in set((await conn.execute(select(schema.projects.c.slug))).scalars())


async def test_batches_run_together_in_order_and_fail_as_one(hub):
    """A later batch's failure names its own statement and rolls back the earlier batch's rows too."""
    projects = inserting(schema.projects, ["slug", "created_at"])
    channels = inserting(schema.channels, ["project_id", "name", "event_count"])
    at = now_utc()
    async with hub.db.writer.begin() as conn:
        await run_together(conn, (projects, [("zeta", at)]), (channels, []))
        zeta = (await conn.execute(select(schema.projects.c.id).where(schema.projects.c.slug == "zeta"))).scalar()
        await run_together(conn, (projects, [("eta", at)]), (channels, [(zeta, "orders", 1)]))
    with pytest.raises(IntegrityError) as caught:
        async with hub.db.writer.begin() as conn:
            await run_together(conn, (projects, [("theta", at)]), (channels, [(zeta, "orders", 1)]))
    assert "INSERT INTO channels" in str(caught.value)
    async with hub.db.reader.connect() as conn:
        slugs = set((await conn.execute(select(schema.projects.c.slug))).scalars())
    assert {"zeta", "eta"} <= slugs and "theta" not in slugs


def _count_trips(monkeypatch) -> list:
    """Calls that hand work to aiosqlite's thread, from now on."""
    import aiosqlite

    trips = []
    original = aiosqlite.Connection._execute

    def counted(self, fn, *args, **kwargs):
        trips.append(fn)
        return original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return trips


@SQLITE_ONLY
async def test_batches_run_together_on_sqlite_take_one_trip_to_the_driver_thread(hub, monkeypatch):
    projects = inserting(schema.projects, ["slug", "created_at"])
    channels = inserting(schema.channels, ["project_id", "name", "event_count"])
    async with hub.db.writer.begin() as conn:
        trips = _count_trips(monkeypatch)
        await run_together(conn, (projects, [("iota", now_utc())]), (channels, [(1, "a", 1), (1, "b", 1)]))
        monkeypatch.undo()
    assert len(trips) == 1


async def test_batches_committed_together_are_stored_or_not_at_all(hub):
    projects = inserting(schema.projects, ["slug", "created_at"])
    at = now_utc()
    async with hub.db.writer.connect() as conn:
        await commit_together(conn, (projects, [("mu", at)]), (projects, [("nu", at)]))
        with pytest.raises(IntegrityError) as caught:
            await commit_together(conn, (projects, [("xi", at)]), (projects, [("mu", at)]))  # slug is unique
        assert "INSERT INTO projects" in str(caught.value)
        if hub.db.is_sqlite:  # its transaction was the driver's own, which SQLAlchemy never saw
            assert not (await conn.get_raw_connection()).driver_connection.in_transaction
        await commit_together(conn, (projects, [("omicron", at)]))  # the failed one left nothing open
        await conn.begin()
        with pytest.raises(RuntimeError, match="already in one"):
            await commit_together(conn, (projects, [("pi", at)]))
    async with hub.db.reader.connect() as conn:
        slugs = set((await conn.execute(select(schema.projects.c.slug))).scalars())
    assert {"mu", "nu", "omicron"} <= slugs and not slugs & {"xi", "pi"}


@SQLITE_ONLY
async def test_an_event_group_needing_no_reads_is_stored_in_one_trip(hub, monkeypatch):
    """BEGIN, events, tags, channel counts and COMMIT together; a first event for a project takes more trips."""
    await hub.ingestor.store([_draft("Warm-up")])  # the project now exists and is known
    trips = _count_trips(monkeypatch)
    [stored] = await hub.ingestor.store([_draft("Order paid")])
    monkeypatch.undo()
    assert stored.created and len(trips) == 1
    async with hub.db.reader.connect() as conn:
        names = set((await conn.execute(select(schema.events.c.event))).scalars())
    assert names == {"Warm-up", "Order paid"}


@SQLITE_ONLY
async def test_a_sqlite_write_lock_held_elsewhere_fails_begin_as_sqlalchemy_error(hub):
    """BEGIN IMMEDIATE goes straight to the driver; its "database is locked" is still SQLAlchemy's own error."""
    import sqlite3

    other = sqlite3.connect(hub.db.url.partition(":///")[2], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with hub.db.writer.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            await driver.execute("PRAGMA busy_timeout=0")
            with pytest.raises(OperationalError, match="database is locked"):
                await conn.begin()
            await driver.execute("PRAGMA busy_timeout=10000")
    finally:
        other.execute("ROLLBACK")
        other.close()


@SQLITE_ONLY
async def test_a_write_cancelled_while_its_begin_waits_for_the_lock_leaves_the_writer_usable(hub):
    """The BEGIN still runs on the driver's thread after the task is gone: that connection must not be reused
    with the transaction it opened."""
    import asyncio
    import sqlite3

    projects = inserting(schema.projects, ["slug", "created_at"])
    other = sqlite3.connect(hub.db.url.partition(":///")[2], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the hub's BEGIN IMMEDIATE waits (busy_timeout) on this lock

    async def write() -> None:
        async with hub.db.writer.begin() as conn:
            await projects.run(conn, [("rho", now_utc())])

    task = asyncio.create_task(write())
    await asyncio.sleep(0.3)
    task.cancel()
    await asyncio.sleep(0.1)
    other.execute("ROLLBACK")  # the waiting BEGIN now goes through, on the driver's thread
    other.close()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with hub.db.writer.begin() as conn:
        await projects.run(conn, [("sigma", now_utc())])
    async with hub.db.reader.connect() as conn:
        slugs = set((await conn.execute(select(schema.projects.c.slug))).scalars())
    assert "sigma" in slugs and "rho" not in slugs


@SQLITE_ONLY
async def test_a_connection_back_in_the_pool_with_a_driver_transaction_open_is_rolled_back(hub):
    async with hub.db.writer.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        await driver.execute("BEGIN IMMEDIATE")  # behind SQLAlchemy's back, as a failed ROLLBACK would leave it
        await driver.execute("INSERT INTO projects (slug, created_at) VALUES ('tau', '2026-01-01 00:00:00.000000')")
    projects = inserting(schema.projects, ["slug", "created_at"])
    async with hub.db.writer.begin() as conn:
        await projects.run(conn, [("upsilon", now_utc())])
    async with hub.db.reader.connect() as conn:
        slugs = set((await conn.execute(select(schema.projects.c.slug))).scalars())
    assert "upsilon" in slugs and "tau" not in slugs


async def test_a_connection_closed_mid_transaction_rolls_back_and_frees_the_writer(hub):
    """The pools do not roll back on check-in (a trip to the driver thread each time): closing must."""
    projects = inserting(schema.projects, ["slug", "created_at"])
    async with hub.db.writer.connect() as conn:
        await projects.run(conn, [("kappa", now_utc())])  # begun, never committed
    async with hub.db.writer.begin() as conn:  # the same pooled connection: its BEGIN would fail if one were open
        await projects.run(conn, [("lambda", now_utc())])
    async with hub.db.reader.connect() as conn:
        slugs = set((await conn.execute(select(schema.projects.c.slug))).scalars())
    assert "lambda" in slugs and "kappa" not in slugs


@SQLITE_ONLY
@pytest.mark.parametrize("write", [commit_together, run_together], ids=["in-one-trip", "begun-by-the-engine"])
async def test_a_driver_connection_closed_under_the_pool_is_a_lost_connection_that_the_pool_replaces(hub, write):
    """aiosqlite raises a bare ValueError then; it must surface as SQLAlchemy's error and not poison the pool.
    `run_together` begins through the engine's BEGIN listener, `commit_together` sends its own BEGIN."""
    projects = inserting(schema.projects, ["slug", "created_at"])
    async with hub.db.writer.connect() as conn:
        await (await conn.get_raw_connection()).driver_connection.close()
        with pytest.raises(OperationalError) as caught:
            await write(conn, (projects, [("omicron", now_utc())]))
        assert caught.value.connection_invalidated
    async with hub.db.writer.connect() as conn:  # a fresh connection
        await commit_together(conn, (projects, [("pi", now_utc())]))
    async with hub.db.reader.connect() as conn:
        slugs = set((await conn.execute(select(schema.projects.c.slug))).scalars())
    assert "pi" in slugs and "omicron" not in slugs
