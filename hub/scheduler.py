"""Periodic work: an in-memory APScheduler per process; the database holds the truth (see DESIGN.md).

APScheduler 3.x job stores must never be shared between processes, so each process schedules the same few
interval jobs in memory; the jobs claim their rows in the database so each piece of work happens once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from hub.db.engine import unavailable_reason
from hub.pluginapi import HubContext, Job

log = logging.getLogger(__name__)
# How long stop() waits for cancelled jobs to finish unwinding (a transaction rolling back, say).
STOP_WAIT_SECONDS = 10.0


class Scheduler:
    def __init__(self, context: HubContext) -> None:
        self.context = context
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self.jobs: list[Job] = []
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False

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

    async def stop(self) -> None:
        """Start no more jobs, cancel the ones running and wait until they are done, so none of them is still at
        work while the hub shuts down what it uses. Every job may be stopped mid-way: the database holds the
        truth, and a process that starts again carries on."""
        if not self._scheduler.running:
            return
        self._stopping = True
        self._scheduler.shutdown(wait=False)  # cancels the running jobs
        if self._running:
            await asyncio.wait(set(self._running), timeout=STOP_WAIT_SECONDS)

    async def _run(self, job: Job) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await job.func(self.context)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Stopped with the hub: not a failure, which APScheduler would log with a traceback.
            log.debug("scheduled job %s stopped with the hub", job.name)
        except Exception as exc:
            if (reason := unavailable_reason(exc)) is not None:  # expected while PostgreSQL restarts, a disk is full
                log.warning("scheduled job %s: the database is unavailable (%s); it runs again", job.name, reason)
            else:
                log.exception("scheduled job %s failed; it runs again at its next interval", job.name)
        finally:
            self._running.discard(task)
