"""Everything a plugin may use: the types its hooks take and return, and the hub facade it is handed.

Plugins import from here (and `hub.hookspecs` for `hookimpl`), never from other hub modules, so the hub's
insides can change without breaking them.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from hub.breaker import Breaker, Destination
from hub.hookspecs import hookimpl
from hub.markdown import ListMarkers, markdown_parser, parse_markdown, plain_text, safe_link
from hub.models import (
    MAX_JSON_DEPTH,
    SLUG_PATTERN,
    ActionIn,
    ActionOut,
    EventIn,
    EventOut,
    StoredResult,
    ValidationProblem,
    hub_url_problem,
    nests_deeper_than,
    now_utc,
    plain_patterns,
    slug_or_hash,
    slugify,
    tag_text,
    time_zone,
)
from hub.outbound import BlockedAddress, HostNotAnswering, OutboundClient, OutboundResponse, ResponseTooLarge
from hub.outbox.notifier import Message, Notifier, Outcome, Recipient, parse_retry_after

if TYPE_CHECKING:
    from litestar.types import Scope
    from sqlalchemy.ext.asyncio import AsyncConnection

    from hub.api.common import api_key
    from hub.api.common import require as require_scope
    from hub.api.filters import refuse_unknown
    from hub.auth import ApiKey
    from hub.config import Settings
    from hub.core import Hub
    from hub.db.batch import Batch, inserting, run_together
    from hub.db.dialect import insert_ignore, upsert
    from hub.db.engine import Database
    from hub.db.events import decode_cursor, encode_cursor
    from hub.db.schema import JsonValue, UTCDateTime

# Imported on first use, as the names above for type checkers: they load SQLAlchemy and Litestar (0.4 s), which
# the `hub` commands that neither open the database nor serve HTTP (`hub run` in every cron job, `hub send`,
# `--help`) should not wait for. A plugin's modules that use them are imported by its hooks, when they run.
_ON_FIRST_USE = {
    "api_key": ("hub.api.common", "api_key"),
    "require_scope": ("hub.api.common", "require"),
    "refuse_unknown": ("hub.api.filters", "refuse_unknown"),
    "ApiKey": ("hub.auth", "ApiKey"),
    "Batch": ("hub.db.batch", "Batch"),
    "inserting": ("hub.db.batch", "inserting"),
    "run_together": ("hub.db.batch", "run_together"),
    "insert_ignore": ("hub.db.dialect", "insert_ignore"),
    "upsert": ("hub.db.dialect", "upsert"),
    "Database": ("hub.db.engine", "Database"),
    "decode_cursor": ("hub.db.events", "decode_cursor"),
    "encode_cursor": ("hub.db.events", "encode_cursor"),
    "JsonValue": ("hub.db.schema", "JsonValue"),
    "UTCDateTime": ("hub.db.schema", "UTCDateTime"),
}


def __getattr__(name: str) -> Any:
    if name not in _ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _ON_FIRST_USE[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # asked once
    return value


__all__ = [
    "MAX_JSON_DEPTH",
    "SLUG_PATTERN",
    "ActionIn",
    "ActionOut",
    "ApiKey",
    "Batch",
    "BlockedAddress",
    "Breaker",
    "Database",
    "Delivery",
    "Destination",
    "EventIn",
    "EventOut",
    "HostNotAnswering",
    "HubContext",
    "Job",
    "JsonValue",
    "ListMarkers",
    "Message",
    "Notifier",
    "OutboundClient",
    "OutboundResponse",
    "Outcome",
    "PluginSettings",
    "Recipient",
    "Rejected",
    "ResponseTooLarge",
    "Source",
    "StoredResult",
    "UTCDateTime",
    "ValidationProblem",
    "WebhookRequest",
    "api_key",
    "decode_cursor",
    "encode_cursor",
    "hookimpl",
    "hub_context",
    "hub_url_problem",
    "insert_ignore",
    "inserting",
    "markdown_parser",
    "mrkdwn_escape",
    "nests_deeper_than",
    "now_utc",
    "parse_markdown",
    "parse_retry_after",
    "plain_patterns",
    "plain_text",
    "refuse_unknown",
    "require_scope",
    "run_together",
    "safe_link",
    "slug_or_hash",
    "slugify",
    "tag_text",
    "time_zone",
    "truncate",
    "upsert",
]


class PluginSettings(msgspec.Struct, frozen=True):
    """What `register_settings` returns: the plugin's name and the Struct that validates its config table."""

    name: str
    struct: type


class Rejected(Exception):
    """Raised by `Source.verify` or `Source.parse` to refuse a delivery with a 4xx status and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class WebhookRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One inbound delivery, as the source's `verify` and `parse` see it. Header names are lower-case."""

    plugin: str
    source: str
    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    received_at: datetime
    settings: Any = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def json(self) -> Any:
        """The body parsed as JSON; a body that is not JSON is refused with 400."""
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError as exc:
            raise Rejected(400, f"the body is not valid JSON: {exc}") from None
        except RecursionError:
            raise Rejected(400, "the body is not valid JSON: nested too deeply") from None


class Delivery(msgspec.Struct, kw_only=True):
    """What `Source.parse` returns.

    `delivery_id` is the sender's id for this delivery (Stripe's event id, GitHub's `X-GitHub-Delivery`); a
    second delivery with the same id within the de-duplication window stores nothing. `events` may be empty
    (a delivery that is only acknowledged). `reply` is sent back as the JSON answer when set.
    """

    delivery_id: str | None
    events: list[EventIn]
    reply: Any = None


class Source(Protocol):
    """A webhook source type provided by a plugin (see `register_sources`)."""

    name: str

    def verify(self, request: WebhookRequest, secrets: Sequence[str]) -> None:
        """Check the signature against any of the source's secrets; raise `Rejected` (400/401) if none match."""

    def parse(self, request: WebhookRequest) -> Delivery:
        """Turn a verified delivery into events. Unknown event types must still give a readable event."""


class Job(msgspec.Struct, frozen=True):
    """A periodic task from `register_jobs`: `func(hub)` runs every `seconds`, never twice at once."""

    name: str
    seconds: float
    func: Callable[[HubContext], Awaitable[Any]]


def truncate(text: str | None, limit: int) -> str | None:
    """Shorten text to `limit` characters with an ellipsis, for titles and descriptions built from payloads."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def mrkdwn_escape(text: str) -> str:
    """Text for Slack's mrkdwn, where &, < and > are control characters: text from people, payloads and action
    servers cannot mention (`<!channel>`) or link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hub_context(scope: Scope) -> HubContext:
    """The hub serving a request, for a handler that is given no dependencies (an `@asgi` one): other handlers ask
    for `hub: NamedDependency[HubContext]`, which is this."""
    return scope["app"].state.hub.context


class HubContext:
    """The hub as plugins see it: settings, the database, and the one way to store events."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        # A plugin's own per-hub objects (its services, caches), under its name: they go with this hub, where a
        # mapping kept in the plugin's module would keep every hub a process makes (a test run) alive.
        self.state: dict[str, Any] = {}

    @property
    def db(self) -> Database:
        """Reader and writer engines (`db.reader`, `db.writer`) for the plugin's own tables."""
        return self._hub.db

    @property
    def settings(self) -> Settings:
        """The hub's own settings (read-only by convention)."""
        return self._hub.settings

    @property
    def outbound(self) -> OutboundClient:
        """The guarded HTTP client every request to a user-supplied URL must go through."""
        return self._hub.outbound

    async def push_subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """A registered browser as pywebpush takes it (`{"endpoint", "keys": {"p256dh", "auth"}}`), or None."""
        return await self._hub.people.subscription(subscription_id)

    async def remove_push_subscription(self, subscription_id: str) -> None:
        """Forget a browser the push service says is gone (404/410)."""
        await self._hub.people.remove_subscription(subscription_id)

    async def keep_secret(self, name: str, make: Callable[[], str]) -> str:
        """A secret the hub keeps for the plugin: the stored one, or `make()` stored now (first process wins)."""
        from hub.secretstore import keep_secret

        return await keep_secret(self._hub.db, name, make)

    async def projects_of(self, key: ApiKey) -> frozenset[str] | None:
        """The slugs of the projects a caller may read and manage, or None for every project: a key's bound
        project, or a signed-in member's projects. A plugin's own API answers within these, as the hub's does."""
        if key.project is not None:
            return frozenset([key.project])
        if key.project_ids is None:
            return None
        async with self._hub.db.reader.connect() as conn:
            return frozenset([await self._hub.projects.slug(conn, project_id) for project_id in key.project_ids])

    @property
    def public_url(self) -> str:
        return self._hub.settings.public_url

    def plugin_settings(self, name: str) -> Any:
        """The validated settings Struct of plugin `name` (see `register_settings`)."""
        return self._hub.plugins.settings[name]

    async def ingest(
        self,
        events: Sequence[EventIn],
        *,
        project: str,
        source: str,
        channel: str | None = None,
        dedupe_key: str | None = None,
        dedupe_window: timedelta | None = None,
        received_at: datetime | None = None,
        notify_backfilled: bool = False,
    ) -> list[StoredResult]:
        """Validate and store events exactly as the HTTP API would, and return them once committed.

        `dedupe_key` makes the call idempotent: a repeat with the same key in the same project within
        `dedupe_window` stores nothing and returns the original events. `notify_backfilled` keeps `notify`
        on events whose timestamp is long before `received_at` (an alert found late is still an alert).
        """
        drafts = self._hub.plugin_drafts(
            events,
            project=project,
            source=source,
            channel=channel,
            dedupe_key=dedupe_key,
            dedupe_window=dedupe_window,
            received_at=received_at or now_utc(),
            notify_backfilled=notify_backfilled,
        )
        return await self._hub.ingestor.store(drafts) if drafts else []

    async def ingest_within(
        self,
        conn: AsyncConnection,
        events: Sequence[EventIn],
        *,
        project: str | None = None,
        source: str,
        channel: str | None = None,
        received_at: datetime | None = None,
        notify_backfilled: bool = False,
    ) -> list[StoredResult]:
        """Like `ingest`, but inside the plugin's own `hub.db.writer.begin()` transaction.

        The events (and the notifications routing makes for them) commit exactly when the plugin's own rows
        do, or not at all: a check's state change and its event cannot come apart in a crash. After the
        transaction has committed, pass the results to `announce()` for the live feed and other plugins.
        With `project` None, each event goes to the project it names: one call can serve many projects.
        """
        drafts = self._hub.plugin_drafts(
            events,
            project=project,
            source=source,
            channel=channel,
            received_at=received_at or now_utc(),
            notify_backfilled=notify_backfilled,
        )
        return await self._hub.ingestor.store_within(conn, drafts) if drafts else []

    async def announce(self, results: Sequence[StoredResult]) -> None:
        """Publish events committed through `ingest_within()`."""
        await self._hub.ingestor.announce(results)
