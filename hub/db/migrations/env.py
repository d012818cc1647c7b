"""Alembic environment: migrations run on a connection the hub hands over (see hub/db/migrate.py)."""

from alembic import context

from hub.db.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
