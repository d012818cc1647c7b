"""Bring the database up to the newest schema, core and plugins; called on every start, safe with several processes.

The core's revisions and each plugin's (see the `register_migrations` hook) are separate Alembic branches;
all of them are upgraded to their heads.
"""

from __future__ import annotations

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
        config = alembic_config(connection, plugin_folders)
        _refuse_unknown_revisions(connection, config)
        command.upgrade(config, "heads")

    async with db.writer.begin() as conn:
        if not db.is_sqlite:
            # Two processes starting together must not both create the tables.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        await conn.run_sync(upgrade)


def _refuse_unknown_revisions(connection: Connection, config: Config) -> None:
    """Name the revisions Alembic would only call unlocatable: each is the head of a plugin's tables."""
    if not inspect(connection).has_table("alembic_version"):
        return
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    stored = connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
    unknown = sorted(set(stored) - known)
    if unknown:
        raise UnknownRevisions(
            f"the database has the tables of a plugin that is not loaded (revision {', '.join(unknown)}): turn it on "
            "or install it again; a plugin that has made its tables cannot be turned off"
        )
