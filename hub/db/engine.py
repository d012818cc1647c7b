"""Engines for the one configured database URL.

SQLite gets two engines: readers that never block each other, and one writer connection whose transactions
start with `BEGIN IMMEDIATE`, so a write never fails half-way with "database is locked" when another process
committed first. PostgreSQL uses one pooled engine for both.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from threading import Thread
from typing import Any

import aiosqlite
import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.config import ConfigError
from hub.db.checkpoint import Checkpointer

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    # After a checkpoint, a WAL that grew during a burst is cut back to this size.
    "PRAGMA journal_size_limit=67108864",
    # Reads map the file instead of copying pages into each connection's own cache: the feed's queries touch
    # the same index pages from every pooled connection.
    "PRAGMA mmap_size=1073741824",
)


def _json_text(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# JSON columns go through msgspec: several times faster than the json module on the ingest path, and it keeps
# non-ASCII text as it is, so SQLite's full-text index sees "café" rather than "caf\u00e9".
JSON_CODEC: dict[str, Any] = {"json_serializer": _json_text, "json_deserializer": msgspec.json.decode}
# A database error's text (logged, and kept on a failed delivery's attempt) names the statement but not its values:
# they can be secrets (webhook sources', the VAPID key, Slack webhook URLs) or people's data.
ENGINE_OPTIONS: dict[str, Any] = {**JSON_CODEC, "hide_parameters": True}

# What aiosqlite's ValueError says when its connection was closed under the caller.
CLOSED_DRIVER = ("no active connection", "connection closed")


def lost_connection(statement: str, exc: ValueError, dialect: Any) -> DBAPIError | None:
    """aiosqlite's ValueError for a connection closed under the pool, as SQLAlchemy's own adapter reports it (a
    lost connection, which the pool replaces); None for any other ValueError."""
    if str(exc).lower() not in CLOSED_DRIVER:
        return None
    lost = sqlite3.OperationalError(str(exc))
    return DBAPIError.instance(statement, (), lost, sqlite3.Error, connection_invalidated=True, dialect=dialect)


class DatabaseUnavailable(Exception):
    """The configured database cannot be reached or opened; the message names it (without its password)."""


# SQLite's errors that say the file cannot be written now, not that the hub asked for something wrong.
SQLITE_UNAVAILABLE = (
    "database or disk is full",
    "attempt to write a readonly database",
    "disk i/o error",
    "unable to open database file",
    "database is locked",
)


def error_line(exc: BaseException) -> str:
    """A database error's first line, the driver's own where SQLAlchemy wraps it (without the statement)."""
    return (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0]


def safe_url(url: str) -> str:
    """A database URL fit to show: its password as `***`."""
    return make_url(url).render_as_string(hide_password=True)


def unavailable_reason(exc: BaseException) -> str | None:
    """The one-line reason when `exc` says the database cannot be used for now (a connection PostgreSQL closed, a
    full disk, a read-only file), which retrying later may cure; None for any other error (a bug, a conflict)."""
    if not isinstance(exc, DBAPIError):
        return None
    reason = error_line(exc)
    if exc.connection_invalidated or isinstance(exc, InterfaceError):
        return reason or "the connection was lost"
    if isinstance(exc, OperationalError) and reason.lower().startswith(SQLITE_UNAVAILABLE):
        return reason
    return None


# The drivers the hub is built for: SQLAlchemy's sync ones (`sqlite://`, `postgresql://`) cannot serve it.
DRIVERS = {"sqlite": "aiosqlite", "postgresql": "asyncpg"}


def _backend(url: str) -> str:
    """`sqlite` or `postgresql`; any other URL is a wrong setting, told as one (it was a traceback)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(
            "invalid setting: database.url is not a database URL: use sqlite+aiosqlite:///path or "
            "postgresql+asyncpg://user:password@host/dbname"
        ) from None
    if DRIVERS.get(parsed.get_backend_name()) != parsed.get_driver_name():
        raise ConfigError(
            f"invalid setting: database.url {parsed.render_as_string(hide_password=True)!r} is not supported: "
            "use sqlite+aiosqlite:///path or postgresql+asyncpg://user:password@host/dbname"
        )
    return parsed.get_backend_name()


# RETURNING (3.35) in routing, insights and the heartbeat scan.
MIN_SQLITE = (3, 35, 0)


def require_sqlite(found: tuple[int, int, int] = sqlite3.sqlite_version_info) -> None:
    """Refuse at start-up, not at the first event, when Python's SQLite library is too old or was built without
    the full-text (FTS5) or JSON functions the hub uses."""
    if found < MIN_SQLITE:
        need, have = ".".join(map(str, MIN_SQLITE)), ".".join(map(str, found))
        raise ConfigError(
            f"the hub needs SQLite {need} or newer, and this Python uses SQLite {have}: use a newer Python or "
            "operating system (Debian 12, Ubuntu 22.04 and later have it), or PostgreSQL (`database.url`)"
        )
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE words USING fts5(text)")
        probe.execute("SELECT json_extract('[1]', '$[0]')")
    except sqlite3.OperationalError as exc:
        raise ConfigError(
            f"this Python's SQLite lacks what the hub needs ({exc}): FTS5 and the JSON functions; "
            "use a Python built with a full SQLite, or PostgreSQL (`database.url`)"
        ) from exc
    finally:
        probe.close()


async def _open_sqlite(*args: Any, **kwargs: Any) -> aiosqlite.Connection:
    """aiosqlite's connect, except that a connection that cannot be opened has its worker thread ended before the
    error is raised. aiosqlite queues the thread's stop without waiting for it: a command that failed at once (a
    database in a folder that does not exist) closed its event loop first, and the thread's last reply to it failed
    with "Event loop is closed" in that thread."""
    connection = aiosqlite.connect(*args, **kwargs)
    # The worker thread, a daemon as in SQLAlchemy's own connect (aiosqlite before 0.22 made the connection a thread).
    worker: Thread = connection if isinstance(connection, Thread) else connection._thread
    worker.daemon = True
    try:
        return await connection
    except Exception:
        await asyncio.to_thread(worker.join)
        raise


def _sqlite_engine(url: str, *, immediate: bool, pool_size: int, extra: Callable[[], list[str]]) -> AsyncEngine:
    # LIFO: under light load the connection whose cache is warmest serves the next request. A connection going
    # back to the pool is rolled back only when its driver is still in a transaction (see on_reset), not always:
    # SQLAlchemy has normally ended it already, and each rollback is one more trip to the driver's thread.
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=0, pool_use_lifo=True, pool_reset_on_return=None, **ENGINE_OPTIONS
    )

    @event.listens_for(engine.sync_engine, "do_connect")
    def on_do_connect(_dialect: Any, _record: Any, _args: Any, kwargs: dict[str, Any]) -> None:
        kwargs["async_creator_fn"] = _open_sqlite  # the URL's own arguments, opened by _open_sqlite

    @event.listens_for(engine.sync_engine, "reset")
    def on_reset(dbapi_connection: Any, _record: Any, reset_state: Any) -> None:
        if not reset_state.terminate_only and dbapi_connection.driver_connection.in_transaction:
            dbapi_connection.rollback()

    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in [*SQLITE_PRAGMAS, *extra()]:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        # Straight to the driver: one trip to its thread, where `exec_driver_sql` makes three (cursor, execute,
        # close). Its errors are wrapped as SQLAlchemy's own, as they would have been.
        statement = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        adapted = connection.connection.dbapi_connection
        try:
            adapted.run_async(lambda driver: driver.execute(statement))
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, (), exc, sqlite3.Error, dialect=connection.dialect) from exc
        except ValueError as exc:
            if (lost := lost_connection(statement, exc, connection.dialect)) is None:
                raise
            raise lost from exc
        except BaseException:
            # Cancelled while the BEGIN was on the driver's thread, where it still runs (perhaps once a lock held
            # by another process is let go), after SQLAlchemy gave up on this transaction: queue behind it the
            # rollback of whatever it opens, before the connection goes back to the pool.
            adapted.run_async(lambda driver: driver.rollback())
            raise

    return engine


class Database:
    """The reader and writer engines for one URL, and what kind of back end they talk to."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = _backend(url)
        self.checkpointer: Checkpointer | None = None
        if self.dialect == "sqlite":
            require_sqlite()
            self.writer = _sqlite_engine(url, immediate=True, pool_size=1, extra=self._writer_pragmas)
            self.reader = _sqlite_engine(url, immediate=False, pool_size=pool_size, extra=list)
        elif self.dialect == "postgresql":
            self.writer = self.reader = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, **ENGINE_OPTIONS
            )

    async def check(self) -> None:
        """Open one connection, so that a database the hub cannot reach or open stops it with one line that says
        which and why, not the traceback of whatever first touched it (a refused connection, a missing
        database, a wrong password, a file in a folder that does not exist or that the hub may not write)."""
        try:
            async with self.writer.connect():
                pass
        except (DBAPIError, OSError) as exc:
            reason = error_line(exc) or type(exc).__name__
            raise DatabaseUnavailable(f"cannot open the database {safe_url(self.url)}: {reason}") from exc

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def _writer_pragmas(self) -> list[str]:
        return ["PRAGMA wal_autocheckpoint=0"] if self.checkpointer else []

    async def start(self) -> None:
        """Background work for long-running processes: SQLite's WAL checkpoints (see hub.db.checkpoint)."""
        if self.is_sqlite and self.checkpointer is None:
            self.checkpointer = Checkpointer(self)
            await self.checkpointer.start()

    async def dispose(self) -> None:
        if self.checkpointer:
            await self.checkpointer.stop()
            self.checkpointer = None
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()
