"""The scan is one query that reads the partial index on `alert_after`, on SQLite and on PostgreSQL."""

from __future__ import annotations

from hub_plugins.heartbeat.scan import due_query
from sqlalchemy import text


async def test_the_scan_reads_the_alert_after_index(hub, clock):
    db = hub.context.db
    query = due_query(clock.now(), lock=not db.is_sqlite)
    sql = str(query.compile(db.writer.sync_engine, compile_kwargs={"literal_binds": True}))
    async with db.writer.begin() as conn:
        if db.is_sqlite:
            plan = " ".join(str(row[-1]) for row in await conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
        else:
            assert "FOR UPDATE SKIP LOCKED" in sql  # concurrent scans in other processes skip claimed rows
            await conn.execute(text("SET LOCAL enable_seqscan = off"))  # the table is tiny; ask if the index serves
            plan = " ".join(str(row[0]) for row in await conn.execute(text("EXPLAIN " + sql)))
    assert "ix_heartbeat_checks_alert_after" in plan, plan
    if db.is_sqlite:
        assert "TEMP B-TREE" not in plan, plan  # rows come in (alert_after, id) order straight from the index
