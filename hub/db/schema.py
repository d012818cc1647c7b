"""The tables, as SQLAlchemy Core objects. Migrations in `migrations/versions` create exactly these.

Core rather than ORM: ingest writes thousands of rows per transaction with `executemany`, and the read path
builds keyset queries; neither needs identity maps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.sqlite import DATETIME as SQLITE_DATETIME
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# The events an alert filter (a severity filter without `info`) lists, as the condition of its partial indexes.
ALERTS = "severity <> 'info'"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class _SQLiteJSON(TypeDecorator[Any]):
    """JSON as SQLite text, but a document that is a bare number as a BLOB of the same text.

    A column declared JSON has NUMERIC affinity in SQLite, which stores text that reads as a number as that number:
    an event's `content` of `1.0` read back as `1`, and `123456789012345678901234567890` as `1.2345678901234568e+29`
    (so did an insight's value). Affinity leaves a BLOB alone, and it reads back through the same JSON decoding.
    """

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Any:
        serialize = super().bind_processor(dialect)
        assert serialize is not None  # JSON always has one: it writes the value as JSON text

        def process(value: Any) -> str | bytes | None:
            text = serialize(value)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return text.encode()
            return text

        return process


# PostgreSQL's `json`, not `jsonb`: jsonb keeps a number as `numeric`, whose text has no exponent and no negative
# zero, so the float 1.5e300 read back as a 301-digit integer (1e16 as 10000000000000000, -0.0 as 0.0), and it
# sorts an object's keys. `json` keeps the text msgspec wrote. The hub uses no jsonb operator or index on these
# columns (search reads them as text; tag filters use event_tags).
JsonValue = JSON().with_variant(_SQLiteJSON(), "sqlite")
# Event ids are 64-bit integers (see hub/ids.py); on SQLite the column must be spelled INTEGER PRIMARY KEY
# to be the table's rowid, which the FTS5 index points at.
EventId = BigInteger().with_variant(Integer(), "sqlite")


class _SQLiteText(SQLITE_DATETIME):
    """Naive datetimes as SQLite text, by the datetime module's C code rather than SQLAlchemy's Python formatting.

    The text is the same as SQLAlchemy's (`2026-03-29 01:30:00.000007`), so stored rows and comparisons are
    unchanged; it costs a third as much, and the ingest and ping writers convert several datetimes per row.
    """

    def bind_processor(self, dialect: Dialect) -> Any:
        def process(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat(" ", "microseconds")

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        def process(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value)

        return process


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both back ends (SQLite keeps no zone, so it is stored as naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        return _SQLiteText() if dialect.name == "sqlite" else dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, process_bind_param and _SQLiteText's processor in one call (keep the three in step): the
        writers convert several datetimes per row. Compared with SQLAlchemy's text in tests/hub/test_batch.py."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

channels = Table(
    "channels",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("event_count", Integer, nullable=False, server_default=text("0")),
    Column("last_event_at", UTCDateTime, nullable=True),
)

events = Table(
    "events",
    metadata,
    Column("id", EventId, primary_key=True, autoincrement=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("event", String(250), nullable=False),
    Column("description", Text, nullable=True),
    Column("parser", String(16), nullable=False),
    Column("icon", String(64), nullable=True),
    Column("notify", Boolean, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("tags", JsonValue, nullable=True),
    Column("content", JsonValue, nullable=True),
    Column("actions", JsonValue, nullable=True),
    Column("user_id", String(256), nullable=True),
    Column("context_id", String(128), nullable=True),
    Column("parent_id", EventId, nullable=True),
    Column("source", String(64), nullable=False),
    Column("test", Boolean, nullable=False),
    Column("idempotency_key", String(128), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    # Feed pages: top-level events (not context children) newest first, per filter.
    Index(
        "ix_events_feed",
        "test",
        "created_at",
        "id",
        postgresql_where=text("parent_id IS NULL"),
        sqlite_where=text("parent_id IS NULL"),
    ),
    Index(
        "ix_events_project_feed",
        "project_id",
        "test",
        "created_at",
        "id",
        postgresql_where=text("parent_id IS NULL"),
        sqlite_where=text("parent_id IS NULL"),
    ),
    Index(
        "ix_events_channel_feed",
        "project_id",
        "channel",
        "test",
        "created_at",
        "id",
        postgresql_where=text("parent_id IS NULL"),
        sqlite_where=text("parent_id IS NULL"),
    ),
    Index(
        "ix_events_any_project_channel_feed",
        "channel",
        "test",
        "created_at",
        "id",
        postgresql_where=text("parent_id IS NULL"),
        sqlite_where=text("parent_id IS NULL"),
    ),
    # `severity=warning,critical` lists context children too: its own indexes, which hold only those events.
    Index(
        "ix_events_alerts_feed", "test", "created_at", "id", postgresql_where=text(ALERTS), sqlite_where=text(ALERTS)
    ),
    Index(
        "ix_events_alerts_project_feed",
        "project_id",
        "test",
        "created_at",
        "id",
        postgresql_where=text(ALERTS),
        sqlite_where=text(ALERTS),
    ),
    Index(
        "ix_events_user",
        "user_id",
        "created_at",
        postgresql_where=text("user_id IS NOT NULL"),
        sqlite_where=text("user_id IS NOT NULL"),
    ),
    Index(
        "ix_events_parent",
        "parent_id",
        "created_at",
        postgresql_where=text("parent_id IS NOT NULL"),
        sqlite_where=text("parent_id IS NOT NULL"),
    ),
    # Test events are kept apart: a key a test event holds does not answer a real event, nor the reverse.
    Index(
        "ix_events_idempotency",
        "project_id",
        "test",
        "idempotency_key",
        unique=True,
        postgresql_where=text("idempotency_key IS NOT NULL"),
        sqlite_where=text("idempotency_key IS NOT NULL"),
    ),
    Index("ix_events_received", "received_at"),
)

event_tags = Table(
    "event_tags",
    metadata,
    Column("event_id", EventId, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("value", String(1024), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_event_tags_lookup", "key", "value", "created_at", "event_id"),
)

contexts = Table(
    "contexts",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    # Test events have timelines of their own: a real event never hangs under a test card, nor the reverse.
    Column("test", Boolean, primary_key=True),
    Column("context_id", String(128), primary_key=True),
    Column("parent_event_id", EventId, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("scopes", String(128), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=True),
    Column("rate_limit", Float, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)

insights = Table(
    "insights",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("title", String(128), primary_key=True),
    Column("value", JsonValue, nullable=False),
    Column("icon", String(64), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

identities = Table(
    "identities",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(256), primary_key=True),
    Column("group_id", String(256), primary_key=True, server_default=text("''")),
    Column("properties", JsonValue, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

sources = Table(
    "sources",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("plugin", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(64), nullable=True),
    # Kept as given: verifying an HMAC needs the secret itself, not a hash of it.
    Column("secrets", JsonValue, nullable=False),
    Column("managed_by", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("plugin", "name"),
)

# People (hub/people): users, teams, who belongs to which project, and each user's push devices.
users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("email", String(254), nullable=False, unique=True),  # stored lower-cased
    Column("name", String(128), nullable=False),
    # Set by the web app's sign-in; people who only receive notifications have none.
    Column("password_hash", String(256), nullable=True),
    Column("role", String(16), nullable=False),  # admin, member, viewer
    Column("timezone", String(64), nullable=False),
    Column("quiet_start", String(5), nullable=True),  # "22:00", local time
    Column("quiet_end", String(5), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

teams = Table(
    "teams",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

team_members = Table(
    "team_members",
    metadata,
    Column("team_id", String(32), ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_team_members_user_id", "user_id"),
)

project_members = Table(
    "project_members",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Index("ix_project_members_user_id", "user_id"),
)

push_subscriptions = Table(
    "push_subscriptions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("endpoint", String(2048), nullable=False, unique=True),
    Column("p256dh", String(256), nullable=False),
    Column("auth", String(64), nullable=False),
    Column("user_agent", String(256), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # The web app session that registered the device (hub/sessions.py), which takes it along when it ends; NULL for
    # one an admin registered, or one registered before devices had a session (migration web_0002).
    Column("session_id", String(64), ForeignKey("sessions.id", ondelete="CASCADE"), nullable=True),
    Index("ix_push_subscriptions_user_id", "user_id"),
    Index("ix_push_subscriptions_session_id", "session_id"),
)

# Routing and the outbox (hub/routing, hub/outbox).
routing_rules = Table(
    "routing_rules",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("definition", JsonValue, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("rule", String(64), nullable=False),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", EventId, ForeignKey("events.id", ondelete="CASCADE"), nullable=False),
    Column("last_event_id", EventId, nullable=False),
    Column("event_count", Integer, nullable=False),
    Column("group_key", String(512), nullable=True),
    Column("fingerprint", String(64), nullable=True),
    # Events of the same group arriving before this instant join this notification's follow-up.
    Column("window_ends_at", UTCDateTime, nullable=True),
    # Set on a follow-up: the notification that opened its group's window (no foreign key, see migration 0011).
    Column("follows_id", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_notifications_group", "rule", "group_key", "window_ends_at"),
    Index("ix_notifications_fingerprint", "rule", "fingerprint", "created_at"),
    Index("ix_notifications_event_id", "event_id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("notification_id", BigInteger, ForeignKey("notifications.id", ondelete="CASCADE"), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("notifier", String(32), nullable=False),  # webpush, email, slack (a notifier plugin's name)
    Column("address", String(2048), nullable=False),  # subscription id, email address, webhook URL
    Column("user_id", String(32), nullable=True),
    # pending, held (quiet hours), sending, delivered, failed, dead, suppressed
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("budget_from", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("last_status", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("digest_id", BigInteger, nullable=True),  # the delivery that carried this one in a digest
    Index("ix_deliveries_due", "state", "next_attempt_at"),
    Index("ix_deliveries_target", "rule", "address", "created_at"),
    Index("ix_deliveries_notification_id", "notification_id"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered, retry, failed, gone
    Column("http_status", Integer, nullable=True),
    Column("latency_ms", Float, nullable=False),
    Column("response", Text, nullable=True),  # truncated
    Index("ix_delivery_attempts_delivery_id", "delivery_id", "attempted_at"),
)

# Small named secrets the hub makes itself and must keep (the VAPID key pair).
hub_secrets = Table(
    "hub_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Slack interactivity requests the hub acted on (hub/api/slack.py), by a digest of Slack's signature: a signed
# request sent again within the five minutes its timestamp is accepted is a replay, and ignored. Kept 10 minutes.
slack_requests = Table(
    "slack_requests",
    metadata,
    Column("signature_digest", String(64), primary_key=True),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_slack_requests_received_at", "received_at"),
)

# The card a Slack run form was opened from (hub/api/slack.py), as Slack showed it: the form's submission carries
# only this row's id, and the run updates the card through Slack's `response_url`, which takes the whole card.
# Kept 30 minutes, as long as Slack accepts a `response_url`.
slack_forms = Table(
    "slack_forms",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("card", Text, nullable=False),  # JSON: the message's `text` and `blocks`
    Column("opened_at", UTCDateTime, nullable=False),
    Index("ix_slack_forms_opened_at", "opened_at"),
)

# Actions (hub/actions): each project's signing secret, and every run of a button or self-service action.
action_secrets = Table(
    "action_secrets",
    metadata,
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
    # Kept as given: signing needs the secret itself.
    Column("secret", String(128), nullable=False),
    Column("previous_secret", String(128), nullable=True),
    Column("rotated_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

RUNNING_BUTTON = "status = 'running' AND event_id IS NOT NULL"
RUNNING_SELF_SERVICE = "status = 'running' AND event_id IS NULL"

action_runs = Table(
    "action_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
    Column("event_id", EventId, ForeignKey("events.id", ondelete="CASCADE"), nullable=True),
    Column("action", String(64), nullable=False),  # the button's key, or the self-service action's name
    Column("actor", JsonValue, nullable=False),
    Column("inputs", JsonValue, nullable=True),
    Column("status", String(16), nullable=False),  # running, done, failed
    Column("http_status", Integer, nullable=True),
    Column("latency_ms", Float, nullable=True),
    Column("response", Text, nullable=True),  # truncated
    Column("message", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_action_runs_event", "event_id", "created_at"),
    Index("ix_action_runs_action", "action", "created_at"),
    # One running run per event button, and per self-service action: a second click meanwhile is refused.
    Index(
        "ix_action_runs_running_button",
        "event_id",
        "action",
        unique=True,
        postgresql_where=text(RUNNING_BUTTON),
        sqlite_where=text(RUNNING_BUTTON),
    ),
    Index(
        "ix_action_runs_running_self_service",
        "project_id",
        "action",
        unique=True,
        postgresql_where=text(RUNNING_SELF_SERVICE),
        sqlite_where=text(RUNNING_SELF_SERVICE),
    ),
)
