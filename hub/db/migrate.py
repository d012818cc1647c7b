"""Bring the database up to the newest schema, core and plugins; called on every start, safe with several processes.

The core's revisions and each plugin's (see the `register_migrations` hook) are separate Alembic branches;
all of them are upgraded to their heads.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from hub.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same in every hub process.
PG_MIGRATION_LOCK = 7_273_101


class UnknownRevisions(Exception):
    """The database holds revisions no migration folder provides: a plugin with tables was turned off or removed."""


def alembic_config(connection: Connection | None = None, plugin_folders: Sequence[str] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    locations = [str(MIGRATIONS / "versions"), *plugin_folders]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(locations))
    config.attributes["connection"] = connection
    return config


async def migrate(db: Database, plugin_folders: Sequence[str] = ()) -> None:
    def upgrade(connection: Connection) -> None:
        scripts = _scripts(tuple(plugin_folders))
        stored = _stored_revisions(connection)
        _refuse_unknown_revisions(stored, scripts)
        if stored != set(scripts.get_heads()):  # Alembic would find nothing to do otherwise: every start but the first
            command.upgrade(alembic_config(connection, plugin_folders), "heads")

    async with db.writer.begin() as conn:
        if not db.is_sqlite:
            # Two processes starting together must not both create the tables.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        await conn.run_sync(upgrade)


@functools.cache
def _scripts(plugin_folders: tuple[str, ...]) -> ScriptDirectory:
    """The revisions, read once a process: Alembic imports every revision file to read them, which took about 30 ms
    of each start, twice (hub commands and the tests start many hubs in one process)."""
    return ScriptDirectory.from_config(alembic_config(plugin_folders=plugin_folders))


def _stored_revisions(connection: Connection) -> set[str]:
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _refuse_unknown_revisions(stored: set[str], scripts: ScriptDirectory) -> None:
    """Name the revisions Alembic would only call unlocatable: each is the head of a plugin's tables."""
    known = {script.revision for script in scripts.walk_revisions()}
    unknown = sorted(stored - known)
    if unknown:
        raise UnknownRevisions(
            f"the database has the tables of a plugin that is not loaded (revision {', '.join(unknown)}): turn it on "
            "or install it again; a plugin that has made its tables cannot be turned off"
        )
