"""A database that cannot be used for a while (PostgreSQL restarted under the hub, a full disk): requests get 503
with Retry-After, the log one line each instead of a traceback, and the hub carries on once it is back."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest
import sqlalchemy as sa

from hub import __version__ as hub_version
from hub.core import Hub
from hub.testing import PG_ADMIN_URL


@pytest.fixture
def database_url(private_database_url):
    """A database of the test's own: its connections are cut, or its file filled."""
    return private_database_url


def api_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "hub.api.errors"]


@pytest.mark.parametrize("private_database_url", ["sqlite"], indirect=True)  # a file's size limit is SQLite's
async def test_a_full_sqlite_file_is_503_and_one_line_until_there_is_room(hub: Hub, client, admin_headers, caplog):
    """Before, each request was a 500 "internal error" and two tracebacks in the log."""
    big = {"project": "shop", "event": "Big", "content": {"blob": "x" * 60_000}}
    assert (await client.post("/api/v1/events", json=big, headers=admin_headers)).status_code == 201
    # SQLite's own "database or disk is full", as a full disk gives it: the writer may not grow the file.
    async with hub.db.writer.connect() as conn:
        pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar()
        await conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
    caplog.clear()
    answer = await client.post("/api/v1/events", json=big, headers=admin_headers)
    assert answer.status_code == 503, answer.text
    assert answer.json()["message"] == "the database is unavailable for now; retry later"
    assert answer.headers["retry-after"] == "5"
    [line] = api_errors(caplog)
    assert (line.levelno, line.exc_info) == (logging.WARNING, None)
    assert line.getMessage() == "database unavailable on POST /api/v1/events: database or disk is full"
    [writer] = [r for r in caplog.records if r.name == "hub.ingest"]  # it was a traceback
    assert (writer.levelno, writer.exc_info) == (logging.WARNING, None)
    assert writer.getMessage() == "storing 1 event(s) failed, the database is unavailable: database or disk is full"

    async with hub.db.writer.connect() as conn:
        await conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")
    assert (await client.post("/api/v1/events", json=big, headers=admin_headers)).status_code == 201


@pytest.mark.parametrize("private_database_url", ["postgresql"], indirect=True)
async def test_postgresql_closing_the_connections_costs_no_500(hub: Hub, client, admin_headers, caplog):
    """pg_terminate_backend, as a PostgreSQL restart does: the request that met a closed connection was a 500 with
    a traceback; now it is a 503 to retry (or it succeeds), and the next ones are stored."""
    event = {"project": "shop", "event": "Before"}
    assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
    name = sa.make_url(hub.db.url).database
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        cut = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", name
        )
    finally:
        await admin.close()
    assert cut >= 1
    caplog.clear()
    statuses = [
        (await client.post("/api/v1/events", json={**event, "event": f"After {n}"}, headers=admin_headers)).status_code
        for n in range(3)
    ]
    assert statuses in ([503, 201, 201], [201, 201, 201]), statuses
    assert all(r.exc_info is None for r in api_errors(caplog))
    listed = await client.get("/api/v1/events", params={"project": "shop"}, headers=admin_headers)
    assert len(listed.json()["items"]) == 1 + statuses.count(201)


@pytest.mark.parametrize("private_database_url", ["postgresql"], indirect=True)
async def test_health_is_503_while_postgresql_refuses_the_hub(hub: Hub, client, caplog):
    """/health answered "ok" whatever the database did, so an uptime monitor never saw a hub that stored nothing.
    Why is in the log: the driver's words can name the database's host and address, and anyone can ask /health."""
    assert (await client.get("/health")).json()["status"] == "ok"
    name = sa.make_url(hub.db.url).database
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.fetchval("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1", name)
        answer = await client.get("/health")
        assert (answer.status_code, answer.headers["retry-after"]) == (503, "5")
        assert answer.json()["status"] == "unavailable" and answer.json()["reason"]
        answer = await client.get("/health")  # a new connection, refused
        assert answer.status_code == 503
        assert answer.json()["reason"] == "the database cannot be used (the hub's log says why)"
        assert "not currently accepting connections" in caplog.text
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
    assert (await client.get("/health")).json() == {"status": "ok", "version": hub_version, "database": "postgresql"}


@pytest.mark.parametrize("private_database_url", ["postgresql"], indirect=True)
async def test_an_event_whose_transaction_postgresql_aborts_to_break_a_deadlock_is_stored_on_the_next_try(
    hub: Hub, client, admin_headers
):
    """Routing locks a follow-up's deliveries while the outbox may be recording their outcome: PostgreSQL then
    aborts one transaction (SQLSTATE 40P01). An ingest transaction so aborted answered 500 and stored nothing."""
    for project in ("alpha", "beta"):
        event = {"project": project, "event": "Made"}
        assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
    other = await asyncpg.connect(hub.db.url.replace("+asyncpg", ""))
    await other.execute("SET deadlock_timeout = '10s'")  # the hub's transaction (1 s) is the one PostgreSQL aborts
    waiting: list[asyncio.Task[object]] = []
    lock = "SELECT 1 FROM projects WHERE slug = '{}' FOR UPDATE"

    async def deadlock_once(conn, events, backfills):
        if waiting:  # the second try: the other transaction got its lock once the first rolled back
            await waiting[0]
            await other.execute("COMMIT")
            return None
        await other.execute("BEGIN")
        await other.execute(lock.format("beta"))
        await conn.exec_driver_sql(lock.format("alpha"))
        waiting.append(asyncio.create_task(other.execute(lock.format("alpha"))))
        await asyncio.sleep(0.2)
        await conn.exec_driver_sql(lock.format("beta"))  # each waits for the other: PostgreSQL aborts this one
        raise AssertionError("no deadlock")

    hub.ingestor.transaction_hooks.append(deadlock_once)
    try:
        answer = await client.post("/api/v1/events", json={"project": "alpha", "event": "Kept"}, headers=admin_headers)
    finally:
        hub.ingestor.transaction_hooks.remove(deadlock_once)
        await other.close()
    assert answer.status_code == 201, answer.text
    listed = await client.get("/api/v1/events", params={"q": "Kept"}, headers=admin_headers)
    assert [e["event"] for e in listed.json()["items"]] == ["Kept"]
