"""The heartbeat plugin's tables (SQLAlchemy Core). `migrations/` creates exactly these.

Projects are referred to by slug, not by the core's project ids: the plugin stores its own rows and hands
events to the hub by project slug, so it needs nothing from the core's tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
)

from hub.pluginapi import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
RowId = BigInteger().with_variant(Integer(), "sqlite")

# Per project: the key in slug ping URLs (/ping/{ping_key}/{slug}) and the key in badge URLs.
projects = Table(
    "heartbeat_projects",
    metadata,
    Column("project", String(64), primary_key=True),
    Column("ping_key", String(32), nullable=False, unique=True),
    Column("badge_key", String(32), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

checks = Table(
    "heartbeat_checks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    # The check's public id, for callers that may read it but not ping it (its UUID is in its ping URL). Nullable
    # because SQLite cannot add a NOT NULL column in place; a check an older process made during a rolling upgrade
    # lacks one until store.give_keys runs (on start and hourly).
    Column("unique_key", String(32), nullable=True),
    Column("project", String(64), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("name", String(128), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("period", Integer, nullable=True),
    Column("cron", String(100), nullable=True),
    Column("tz", String(64), nullable=False),
    Column("grace", Integer, nullable=False),
    # As in Healthchecks: a paused check stays paused when pinged (its pings are stored as `ign`) until resumed.
    Column("manual_resume", Boolean, nullable=False, server_default=text("false")),
    # As in Healthchecks: `POST` when only POST requests count as pings (a link previewer's GET would), else ''.
    Column("methods", String(8), nullable=False, server_default=text("''")),
    # Where the check was declared: api, config (kept in step with the config file) or ping (?create=1).
    Column("origin", String(8), nullable=False),
    Column("status", String(8), nullable=False),
    Column("last_ping_at", UTCDateTime, nullable=True),
    Column("last_start_at", UTCDateTime, nullable=True),
    Column("last_start_rid", String(36), nullable=True),
    Column("down_since", UTCDateTime, nullable=True),
    Column("expected_at", UTCDateTime, nullable=True),
    Column("alert_after", UTCDateTime, nullable=True),
    Column("n_pings", Integer, nullable=False, server_default=text("0")),
    Column("last_duration", Float, nullable=True),  # seconds
    Column("created_at", UTCDateTime, nullable=False),
    Index("uq_heartbeat_checks_project_slug", "project", "slug", unique=True),
    Index("uq_heartbeat_checks_unique_key", "unique_key", unique=True),
    # The scan reads only checks with a deadline, in deadline order.
    Index(
        "ix_heartbeat_checks_alert_after",
        "alert_after",
        postgresql_where=text("alert_after IS NOT NULL"),
        sqlite_where=text("alert_after IS NOT NULL"),
    ),
)

pings = Table(
    "heartbeat_pings",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("check_id", Integer, ForeignKey("heartbeat_checks.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("kind", String(8), nullable=False),
    Column("exit_status", SmallInteger, nullable=True),
    Column("rid", String(36), nullable=True),
    Column("method", String(8), nullable=False),
    Column("remote_addr", String(64), nullable=True),
    Column("user_agent", String(256), nullable=True),
    Column("body", Text, nullable=True),
    # Bytes received; more than were kept when the body was cut at the limit.
    Column("body_size", Integer, nullable=False, server_default=text("0")),
    Column("body_truncated", Boolean, nullable=False, server_default=text("false")),
    Column("duration", Float, nullable=True),
    Index("ix_heartbeat_pings_history", "check_id", "created_at", "id"),
    Index("ix_heartbeat_pings_created_at", "created_at"),
)

flips = Table(
    "heartbeat_flips",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("check_id", Integer, ForeignKey("heartbeat_checks.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("old_status", String(8), nullable=False),
    Column("new_status", String(8), nullable=False),
    Column("reason", String(16), nullable=False),
    # On a flip back up from down: how long the outage lasted.
    Column("outage", Float, nullable=True),
    Index("ix_heartbeat_flips_history", "check_id", "created_at", "id"),
)
