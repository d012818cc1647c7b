"""Alembic revisions for the heartbeat tables (a branch of their own, labelled `heartbeat`)."""
