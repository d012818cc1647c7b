"""Migrations that change stored data, run from the revision before them over rows written as it left them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import msgspec
import pytest
import sqlalchemy as sa
from alembic import command

from hub.db import schema
from hub.db.engine import Database
from hub.db.events import EventFilter, ProjectDirectory, list_events
from hub.db.migrate import alembic_config, migrate
from hub.plugins import Plugins
from hub.sessions import SessionStore


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


async def test_0016_finds_the_words_after_a_line_break_in_stored_tags_and_content(database_url):
    db = Database(database_url)
    try:
        await _upgrade_to(db, "0015")
        at = datetime(2026, 12, 1, tzinfo=UTC)
        async with db.writer.begin() as conn:
            await conn.execute(sa.insert(schema.projects), {"id": 1, "slug": "shop", "created_at": at})
            await conn.execute(
                sa.insert(schema.events),
                {
                    "id": 1, "project_id": 1, "channel": "general", "event": "Worker crashed", "parser": "text",
                    "notify": False, "severity": "info", "source": "api", "test": False, "parent_id": None,
                    "created_at": at, "received_at": at, "description": "C:\\new stays as it is",
                    "tags": {"note": "first\nsecond"}, "content": {"trace": "Traceback:\nValueError: disk\tfull"},
                },
            )  # fmt: skip

        async def found(q: str) -> bool:
            async with db.reader.connect() as conn:
                events, _ = await list_events(conn, db, ProjectDirectory(db), EventFilter(q=q), None, 50)
            return bool(events)

        searches = ("valueerror", "full", "second", "new")
        assert [await found(q) for q in searches] == [False, False, False, True]
        await migrate(db)
        assert [await found(q) for q in searches] == [True, True, True, True]
        assert not await found("nvalueerror")
        async with db.writer.begin() as conn:  # the delete trigger takes out what the insert trigger put in
            await conn.execute(sa.delete(schema.events))
            if db.is_sqlite:
                await conn.exec_driver_sql("INSERT INTO events_fts(events_fts) VALUES ('integrity-check')")
        assert not await found("valueerror")

        async with db.writer.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0015"))
        await migrate(db)
    finally:
        await db.dispose()


async def test_0017_names_users_of_stored_rules_by_email(database_url):
    """A rule stored with a user's id in a target no longer validates: it would be skipped, its other targets too."""
    from hub.routing.book import RuleBook

    db = Database(database_url)
    try:
        await _upgrade_to(db, "0016")
        at = datetime(2026, 12, 1, tzinfo=UTC)
        ada = {"id": "u_ada", "email": "ada@example.com", "name": "Ada", "role": "member", "timezone": "UTC"}
        rules = [
            {"name": "r1", "targets": [{"user": "u_ada", "via": "email"}, {"user": "u_gone"}, {"team": "ops"}]},
            {"name": "r2", "targets": [{"user": "u_gone"}]},
        ]
        async with db.writer.begin() as conn:
            await conn.execute(*_rows(schema.users, [{**ada, "created_at": at, "updated_at": at}]))
            rows = [{"name": r["name"], "position": i, "definition": r, "created_at": at, "updated_at": at}
                    for i, r in enumerate(rules)]  # fmt: skip
            await conn.execute(*_rows(schema.routing_rules, rows))
        await migrate(db)
        loaded = await RuleBook(db, [], reload_seconds=0).stored()
        assert [(r.name, [(t.user, t.team, t.via) for t in r.targets]) for r in loaded] == [
            ("r1", [("ada@example.com", None, "email"), (None, "ops", "push")])
        ]  # r2 named nobody who exists: it notified nobody, and is skipped (logged) until saved again
    finally:
        await db.dispose()


async def test_0012_keeps_idempotency_keys_per_test_mode(database_url):
    """After it, a test event and a real one may hold one key; going back, the test event lets go of it."""
    db = Database(database_url)
    try:
        await migrate(db)
        at = datetime(2026, 12, 1, tzinfo=UTC)

        def event(event_id: int, test: bool, key: str) -> dict:
            return {
                "id": event_id, "project_id": 1, "channel": "general", "event": f"e{event_id}", "parser": "text",
                "notify": False, "severity": "info", "source": "api", "test": test, "idempotency_key": key,
                "created_at": at, "received_at": at,
            }  # fmt: skip

        async with db.writer.begin() as conn:
            await conn.execute(sa.insert(schema.projects), {"id": 1, "slug": "shop", "created_at": at})
            await conn.execute(
                sa.insert(schema.events), [event(1, True, "k"), event(2, False, "k"), event(3, True, "t")]
            )
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0011"))
        e = schema.events.c
        async with db.reader.connect() as conn:
            keys = dict((await conn.execute(sa.select(e.id, e.idempotency_key))).all())
        assert keys == {1: None, 2: "k", 3: "t"}
        await migrate(db)
    finally:
        await db.dispose()


async def test_web_0002_keeps_the_push_devices_it_finds_in_no_session(database_url):
    """Devices registered before they belonged to a session stay (SQLite copies the table to add the foreign key),
    in no session: they go when all of the user's sessions end at once, as after a password reset."""
    db = Database(database_url)
    try:
        await _upgrade_to(db, "web_0001")
        at = datetime(2026, 12, 1, tzinfo=UTC)
        user = {"id": "usr_1", "email": "ada@example.com", "name": "Ada", "role": "member", "timezone": "UTC"}
        device = {
            "id": "sub_1",
            "user_id": "usr_1",
            "endpoint": "https://push.example.com/a",
            "p256dh": "k",
            "auth": "a",
        }
        async with db.writer.begin() as conn:
            for statement, rows in [
                _rows(schema.users, [{**user, "created_at": at, "updated_at": at}]),
                _rows(schema.push_subscriptions, [{**device, "created_at": at}]),
            ]:
                await conn.execute(statement, rows)

        await migrate(db)

        ps = schema.push_subscriptions.c
        async with db.reader.connect() as conn:
            assert (await conn.execute(sa.select(ps.id, ps.endpoint, ps.session_id))).all() == [
                ("sub_1", "https://push.example.com/a", None)
            ]
        await SessionStore(db, timedelta(days=14)).end_all("usr_1")
        async with db.reader.connect() as conn:
            assert (await conn.execute(sa.select(ps.id))).all() == []
    finally:
        await db.dispose()


async def test_heartbeat_0003_names_checks_by_key_in_the_events_they_stored(settings, database_url):
    """A check's UUID pings it, and read-only callers no longer get it, but the events a check had stored named it
    by UUID in `content.check`. After heartbeat_0003 they name it by the key it was given, their JSON otherwise as
    written, and search finds them by the key and no longer by the UUID; other sources' events are left alone."""
    from hub_plugins.heartbeat import tables as heartbeat

    folders = Plugins(settings).migration_folders()
    db = Database(database_url)
    try:
        await migrate(db, folders)
        at = datetime(2026, 12, 1, tzinfo=UTC)
        uuid = "0b0e7c9e-7a55-4d4b-9b36-1f7b1c0c5a01"
        check = {
            "id": 1, "uuid": uuid, "project": "ops", "slug": "nightly-backup", "name": "Nightly backup",
            "channel": "heartbeat", "period": 3600, "tz": "UTC", "grace": 600, "origin": "api", "status": "down",
            "created_at": at,
        }  # fmt: skip
        ping = {"check_id": 1, "created_at": at, "kind": "fail", "method": "POST", "body": "disk full"}
        async with db.writer.begin() as conn:
            await conn.execute(*_rows(heartbeat.checks, [check]))
            await conn.execute(*_rows(heartbeat.pings, [ping]))
        # Down past the columns 0002 to 0004 add: SQLite copied the table to drop one, cascade-deleting its pings.
        async with db.writer.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync, folders), "heartbeat_0001"))
        async with db.reader.connect() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(heartbeat.pings))).scalar() == 1
        written = '{"check": "%s", "name": "Nightly backup",  "exit_status": 1.50}' % uuid  # noqa: UP031

        def event(event_id: int, source: str) -> dict:
            return {
                "id": event_id, "project_id": 1, "channel": "heartbeat", "event": f"e{event_id}", "parser": "text",
                "notify": False, "severity": "critical", "source": source, "test": False, "parent_id": None,
                "created_at": at, "received_at": at, "content": msgspec.Raw(written.encode()),
            }  # fmt: skip

        async with db.writer.begin() as conn:
            await conn.execute(sa.insert(schema.projects), {"id": 1, "slug": "ops", "created_at": at})
            await conn.execute(sa.insert(schema.events), [event(1, "heartbeat"), event(2, "api")])

        await migrate(db, folders)

        e = schema.events.c
        async with db.reader.connect() as conn:
            key = (await conn.execute(sa.select(heartbeat.checks.c.unique_key))).scalar_one()
            contents = dict((await conn.execute(sa.select(e.id, sa.cast(e.content, sa.Text)))).all())
            assert contents == {1: written.replace(uuid, key), 2: written}

            async def found(q: str) -> list[str]:
                events, _ = await list_events(conn, db, ProjectDirectory(db), EventFilter(q=q), None, 50)
                return sorted(e.event for e in events)

            assert await found(key) == ["e1"]
            assert await found(uuid) == ["e2"]
        if db.is_sqlite:  # the index holds what the table does (else a delete would remove the wrong words)
            async with db.writer.begin() as conn:
                await conn.execute(sa.text("INSERT INTO events_fts(events_fts, rank) VALUES ('integrity-check', 1)"))
    finally:
        await db.dispose()


async def test_heartbeat_0005_counts_the_stored_pings_and_finds_the_last_measured_run(settings, database_url):
    from hub_plugins.heartbeat import tables as heartbeat

    folders = Plugins(settings).migration_folders()
    db = Database(database_url)
    try:
        await migrate(db, folders)
        async with db.writer.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync, folders), "heartbeat_0004"))
            at = datetime(2026, 12, 1, tzinfo=UTC)
            check = {
                "id": 1, "uuid": "0b0e7c9e-7a55-4d4b-9b36-1f7b1c0c5a02", "project": "ops", "slug": "backup",
                "name": "Backup", "channel": "heartbeat", "period": 3600, "tz": "UTC", "grace": 600, "origin": "api",
                "status": "up", "created_at": at,
            }  # fmt: skip
            await conn.execute(*_rows(heartbeat.checks, [check]))
            pings = [
                {"check_id": 1, "created_at": at, "kind": "start", "method": "GET", "duration": None},
                {"check_id": 1, "created_at": at + timedelta(seconds=42), "kind": "success", "method": "GET",
                 "duration": 42.0},
                {"check_id": 1, "created_at": at + timedelta(hours=1), "kind": "success", "method": "GET",
                 "duration": None},
            ]  # fmt: skip
            await conn.execute(*_rows(heartbeat.pings, pings))
        await migrate(db, folders)
        async with db.reader.connect() as conn:
            c = heartbeat.checks.c
            assert (await conn.execute(sa.select(c.n_pings, c.last_duration))).one() == (3, 42.0)
    finally:
        await db.dispose()


async def test_0014_keeps_json_as_written_on_postgresql(database_url):
    """jsonb kept numbers as `numeric` (1.5e300 read back as a 301-digit integer) and sorted keys; after 0014 the
    JSON columns are `json`, the rows stored before read back as jsonb left them, and search finds them still."""
    db = Database(database_url)
    content = {"zz": 1.5e300, "a": -0.0, "email": "alice@example.com"}
    try:
        await _upgrade_to(db, "0013")
        at = datetime(2026, 12, 1, tzinfo=UTC)

        def event(event_id: int) -> dict:
            return {
                "id": event_id, "project_id": 1, "channel": "general", "event": f"e{event_id}", "parser": "text",
                "notify": False, "severity": "info", "source": "api", "test": False, "created_at": at,
                "received_at": at, "tags": {"plan": "pro", "big": 1e16}, "content": content,
            }  # fmt: skip

        async def stored(event_id: int) -> tuple[bytes, bytes]:
            e = schema.events.c
            async with db.reader.connect() as conn:
                row = (await conn.execute(sa.select(e.tags, e.content).where(e.id == event_id))).one()
            return msgspec.json.encode(row.tags), msgspec.json.encode(row.content)

        async def json_types() -> set[str]:
            async with db.reader.connect() as conn:
                query = "SELECT DISTINCT data_type FROM information_schema.columns WHERE data_type IN ('json', 'jsonb')"
                return set((await conn.execute(sa.text(query))).scalars())

        async def found(q: str) -> set[str]:
            async with db.reader.connect() as conn:
                events, _ = await list_events(conn, db, ProjectDirectory(db), EventFilter(q=q), None, 50)
            return {e.event for e in events}

        async with db.writer.begin() as conn:
            await conn.execute(sa.insert(schema.projects), {"id": 1, "slug": "shop", "created_at": at})
            await conn.execute(sa.insert(schema.events), [event(1)])
        as_written = (b'{"plan":"pro","big":1e16}', msgspec.json.encode(content))
        # What jsonb made of them: numbers as `numeric` text, keys sorted shortest first.
        as_jsonb = (b'{"big":10000000000000000,"plan":"pro"}', b'{"a":0.0,"zz":15' + b"0" * 299 + b',"email"')

        await migrate(db)
        async with db.writer.begin() as conn:
            await conn.execute(sa.insert(schema.events), [event(2)])
        assert await stored(2) == as_written
        if db.is_sqlite:
            assert await stored(1) == as_written
        else:
            assert await json_types() == {"json"}
            tags, old_content = await stored(1)
            assert (tags, old_content[: len(as_jsonb[1])]) == as_jsonb  # changed when it was stored, and stays so
        assert await found("alice@example.com") == await found("pro") == {"e1", "e2"}

        async with db.writer.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0013"))
        await db.dispose()  # pooled connections' prepared statements still expect the columns' former types
        if not db.is_sqlite:
            assert await json_types() == {"jsonb"}
        assert await found("alice@example.com") == {"e1", "e2"}
        await migrate(db)
        async with db.writer.begin() as conn:
            await conn.execute(sa.insert(schema.events), [event(3)])
        assert await stored(3) == as_written
    finally:
        await db.dispose()


# The heads of the oldest release that had migrations: its core, web-session and heartbeat branches.
OLDEST_RELEASE = ("0005", "web_0001", "heartbeat_0001")


def _rows(table: sa.Table, rows: list[dict]) -> tuple[sa.Insert, list[dict]]:
    """An insert of only the columns given, typed as the current schema types them (the table as it is now may
    have columns the old one had not)."""
    old = sa.table(table.name, *(sa.column(name, table.c[name].type) for name in rows[0]))
    return old.insert(), rows


def test_a_database_of_the_oldest_release_upgrades_with_everything_in_it(settings, database_url):
    """Rows as the first release with migrations wrote them (events with tags, content, a context and actions; a
    project-bound key; a user in a team; a stored rule and its pending delivery; a heartbeat check and its pings),
    then the hub started on that database: it migrates to the head and serves all of them, over HTTP."""
    from hub_plugins.heartbeat import tables as heartbeat

    from hub.app import create_app
    from hub.auth import hash_secret
    from hub.testing import LiveHub

    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    key, ingest_key = "hub_oldadminkey0123456789", "hub_oldingestkey0123456789"

    def event(event_id: int, title: str, **fields: object) -> dict:
        return {
            "id": event_id, "project_id": 1, "channel": "payments", "event": title, "description": None,
            "parser": "text", "notify": False, "severity": "info", "tags": None, "content": None, "actions": None,
            "user_id": None, "context_id": None, "parent_id": None, "source": "api", "test": False,
            "created_at": at, "received_at": at, **fields,
        }  # fmt: skip

    async def build_old_database() -> None:
        db = Database(database_url)
        try:
            for revision in OLDEST_RELEASE:
                async with db.writer.begin() as conn:
                    await conn.run_sync(
                        lambda sync, revision=revision: command.upgrade(
                            alembic_config(sync, Plugins(settings).migration_folders()), revision
                        )
                    )
            key_row = {"name": "old", "scopes": "admin", "project_id": None, "created_at": at}
            check = {
                "id": 1, "uuid": "0b0e7c9e-7a55-4d4b-9b36-1f7b1c0c5a01", "project": "ops", "slug": "nightly-backup",
                "name": "Nightly backup", "channel": "heartbeat", "period": 3600, "tz": "UTC", "grace": 600,
                "origin": "api", "status": "up", "last_ping_at": at, "expected_at": at + timedelta(hours=1),
                "alert_after": at + timedelta(hours=1, minutes=10), "created_at": at,
            }  # fmt: skip
            ping = {"check_id": 1, "created_at": at, "kind": "success", "method": "POST", "body": "ok"}
            async with db.writer.begin() as conn:
                for statement, rows in [
                    _rows(schema.projects, [{"id": 1, "slug": "shop", "created_at": at}]),
                    _rows(schema.api_keys, [
                        {**key_row, "id": "key_old1", "key_hash": hash_secret(key), "prefix": key[:12]},
                        {**key_row, "id": "key_old2", "key_hash": hash_secret(ingest_key), "prefix": ingest_key[:12],
                         "scopes": "ingest", "project_id": 1},
                    ]),
                    _rows(schema.events, [
                        event(1, "Payment failed zebrafish", description="card declined quokka", severity="warning",
                              notify=True, user_id="u-1", tags={"plan": "pro", "amount": 42},
                              content={"customer": {"email": "old@example.com"}}),
                        event(2, "Deploy started", channel="deploys", context_id="deploy-7"),
                        event(3, "Deploy step migrate", channel="deploys", context_id="deploy-7", parent_id=2),
                        event(4, "Roll back?", channel="deploys", actions=[
                            {"label": "Roll back", "url": "https://deploy.example.com/rb", "key": "rollback",
                             "meta": {}, "expires_at": "2027-01-01T00:00:00Z", "external": False, "confirm": False,
                             "inputs": []}]),
                    ]),
                    _rows(schema.event_tags, [
                        {"event_id": 1, "key": "plan", "value": "pro", "created_at": at},
                        {"event_id": 1, "key": "amount", "value": "42", "created_at": at},
                    ]),
                    _rows(schema.contexts, [
                        {"project_id": 1, "context_id": "deploy-7", "parent_event_id": 2, "updated_at": at}
                    ]),
                    _rows(schema.channels, [
                        {"project_id": 1, "name": "payments", "event_count": 1, "last_event_at": at},
                        {"project_id": 1, "name": "deploys", "event_count": 3, "last_event_at": at},
                    ]),
                    _rows(schema.users, [
                        {"id": "usr_old", "email": "ada@example.com", "name": "Ada", "role": "admin",
                         "timezone": "UTC", "created_at": at, "updated_at": at},
                    ]),
                    _rows(schema.teams, [
                        {"id": "team_old", "slug": "ops", "name": "Ops", "created_at": at, "updated_at": at}
                    ]),
                    _rows(schema.team_members, [{"team_id": "team_old", "user_id": "usr_old"}]),
                    _rows(schema.routing_rules, [
                        {"name": "payments", "position": 0, "created_at": at, "updated_at": at, "definition": {
                            "name": "payments", "match": {"channels": ["payments"]}, "targets": [{"team": "ops"}]}},
                    ]),
                    _rows(schema.notifications, [
                        {"id": 1, "rule": "payments", "project_id": 1, "event_id": 1, "last_event_id": 1,
                         "event_count": 1, "created_at": at},
                    ]),
                    _rows(schema.deliveries, [
                        {"id": 1, "notification_id": 1, "rule": "payments", "notifier": "email",
                         "address": "ada@example.com", "user_id": "usr_old", "state": "pending", "attempts": 1,
                         "next_attempt_at": at + timedelta(days=400), "budget_from": at, "created_at": at,
                         "last_error": "connection refused"},
                    ]),
                    _rows(heartbeat.checks, [check]),
                    _rows(heartbeat.pings, [
                        {**ping, "kind": "start", "body": None}, ping
                    ]),
                ]:  # fmt: skip
                    await conn.execute(statement, rows)
        finally:
            await db.dispose()

    asyncio.run(build_old_database())
    live = LiveHub(create_app(settings))  # migrates on start, as `hub serve` does
    live.start()
    try:
        http = httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

        def found(**params: str) -> list[str]:
            answer = http.get("/api/v1/events", params=params)
            assert answer.status_code == 200, answer.text
            return [e["event"] for e in answer.json()["items"]]

        assert found(q="zebrafish") == found(q="quokka") == found(q="old@example.com") == ["Payment failed zebrafish"]
        assert found(q="migrate") == ["Deploy step migrate"]
        assert found(tag="plan:pro") == found(user_id="u-1") == ["Payment failed zebrafish"]
        assert found(channel="deploys") == ["Roll back?", "Deploy started"]  # the child stays inside its card
        old_ids = {e["event"]: e["id"] for e in http.get("/api/v1/events", params={"project": "shop"}).json()["items"]}
        card = http.get(f"/api/v1/events/{old_ids['Deploy started']}").json()
        assert [child["event"] for child in card["children"]] == ["Deploy step migrate"]
        first = http.get(f"/api/v1/events/{old_ids['Payment failed zebrafish']}").json()["event"]
        assert (first["tags"], first["content"]) == (
            {"plan": "pro", "amount": 42},
            {"customer": {"email": "old@example.com"}},
        )
        assert [a["label"] for a in http.get(f"/api/v1/events/{old_ids['Roll back?']}").json()["event"]["actions"]] == [
            "Roll back"
        ]
        # The old project-bound ingest key still writes, and into the old context.
        answer = httpx.post(
            f"{live.url}/api/v1/events",
            headers={"Authorization": f"Bearer {ingest_key}"},
            json={"event": "Deploy finished", "context_id": "deploy-7"},
        )
        assert answer.status_code == 201, answer.text
        assert (answer.json()["project"], answer.json()["parent_id"]) == ("shop", old_ids["Deploy started"])
        assert "payments" in [r["rule"]["name"] for r in http.get("/api/v1/routes").json()]
        deliveries = http.get("/api/v1/deliveries").json()["items"]
        assert [(d["rule"], d["state"], d["address"]) for d in deliveries] == [
            ("payments", "pending", "ada@example.com")
        ]
        assert [t["slug"] for t in http.get("/api/v1/teams").json()] == ["ops"]
        # The heartbeat check keeps its pings and is still tracked: a ping moves it on.
        check_uuid = "0b0e7c9e-7a55-4d4b-9b36-1f7b1c0c5a01"
        assert len(http.get(f"/api/v1/checks/{check_uuid}/pings").json()["items"]) == 2
        assert httpx.post(f"{live.url}/ping/{check_uuid}").status_code == 200
        after = http.get(f"/api/v1/checks/{check_uuid}").json()
        assert after["last_ping_at"] > "2026-11-24", after
        assert http.get(f"/api/v1/checks/{after['unique_key']}").json()["uuid"] == check_uuid  # given one on upgrade
    finally:
        live.stop()
