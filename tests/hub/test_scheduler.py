"""The periodic jobs stop with the hub: cancelled, waited for, and not logged as failures."""

from __future__ import annotations

import asyncio
import logging

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
