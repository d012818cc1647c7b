"""Migrations that change stored data, run from the revision before them over rows written as it left them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from hub.db import schema
from hub.db.engine import Database
from hub.db.events import EventFilter, ProjectDirectory, list_events
from hub.db.migrate import alembic_config, migrate


@pytest.fixture
def database_url(private_database_url):
    """A database of the test's own: it is migrated from an old revision, not the shared one at the head."""
    return private_database_url


async def _upgrade_to(db: Database, revision: str) -> None:
    async with db.writer.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))


async def test_0007_parts_real_events_from_test_timelines(database_url):
    db = Database(database_url)
    try:
        await _upgrade_to(db, "0006")
        at = datetime(2026, 12, 1, tzinfo=UTC)
        old_contexts = sa.table(
            "contexts",
            *(sa.column(n) for n in ("project_id", "context_id", "parent_event_id")),
            sa.column("updated_at", schema.UTCDateTime()),
        )

        def event(event_id: int, test: bool, context_id: str, parent_id: int | None = None) -> dict:
            return {
                "id": event_id, "project_id": 1, "channel": "general", "event": f"e{event_id}", "parser": "text",
                "notify": False, "severity": "info", "source": "api", "test": test, "parent_id": parent_id,
                "context_id": context_id, "created_at": at, "received_at": at,
            }  # fmt: skip

        async with db.writer.begin() as conn:
            await conn.execute(sa.insert(schema.projects), {"id": 1, "slug": "shop", "created_at": at})
            await conn.execute(
                sa.insert(schema.events),
                [
                    # A test card with three real events under it, and a real card with a test event among its own.
                    *[event(1, True, "mixed"), event(2, False, "mixed", 1), event(3, False, "mixed", 1)],
                    *[event(4, False, "mixed", 1), event(5, False, "real"), event(6, False, "real", 5)],
                    event(7, True, "real", 5),
                ],
            )
            await conn.execute(
                old_contexts.insert(),
                [
                    {"project_id": 1, "context_id": "mixed", "parent_event_id": 1, "updated_at": at},
                    {"project_id": 1, "context_id": "real", "parent_event_id": 5, "updated_at": at},
                    {"project_id": 1, "context_id": "gone", "parent_event_id": 99, "updated_at": at},  # card deleted
                ],
            )

        await migrate(db)

        async with db.reader.connect() as conn:
            parents = dict((await conn.execute(sa.select(schema.events.c.id, schema.events.c.parent_id))).all())
            c = schema.contexts.c
            contexts = set((await conn.execute(sa.select(c.project_id, c.test, c.context_id, c.parent_event_id))).all())
        # The real events that hung under the test card stay one timeline, led by the first of them; the test
        # event under the real card becomes a card of its own; same-mode children stay where they were.
        assert parents == {1: None, 2: None, 3: 2, 4: 2, 5: None, 6: 5, 7: None}
        assert contexts == {(1, True, "mixed", 1), (1, False, "mixed", 2), (1, False, "real", 5), (1, True, "real", 7)}
    finally:
        await db.dispose()


async def test_0009_makes_stored_events_findable_by_the_words_sqlite_finds(database_url):
    db = Database(database_url)
    try:
        await _upgrade_to(db, "0008")
        at = datetime(2026, 12, 1, tzinfo=UTC)

        def event(event_id: int, title: str, **fields: object) -> dict:
            return {
                "id": event_id, "project_id": 1, "channel": "general", "event": title, "parser": "text",
                "notify": False, "severity": "info", "source": "api", "test": False, "parent_id": None,
                "created_at": at, "received_at": at, "description": None, "tags": None, "content": None, **fields,
            }  # fmt: skip

        async with db.writer.begin() as conn:
            await conn.execute(sa.insert(schema.projects), {"id": 1, "slug": "shop", "created_at": at})
            await conn.execute(
                sa.insert(schema.events),
                [
                    event(1, "Café opened", content={"customer": {"email": "alice@example.com"}}),
                    event(2, "Webhook failed", description="POST https://hooks.example.org/api/v2/orders"),
                    event(3, "Deploy v1.2.3", tags={"step": "db_migrate", "city": "ZÜRICH"}),
                ],
            )

        async def found(q: str) -> set[str]:
            async with db.reader.connect() as conn:
                events, _ = await list_events(conn, db, ProjectDirectory(db), EventFilter(q=q), None, 50)
            return {e.event for e in events}

        searches = {
            "cafe": {"Café opened"},
            "alice": {"Café opened"},
            "example": {"Café opened", "Webhook failed"},
            "alice@example.com": {"Café opened"},
            "orders": {"Webhook failed"},
            "migrate": {"Deploy v1.2.3"},
            "zurich": {"Deploy v1.2.3"},
            "v1.2.3": {"Deploy v1.2.3"},
        }
        if not db.is_sqlite:
            # Words as PostgreSQL's parser read them: the address, the URL and the accents kept whole.
            for q in ("cafe", "example", "orders", "zurich"):
                assert await found(q) == set(), q

        await migrate(db)
        assert {q: await found(q) for q in searches} == searches

        async with db.writer.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0008"))
        if not db.is_sqlite:  # the old words again, from the index of the old column
            assert await found("example") == set()
            async with db.reader.connect() as conn:
                index = (
                    await conn.execute(sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_events_search'"))
                ).scalar()
            assert index == "CREATE INDEX ix_events_search ON public.events USING gin (search)"
        await migrate(db)
        assert await found("example") == searches["example"]
    finally:
        await db.dispose()
