"""The missed-ping scan over many checks: how long one scan takes, as the scheduler runs it in every process.

A fresh database (SQLite by default, or `--database-url postgresql+asyncpg://...`) is migrated and filled
with `--checks` checks that were pinged and have deadlines spread over the next day. Then, with the hub's
own scan function (`hub_plugins.heartbeat.scan.scan`, what the `heartbeat-scan` job calls):

  idle      nothing is due: the one indexed query that finds no due check (the common case, every 5 s)
  due       `--due` checks are overdue: found and flipped down with their flip rows and their `missed`
            events (through the hub's ingest and routing), in one transaction (`claim_due`)
  catch-up  `--catch-up` checks overdue at once (a hub that was down for a day): flips per second

The query plan of the scan's select is printed, to show it reads the partial index on `alert_after`.

    python bench/heartbeat_scan.py
    python bench/heartbeat_scan.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from typing import Any

from hub_plugins.heartbeat import tables
from hub_plugins.heartbeat.scan import claim_due, due_query, scan
from sqlalchemy import func, insert, select, text, update

from hub.config import load_settings
from hub.core import Hub
from hub.pluginapi import HubContext, now_utc


def check_rows(count: int, now: Any) -> list[dict[str, Any]]:
    """Checks pinged within the last hour with a period of a day: deadlines spread over the coming day."""
    rows = []
    for i in range(count):
        last = now - timedelta(seconds=i * 3600 / count)
        expected = last + timedelta(days=1)
        rows.append(
            {
                "uuid": str(uuid.uuid4()),
                "project": f"p{i % 50}",
                "slug": f"job-{i}",
                "name": f"Job {i}",
                "channel": "heartbeat",
                "period": 86_400,
                "cron": None,
                "tz": "UTC",
                "grace": 600,
                "origin": "api",
                "status": "up",
                "last_ping_at": last,
                "expected_at": expected,
                "alert_after": expected + timedelta(seconds=600) + timedelta(seconds=i * 86_400 / count),
                "created_at": now,
            }
        )
    return rows


async def timed(hub: HubContext, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await scan(hub)
        times.append((time.perf_counter() - start) * 1000)
    return times


async def flip_and_store(hub: HubContext, now: Any) -> tuple[float, int]:
    """What `scan` does: the flips and their events, committed together."""
    seconds = 0.0
    claimed = 0
    more = True
    while more:
        start = time.perf_counter()
        stored, more = await claim_due(hub, now)
        await hub.announce(stored)
        seconds += time.perf_counter() - start
        claimed += len(stored)
    return seconds, claimed


async def explain(hub: HubContext, now: Any) -> str:
    query = due_query(now, lock=not hub.db.is_sqlite)  # exactly the scan's select
    compiled = query.compile(hub.db.writer.sync_engine, compile_kwargs={"literal_binds": True})
    prefix = "EXPLAIN QUERY PLAN " if hub.db.is_sqlite else "EXPLAIN "
    async with hub.db.reader.connect() as conn:
        rows = (await conn.execute(text(prefix + str(compiled)))).all()
    return "\n".join("    " + str(row[-1]) for row in rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=100, help="checks overdue in the `due` phase")
    parser.add_argument("--catch-up", type=int, default=10_000, help="checks overdue in the `catch-up` phase")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='hub-scan-bench-')}/hub.db"
    hub = Hub(load_settings(environ={"HUB_DATABASE_URL": url, "HUB_SERVER_RUN_JOBS": "false"}))
    await hub.start()
    context = hub.context
    try:
        now = now_utc()
        rows = check_rows(args.checks, now)
        async with context.db.writer.begin() as conn:
            await conn.execute(tables.flips.delete())
            await conn.execute(tables.pings.delete())
            await conn.execute(tables.checks.delete())
            for first in range(0, len(rows), 5000):
                await conn.execute(insert(tables.checks), rows[first : first + 5000])
        async with context.db.writer.begin() as conn:
            await conn.execute(text("ANALYZE"))
        print(f"{args.checks:,} checks on {context.db.dialect}; scan select plan:\n{await explain(context, now)}")

        idle = await timed(context, args.repeat)
        print(f"idle (none due):   median {statistics.median(idle):7.2f} ms, max {max(idle):7.2f} ms")

        c = tables.checks.c
        for phase, count in (("due", args.due), ("catch-up", args.catch_up)):
            due_ids = select(c.id).where(c.status == "up").order_by(c.alert_after).limit(count).scalar_subquery()
            async with context.db.writer.begin() as conn:
                await conn.execute(update(tables.checks).where(c.id.in_(due_ids)).values(alert_after=now))
            seconds, claimed = await flip_and_store(context, now)
            print(
                f"{phase} ({claimed:,} overdue): flipped, with their events stored, in {seconds * 1000:8.1f} ms "
                f"({claimed / seconds:,.0f} checks/s)"
            )
        async with context.db.reader.connect() as conn:
            down = (await conn.execute(select(func.count()).where(c.status == "down"))).scalar()
            flips = (await conn.execute(select(func.count()).select_from(tables.flips))).scalar()
        print(f"checks down: {down:,}; flips recorded: {flips:,} (each exactly once)")
    finally:
        await hub.stop()


if __name__ == "__main__":
    asyncio.run(main())
