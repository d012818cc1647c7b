"""Periodic work: an in-memory APScheduler per process; the database holds the truth (see DESIGN.md).

APScheduler 3.x job stores must never be shared between processes, so each process schedules the same few
interval jobs in memory; the jobs claim their rows in the database so each piece of work happens once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hub.pluginapi import HubContext, Job

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, context: HubContext) -> None:
        self.context = context
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self.jobs: list[Job] = []

    def add(self, job: Job) -> None:
        self.jobs.append(job)

    def start(self) -> None:
        for job in self.jobs:
            self._scheduler.add_job(
                self._run,
                "interval",
                seconds=job.seconds,
                args=[job],
                id=job.name,
                name=job.name,
                coalesce=True,
                max_instances=1,
                next_run_time=datetime.now(UTC),
                misfire_grace_time=None,
            )
        self._scheduler.start()

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def _run(self, job: Job) -> None:
        try:
            await job.func(self.context)
        except Exception:
            log.exception("scheduled job %s failed; it runs again at its next interval", job.name)
