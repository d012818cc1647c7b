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
from sqlalchemy import Connection, text

from hub.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same in every hub process.
PG_MIGRATION_LOCK = 7_273_101


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
        command.upgrade(alembic_config(connection, plugin_folders), "heads")

    async with db.writer.begin() as conn:
        if not db.is_sqlite:
            # Two processes starting together must not both create the tables.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK})
        await conn.run_sync(upgrade)
