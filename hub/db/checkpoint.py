"""SQLite WAL checkpoints in the background, off the writer's commit path.

By default SQLite checkpoints inside the commit that pushes the WAL past 1,000 pages, so every few commits
the ingest writer also copies the WAL into the database file and syncs it. Measured on ingest-shaped
transactions of 32 events, that tripled the commit's cost. Here the writer's automatic checkpoints are off and
this task runs a PASSIVE checkpoint every half second on a reader connection, in that connection's own
thread: it never blocks the writer or readers. Durability is unchanged: a commit is durable once it is in the
WAL.

A WAL starts over from its beginning only when a write finds it wholly checkpointed, and commits made while the
reader's checkpoint runs (50 ms under single-event load) keep that from ever happening. So once the reader has
copied most of it, the ingest writer finishes the job: right after its next commit, in the same call to its
thread, it checkpoints the few frames committed since (`take_finish`), and its next write starts the WAL over.
The RESTART below, which holds every write while it waits for the writer's connection and runs (15 to 19 ms,
measured every 1.5 s under single-event load, enough to set the p99), is left for when readers keep old
snapshots open.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from hub.db.engine import Database

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.5
# A WAL only starts over from its beginning when a write finds it wholly checkpointed, which commits made during
# every checkpoint can prevent for as long as writes keep coming. Past this many frames (64 MiB of 4 KiB pages)
# the writer's own connection checkpoints and waits for readers, so the next write starts the WAL over.
RESTART_FRAMES = 16_384
# A WAL this long after the reader's checkpoint (4 MiB of 4 KiB pages) is worth starting over (see above).
FINISH_FRAMES = 1_024


class Checkpointer:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._task: asyncio.Task[None] | None = None
        self._finish_due = False

    def take_finish(self) -> bool:
        """Whether the writer should checkpoint right after its next commit; True once per reader checkpoint."""
        due, self._finish_due = self._finish_due, False
        return due

    async def start(self) -> None:
        async with self.db.writer.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        self._task = asyncio.create_task(self._run(), name="hub-wal-checkpoint")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        await self.checkpoint()

    async def checkpoint(self) -> tuple[int, int, int]:
        """SQLite's answer: (1 if it could not run, frames in the WAL, frames now in the database file)."""
        answer = await self._pragma(self.db.reader, "PASSIVE")
        self._finish_due = answer[1] >= FINISH_FRAMES
        if answer[1] > RESTART_FRAMES:
            answer = await self._pragma(self.db.writer, "RESTART")
        return answer

    async def _pragma(self, engine: AsyncEngine, mode: str) -> tuple[int, int, int]:
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            # Straight to the driver: outside any transaction, which a checkpoint needs.
            cursor = await raw.driver_connection.execute(f"PRAGMA wal_checkpoint({mode})")
            busy, frames, checkpointed = await cursor.fetchone()
            await cursor.close()
            return busy, frames, checkpointed

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            try:
                await self.checkpoint()
            except Exception:
                log.exception("a WAL checkpoint failed; the next one retries")
