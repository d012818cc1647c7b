"""SQLite's WAL is checkpointed by a background task, not inside the writer's commits."""

from __future__ import annotations

import sqlite3

import hub.db.checkpoint
from hub.config import load_settings
from hub.core import Hub
from hub.ingest import draft_from_input
from hub.models import EventIn, now_utc


async def test_the_writer_leaves_checkpoints_to_the_background_task(tmp_path):
    path = tmp_path / "hub.db"
    hub = Hub(load_settings(environ={"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}))
    await hub.start(run_jobs=False)
    try:
        async with hub.db.writer.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 0
        async with hub.db.reader.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 1000  # SQLite's default

        event = EventIn(event="Backup finished", description="x" * 2000)
        drafts = [draft_from_input(event, project="shop", source="api", received_at=now_utc()) for _ in range(400)]
        await hub.ingestor.store(drafts)
        assert path.with_name("hub.db-wal").stat().st_size > 0

        assert hub.db.checkpointer is not None
        busy, frames, checkpointed = await hub.db.checkpointer.checkpoint()
        # Every committed frame is now in the database file itself.
        assert busy == 0 and frames > 0 and frames == checkpointed
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            assert db.execute("SELECT count(*) FROM events").fetchone()[0] == 400
    finally:
        await hub.stop()


async def test_without_the_background_task_sqlite_checkpoints_as_usual(tmp_path):
    """A CLI command opens the database without starting the hub: nothing else would checkpoint for it."""
    hub = Hub(load_settings(environ={"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"}))
    try:
        async with hub.db.writer.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA wal_autocheckpoint")).scalar() == 1000
    finally:
        await hub.db.dispose()


async def test_a_long_wal_is_restarted_from_the_writer(tmp_path, monkeypatch):
    """Under writes that never pause, passive checkpoints alone could let the WAL grow without end: past
    RESTART_FRAMES the writer's connection checkpoints and waits for readers, so the WAL starts over."""
    # This test checkpoints by itself: on a loaded machine the timer's own passive checkpoint came in between.
    monkeypatch.setattr(hub.db.checkpoint, "INTERVAL_SECONDS", 3600.0)
    path = tmp_path / "hub.db"
    running = Hub(load_settings(environ={"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}))
    await running.start(run_jobs=False)
    checkpointer = running.db.checkpointer
    assert checkpointer is not None
    modes: list[str] = []
    real_pragma = checkpointer._pragma

    async def recording(engine, mode):
        modes.append(mode)
        return await real_pragma(engine, mode)

    monkeypatch.setattr(checkpointer, "_pragma", recording)
    try:
        event = EventIn(event="Backup finished", description="x" * 2000)
        drafts = [draft_from_input(event, project="shop", source="api", received_at=now_utc()) for _ in range(100)]
        await running.ingestor.store(drafts)
        await checkpointer.checkpoint()
        assert modes == ["PASSIVE"]  # a short WAL: the passive checkpoint is enough

        monkeypatch.setattr(hub.db.checkpoint, "RESTART_FRAMES", 10)
        await running.ingestor.store(drafts)
        modes.clear()
        busy, frames, checkpointed = await checkpointer.checkpoint()
        assert modes == ["PASSIVE", "RESTART"] and busy == 0 and frames == checkpointed
    finally:
        await running.stop()


async def test_the_writer_finishes_a_checkpoint_that_writes_overtook_so_the_wal_starts_over(tmp_path, monkeypatch):
    """A write that begins while the reader's checkpoint runs (or while a reader holds an older snapshot) leaves
    frames the checkpoint did not copy, and then no later write finds the WAL wholly copied: it would only grow,
    until a RESTART holds every write. Here the ingest writer finishes the checkpoint right after its next commit,
    so the write after it starts the WAL over."""
    monkeypatch.setattr(hub.db.checkpoint, "INTERVAL_SECONDS", 3600.0)  # this test checkpoints by itself
    monkeypatch.setattr(hub.db.checkpoint, "FINISH_FRAMES", 1)
    path = tmp_path / "hub.db"
    running = Hub(load_settings(environ={"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{path}"}))
    await running.start(run_jobs=False)
    checkpointer = running.db.checkpointer
    assert checkpointer is not None
    event = EventIn(event="Order paid", description="y" * 3000)

    async def write() -> int:
        """Store a few events; the WAL file's size then (a WAL that starts over is written from its beginning)."""
        drafts = [draft_from_input(event, project="shop", source="api", received_at=now_utc()) for _ in range(4)]
        await running.ingestor.store(drafts)
        return path.with_name("hub.db-wal").stat().st_size

    try:
        await write()
        with sqlite3.connect(path, isolation_level=None) as slow_reader:
            slow_reader.execute("BEGIN")
            slow_reader.execute("SELECT count(*) FROM events").fetchone()  # holds this snapshot
            await write()  # frames past the reader's snapshot, which no checkpoint may copy yet
            await checkpointer.checkpoint()
            slow_reader.execute("COMMIT")
        before = await write()  # the writer's turn to finish the checkpoint
        after = await write()
    finally:
        await running.stop()
    assert after == before  # written over its beginning; growing by this write's frames otherwise
