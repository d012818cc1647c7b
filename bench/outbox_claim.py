"""The outbox's claim with a backlog: how long one claim takes when many deliveries are due at once.

A fresh database (SQLite by default, or `--database-url postgresql+asyncpg://...`) is migrated, and
`--backlog` due deliveries to one Slack webhook are written (a burst to a slow receiver), then `--others`
due deliveries to other webhooks, newer than the whole backlog. Then, with the outbox's own claim
(`Outbox._claim`, what every drain calls), `--repeat` times each:

  claim       a batch (`delivery.batch_size`, 500 by default) of the oldest due: the backlog's first rows
  past it     the same claim skipping the backlog's receiver, as a claim does while that receiver's line is
              full: the others must be found behind the whole backlog (then nothing is left to find)

and single events stored one after another, alone and while `past it` claims run back to back: how long a claim
holds up ingest.

    python bench/outbox_claim.py
    python bench/outbox_claim.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timedelta

from sqlalchemy import insert, select

from hub.config import load_settings
from hub.core import Hub
from hub.db import schema
from hub.models import EventIn, now_utc
from hub.routing.rules import Rule, Target

Receiver = tuple[str, str]
SLOW = ("slack", "https://hooks.slack.com/services/T0/B0/slow")


async def fill(hub: Hub, backlog: int, others: int) -> None:
    """One event routed to the slow webhook, its delivery copied into the backlog, then the others."""
    await hub.rules.save(Rule(name="bench", targets=[Target(slack=SLOW[1])]), None)
    await hub.context.ingest([EventIn(event="deploy failed")], project="bench", source="bench")
    d = schema.deliveries.c
    async with hub.db.writer.begin() as conn:
        [made] = (await conn.execute(select(schema.deliveries))).mappings().all()
        await conn.execute(schema.deliveries.delete())
        template = {name: value for name, value in made.items() if name != d.id.name}
        start = now_utc() - timedelta(hours=1)
        rows = [{**template, "next_attempt_at": start + timedelta(milliseconds=i)} for i in range(backlog)]
        other = "https://hooks.slack.com/services/T0/B{}/x"
        rows += [{**template, "address": other.format(i), "next_attempt_at": now_utc()} for i in range(others)]
        for first in range(0, len(rows), 5000):
            await conn.execute(insert(schema.deliveries), rows[first : first + 5000])


async def timed_claims(hub: Hub, repeat: int, skip: list[Receiver] | None) -> tuple[list[float], int]:
    """`repeat` claims back to back, as a drain makes them while the backlog lasts."""
    times, claimed = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        claimed += len(await hub.outbox._claim(now_utc(), hub.settings.delivery.batch_size, skip))
        times.append((time.perf_counter() - start) * 1000)
    return times, claimed


async def ingest_latencies(hub: Hub, seconds: float) -> list[float]:
    """Single events stored one after another for `seconds`: each waits for the write lock."""
    times = []
    until = time.perf_counter() + seconds
    while (start := time.perf_counter()) < until:
        await hub.context.ingest([EventIn(event="signup")], project="bench", source="bench")
        times.append((time.perf_counter() - start) * 1000)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=50)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='hub-claim-bench-')}/hub.db"
    hub = Hub(load_settings(environ={"HUB_DATABASE_URL": url, "HUB_SERVER_RUN_JOBS": "false"}))
    await hub.start()
    try:
        await fill(hub, args.backlog, args.others)
        print(f"{args.backlog:,} due to one webhook, then {args.others} to others, on {hub.db.dialect}")
        for phase, skip in (("claim", None), ("past it", [SLOW])):
            times, claimed = await timed_claims(hub, args.repeat, skip)
            print(
                f"{phase:8} {claimed:6,} claimed: median {statistics.median(times):6.2f} ms, max {max(times):6.2f} ms"
            )
        quiet = await ingest_latencies(hub, 2)
        claims = asyncio.create_task(timed_claims(hub, 10**9, [SLOW]))
        busy = await ingest_latencies(hub, 2)
        claims.cancel()
        for phase, times in (("alone", quiet), ("while claiming past it", busy)):
            p99 = statistics.quantiles(times, n=100)[98]
            print(f"an event stored {phase}: p50 {statistics.median(times):6.2f} ms, p99 {p99:6.2f} ms")
    finally:
        await hub.stop()


if __name__ == "__main__":
    asyncio.run(main())
