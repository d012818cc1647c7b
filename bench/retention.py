"""Retention on a big database: how long a pruning pass takes, and how long single events wait meanwhile.

A copy of `bench/feed.py`'s cached database (1,000,000 events over 60 days, 1% test events; built first if
missing, a few minutes) is opened by a hub in this process (SQLite, periodic jobs off). Single events are
stored one after another for 2 s alone, then while `hub.retention.prune` (the hourly `retention` job) runs
with `events_days = --days`: with the default 59, the oldest day of events goes, and the test events past
their 72 hours.

    python bench/retention.py
    python bench/retention.py --days 365   # only the test events go
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import feed

from hub.config import load_settings
from hub.core import Hub
from hub.models import EventIn
from hub.retention import prune


async def store_until(hub: Hub, done: asyncio.Event) -> list[float]:
    """Store single events one after another until `done` is set; their latencies."""
    times: list[float] = []
    while not done.is_set():
        start = time.perf_counter()
        await hub.context.ingest([EventIn(event="signup")], project="bench", source="bench")
        times.append((time.perf_counter() - start) * 1000)
    return times


def summary(times: list[float]) -> str:
    p99 = statistics.quantiles(times, n=100)[98]
    return (
        f"{len(times):6,} stored, p50 {statistics.median(times):6.2f} ms, p99 {p99:7.2f} ms, max {max(times):7.1f} ms"
    )


async def measure(path: Path, days: int) -> None:
    hub = Hub(
        load_settings(
            environ={
                "HUB_DATABASE_URL": feed.sqlite_url(path),
                "HUB_SERVER_RUN_JOBS": "false",
                "HUB_RETENTION_EVENTS_DAYS": str(days),
            }
        )
    )
    await hub.start()
    try:
        two_seconds = asyncio.Event()
        asyncio.get_running_loop().call_later(2, two_seconds.set)
        alone = await store_until(hub, two_seconds)
        done = asyncio.Event()
        storing = asyncio.create_task(store_until(hub, done))
        start = time.perf_counter()
        removed = await prune(hub.context)
        seconds = time.perf_counter() - start
        done.set()
        during = await storing
    finally:
        await hub.stop()
    print(f"prune with events_days = {days}: removed {removed} in {seconds:.1f} s")
    print(f"  single events alone:        {summary(alone)}")
    print(f"  single events during prune: {summary(during)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=59, help="retention.events_days for the pass (default 59)")
    args = parser.parse_args()
    cached = Path(tempfile.gettempdir()) / f"hub-bench-feed-{args.events}.db"
    if not feed.cached(cached, args.events):
        feed.build(cached, args.events)
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-retention-"))
    try:
        shutil.copy(cached, workdir / "hub.db")
        asyncio.run(measure(workdir / "hub.db", args.days))
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
