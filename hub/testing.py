"""Test helpers for the hub and its plugins, usable as a pytest plugin: `pytest_plugins = ["hub.testing"]`.

Fixtures start the real app on a real database, once on SQLite and once on PostgreSQL.

Storage tests take the `hub_app` (or `client`) fixture and so run twice. PostgreSQL is expected on
127.0.0.1:5432 (user postgres, trust auth; override with HUB_TEST_PG_URL). Without it the PostgreSQL runs are
skipped with the reason, except under CI=true, where a missing PostgreSQL fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from hub.app import app_serving, create_app
from hub.config import Settings, load_settings
from hub.core import Hub
from hub.pluginapi import HubContext

PG_ADMIN_URL = os.environ.get("HUB_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_reachable() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _require_pg() -> None:
    problem = _pg_reachable()
    if problem:
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL} ({problem})"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(message)


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def _new_pg_database() -> Iterator[str]:
    """Create a PostgreSQL database, yield its SQLAlchemy URL, drop it afterwards."""
    _require_pg()
    name = f"hub_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A PostgreSQL database for this test session (emptied before each test that uses it), dropped at the end."""
    with _new_pg_database() as url:
        yield url


async def truncate_pg(url: str) -> None:
    """Empty every table and restart every sequence: DELETE with triggers off is ~50x faster than TRUNCATE."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
        sequences = await conn.fetch("SELECT sequence_name FROM information_schema.sequences")
        statements = [f'DELETE FROM "{t["tablename"]}";' for t in tables]  # noqa: S608 (names from pg_tables)
        statements += [f'ALTER SEQUENCE "{s["sequence_name"]}" RESTART;' for s in sequences]
        if statements:
            # `replica` skips the foreign-key triggers, so the order of the deletes does not matter.
            await conn.execute(
                "BEGIN; SET LOCAL session_replication_role = replica; " + " ".join(statements) + " COMMIT;"
            )
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (with the plugins a hub loads by default), copied for each test:
    migrating an empty file costs about 0.25 s, a fifth of a typical test, where the copy is nearly free."""
    path = tmp_path_factory.mktemp("migrated") / "hub.db"
    settings = load_settings(environ={"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
    hub: Hub = create_app(settings).state.hub

    async def migrate() -> None:
        await hub.migrate()
        await hub.db.dispose()  # the last connection to close folds the WAL into the file, which is all there is

    asyncio.run(migrate())
    assert not path.with_name("hub.db-wal").exists(), "the migrated file is not whole without its WAL"
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """The URL of a database of each kind with the schema and nothing stored."""
    if request.param == "sqlite":
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), tmp_path / "hub.db")
        return f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    url = request.getfixturevalue("pg_database")
    asyncio.run(truncate_pg(url))
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def private_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """Like `database_url`, but a PostgreSQL database of the test's own: for tests that migrate extra plugins,
    whose revisions must not stay behind in the shared database. Use it as `database_url` in a test module."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        return
    with _new_pg_database() as url:
        yield url


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    """Override in a test module to change settings (HUB_* names, values as in the environment)."""
    return {}


@pytest.fixture
def settings(database_url: str, settings_overrides: dict[str, str]) -> Settings:
    # Periodic jobs stay off unless a test turns them on; tests call the jobs themselves with a clock they control.
    return load_settings(
        environ={"HUB_DATABASE_URL": database_url, "HUB_SERVER_RUN_JOBS": "false", **settings_overrides}
    )


class AppPool:
    """Litestar apps lent to one test at a time. Making one registers about 160 route handlers (0.1 s, a third of a
    typical test's setup); an app finds its hub in `app.state.hub` alone, so a returned app serves the next test's
    hub. Apps are told apart by the plugin routes they serve (the same handler objects, not equal ones): a plugin
    that makes its handlers anew for each hub gets a new app each time, and only the last few are kept."""

    KEPT = 4

    def __init__(self) -> None:
        self._idle: list[tuple[list[Any], Litestar]] = []

    @contextlib.contextmanager
    def lend(self, settings: Settings) -> Iterator[Litestar]:
        hub = Hub(settings)
        routes = hub.plugins.routes()
        app = self._take(routes) or app_serving(routes)
        app.state.hub = hub
        yield app
        # Not reached when the borrower's own clean-up failed (a live server that did not stop): that app may
        # still be serving, and is not lent again.
        del app.state.hub  # the hub and its database go with the test
        self._idle = [*self._idle[-(self.KEPT - 1) :], (routes, app)]

    def _take(self, routes: list[Any]) -> Litestar | None:
        for index, (served, app) in enumerate(self._idle):
            if len(served) == len(routes) and all(a is b for a, b in zip(served, routes, strict=True)):
                del self._idle[index]
                return app
        return None


_apps = AppPool()


@pytest.fixture
def hub_app(settings: Settings) -> Iterator[Litestar]:
    """The app on this test's hub: started by `client`, or by the ASGI lifespan of a client that runs it."""
    with _apps.lend(settings) as app:
        yield app


@pytest.fixture
async def client(hub_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in this event loop (so asyncpg connections stay on one loop).

    The hub is started and stopped here rather than through the ASGI lifespan, whose task group cannot span
    a fixture's setup and teardown.
    """
    hub: Hub = hub_app.state.hub
    await hub.start()
    try:
        transport = httpx.ASGITransport(app=hub_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield client
    finally:
        await hub.stop()


@pytest.fixture
def hub(hub_app: Litestar, client: httpx.AsyncClient) -> Hub:
    """The running hub behind `client` (started by the client's lifespan)."""
    return hub_app.state.hub


@pytest.fixture
def hub_context(hub: Hub) -> HubContext:
    """The running hub as plugins see it: what jobs, commands and `startup` are handed (`hub` is the hub itself)."""
    return hub.context


async def make_key(hub: Hub, *scopes: str, project: str | None = None, rate_limit: float | None = None) -> str:
    _, secret = await hub.keys.create(name="test", scopes=scopes or ("admin",), project=project, rate_limit=rate_limit)
    return secret


async def settled(hub: Hub) -> None:
    """Wait until the events stored so far have been handed to every `events_stored` hook and that hook is done:
    a hook that awaits (a write of its own) may still be running when the request that stored them is answered."""
    await hub.ingestor.settled()


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def admin_headers(hub: Hub) -> dict[str, str]:
    return bearer(await make_key(hub, "admin"))


class LiveHub:
    """A hub served by uvicorn on a free loopback port, in its own thread and event loop."""

    def __init__(self, app: Litestar) -> None:
        import socket
        import threading

        import uvicorn

        # The server is handed the socket bound here: a port probed and closed could be taken before uvicorn binds it.
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app
        self.hub: Hub = app.state.hub
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="live-hub", daemon=True
        )

    def start(self) -> None:
        import time

        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the live hub did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=20)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError("the live hub did not stop within 20 s")

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's event loop (database pools belong to that loop) and return its result."""
        loop = self.hub.ingestor.loop
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)

    def key(self, *scopes: str, project: str | None = None) -> str:
        return self.run(make_key(self.hub, *scopes, project=project))


@pytest.fixture
def live_hub(settings: Settings) -> Iterator[LiveHub]:
    """The real app on a real port, for clients that need a socket (SSE, the LogSnag client, `hub run`)."""
    with _apps.lend(settings) as app:
        server = LiveHub(app)
        try:
            server.start()
            yield server
        finally:
            server.stop()
