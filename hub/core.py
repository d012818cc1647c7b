"""The running hub: settings plus the long-lived services every request handler, job and plugin shares."""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import msgspec

from hub.actions.runner import ActionRunner
from hub.actions.secrets import ActionSecrets
from hub.auth import KeyStore
from hub.background import BackgroundTasks
from hub.broadcast import Broadcaster
from hub.config import Settings
from hub.db.engine import Database
from hub.db.events import ProjectDirectory
from hub.db.migrate import UnknownRevisions, migrate
from hub.ingest import Draft, Ingestor, draft_from_input
from hub.loginguard import LoginGuard
from hub.models import EventIn, EventOut, without_nul
from hub.outbound import OutboundClient
from hub.outbox.worker import Outbox
from hub.people.store import People
from hub.pluginapi import HubContext, Job
from hub.plugins import PluginError, Plugins
from hub.ratelimit import RateLimiter
from hub.retention import retention_job
from hub.routing.book import RuleBook
from hub.routing.router import Router
from hub.scheduler import Scheduler
from hub.sessions import SWEEP_SECONDS, SessionStore
from hub.sources import SourceStore
from hub.streamslots import StreamSlots
from hub.tail import DatabaseTail

log = logging.getLogger(__name__)

# Longest dedupe key kept verbatim; longer ones are hashed to fit the idempotency column.
MAX_DEDUPE_KEY = 120


async def await_maybe(value: object) -> None:
    if inspect.isawaitable(value):
        await value


def _check_notifiers(settings: Settings, notifiers: Mapping[str, object]) -> None:
    """A config-file rule's `notifier` target must name a loaded notifier: else it would notify nobody."""
    for rule in settings.routes:
        for index, target in enumerate(rule.targets):
            if target.notifier and target.notifier not in notifiers:
                loaded = ", ".join(sorted(notifiers))
                raise PluginError(
                    f"[[routes]] {rule.name}: targets[{index}].notifier: no notifier `{target.notifier}` is loaded "
                    f"(loaded: {loaded})"
                )


class Hub:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.plugins = Plugins(settings)
        self.db = Database(settings.database.url, settings.database.pool_size)
        self.projects = ProjectDirectory(self.db)
        self.keys = KeyStore(self.db, self.projects, settings.auth.key_cache_seconds)
        self.sources = SourceStore(self.db, self.projects)
        self.people = People(self.db, self.projects)
        self.sessions = SessionStore(self.db, timedelta(days=settings.auth.session_days))
        self.login_guard = LoginGuard(settings.auth.login_attempts)
        self.ingestor = Ingestor(
            self.db,
            self.projects,
            max_rows_per_commit=settings.ingest.max_rows_per_commit,
            idempotency_window=timedelta(hours=settings.retention.idempotency_hours),
        )
        self.broadcaster = Broadcaster(self.db)
        self.context = HubContext(self)
        self.tail = DatabaseTail(self.db, self.projects, self.broadcaster)
        self.ingestor.listeners += [self.broadcaster.publish, self._tell_plugins]
        self.limiter = RateLimiter()
        self.streams = StreamSlots(settings.stream.max_per_caller)
        self.outbound = OutboundClient(
            allow=settings.outbound.allow,
            timeout=settings.outbound.timeout_seconds,
            max_response_bytes=settings.outbound.max_response_bytes,
            max_connections=settings.outbound.max_connections,
            max_connections_per_host=settings.outbound.max_connections_per_host,
        )
        _check_notifiers(settings, self.plugins.notifiers)
        self.rules = RuleBook(self.db, settings.routes, settings.delivery.rules_reload_seconds)
        self.router = Router(self.rules, self.projects)
        self.ingestor.transaction_hooks.append(self.router.route)
        self.outbox = Outbox(self, lambda: self.plugins.notifiers)
        self.action_secrets = ActionSecrets(
            self.db,
            self.projects,
            timedelta(hours=settings.actions.secret_grace_hours),
            configured=[a.project for a in settings.self_service_actions],
        )
        self.actions = ActionRunner(self)
        self.scheduler = Scheduler(self.context)
        self.scheduler.add(retention_job(settings.retention.interval_seconds))
        self.scheduler.add(Job("outbox", settings.delivery.interval_seconds, lambda _: self.outbox.drain()))
        self.scheduler.add(Job("sessions", SWEEP_SECONDS, lambda _: self.sessions.end_expired()))
        for job in self.plugins.jobs():
            self.scheduler.add(job)
        self._background = BackgroundTasks()

    def run_in_background(self, work: Coroutine[Any, Any, None]) -> None:
        """Start work a request has already answered for (a Slack click); `stop()` waits for it to finish."""
        self._background.add(work)

    async def wait_for_background(self) -> None:
        await self._background.wait()

    async def start(self, *, run_migrations: bool = True, run_jobs: bool | None = None) -> None:
        """Migrate, start the writer and the plugins, then the periodic jobs (unless `run_jobs` is False)."""
        if run_migrations:
            await self.migrate()  # which checks the database first
        else:
            await self.db.check()
        await self.db.start()
        await self.sources.sync_config(self.settings.sources)
        await self.ingestor.start()
        self.tail.start()
        for result in self.plugins.hook.startup(hub=self.context):
            await await_maybe(result)
        if self.settings.server.run_jobs if run_jobs is None else run_jobs:
            self.scheduler.start()

    async def migrate(self) -> None:
        await self.db.check()
        try:
            await migrate(self.db, self.plugins.migration_folders())
        except UnknownRevisions as exc:
            raise PluginError(str(exc)) from None

    async def stop(self) -> None:
        await self.scheduler.stop()
        await self.wait_for_background()  # bounded by the outbound client's timeouts
        await self.outbox.close()  # its sends in flight use the notifier plugins: before they shut down
        for result in self.plugins.hook.shutdown(hub=self.context):
            await await_maybe(result)
        await self.ingestor.stop()
        await self.tail.stop()
        await self.broadcaster.close()
        await self.outbound.aclose()
        await self.db.dispose()

    async def _tell_plugins(self, events: list[EventOut]) -> None:
        for result in self.plugins.hook.events_stored(hub=self.context, events=events):
            await await_maybe(result)

    def plugin_drafts(
        self,
        events: Sequence[EventIn],
        *,
        project: str | None,
        source: str,
        received_at: datetime,
        channel: str | None = None,
        dedupe_key: str | None = None,
        dedupe_window: timedelta | None = None,
        notify_backfilled: bool = False,
    ) -> list[Draft]:
        """Events a plugin made, held to the same rules as the HTTP API (raises msgspec.ValidationError).

        `project` wins over an event's own `project`, which is used only when `project` is None.
        """
        drafts = []
        for index, event in enumerate(events):
            checked = msgspec.convert(without_nul(msgspec.to_builtins(event)), EventIn)
            target = project or checked.project
            if not target:
                raise ValueError("an event from a plugin needs a project: pass `project`, or set the event's own")
            draft = draft_from_input(checked, project=target, source=source, received_at=received_at)
            if channel:
                draft.channel = channel.lower()
            if notify_backfilled:
                draft.backfill = False
                draft.notify = checked.notify and not checked.test
            if dedupe_key:
                key = dedupe_key if len(events) == 1 else f"{dedupe_key}#{index}"
                if len(key) > MAX_DEDUPE_KEY:
                    key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
                draft.idempotency_key = key
                draft.idempotency_window = dedupe_window
            drafts.append(draft)
        return drafts
