"""The periodic jobs stop with the hub: cancelled, waited for, and not logged as failures."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hub.core import Hub
from hub.pluginapi import HubContext, Job


async def test_stopping_the_hub_cancels_a_running_job_waits_for_it_and_logs_no_error(settings, caplog):
    started, unwound = asyncio.Event(), asyncio.Event()

    async def long_job(hub: HubContext) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0.1)  # cleaning up takes a moment: stop() must wait for it
            unwound.set()

    hub = Hub(settings)
    hub.scheduler.add(Job("long", 60, long_job))
    await hub.start(run_jobs=True)
    await asyncio.wait_for(started.wait(), 10)
    with caplog.at_level(logging.INFO):
        await asyncio.wait_for(hub.stop(), 10)
    assert unwound.is_set()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


# SQLite's size limit; PostgreSQL's closed connection takes the same path.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_job_that_meets_an_unusable_database_logs_one_line(settings, caplog):
    """The outbox job meeting a connection PostgreSQL closed logged a traceback every time; a bug still does."""
    ran = asyncio.Event()

    async def job_on_a_full_disk(hub: HubContext) -> None:
        ran.set()
        async with hub.db.writer.connect() as conn:  # SQLite's SQLITE_FULL, as a full disk answers a write
            pages = (await conn.exec_driver_sql("PRAGMA page_count")).scalar()
            await conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")
            try:
                await conn.exec_driver_sql("CREATE TABLE filler AS SELECT randomblob(100000) AS blob")
            finally:
                await conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")

    hub = Hub(settings)
    hub.scheduler.add(Job("filler", 60, job_on_a_full_disk))
    await hub.start(run_jobs=True)

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "hub.scheduler" and r.levelno >= logging.WARNING]

    try:
        await asyncio.wait_for(ran.wait(), 10)
        # Until the job has failed: the outbox's first claim may hold the database a while on a loaded machine.
        for _ in range(200):
            if warnings():
                break
            await asyncio.sleep(0.05)
    finally:
        await hub.stop()
    [line] = warnings()
    assert (line.levelno, line.exc_info) == (logging.WARNING, None)
    assert line.getMessage() == (
        "scheduled job filler: the database is unavailable (database or disk is full); it runs again"
    )
