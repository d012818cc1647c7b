"""The Litestar application: routes, error handling, OpenAPI at /schema, and the hub's lifecycle."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.types import Scope
from sqlalchemy.exc import DBAPIError

from hub import __version__
from hub.api.actions import ActionSecretsController, EventActionsController, SelfServiceController
from hub.api.common import hub_of, screen_request
from hub.api.compat import compat_handlers
from hub.api.deliveries import DeliveriesController
from hub.api.devices import DevicesController
from hub.api.errors import BASELINE_HEADERS, RETRY_AFTER_SECONDS, exception_handlers
from hub.api.events import EventsController
from hub.api.hooks import receive_webhook
from hub.api.keys import KeysController
from hub.api.openapi import ApiReference, OpenAPIJSON
from hub.api.people import TeamsController, UsersController
from hub.api.projects import ProjectsController
from hub.api.routes import RoutesController
from hub.api.session import SessionController
from hub.api.slack import slack_interactivity
from hub.api.sources import SourcesController
from hub.api.stream import stream
from hub.config import Settings, load_settings
from hub.core import Hub
from hub.db.engine import error_line, unavailable_reason
from hub.pluginapi import HubContext, hub_context
from hub.webapp import web_routers

log = logging.getLogger(__name__)
# The largest body of a route that takes JSON the framework decodes: rules, people, a sign-in are a few KB.
MAX_DECODED_BODY_BYTES = 256 * 1024


HEALTH_TIMEOUT_SECONDS = 2.0


class Health(msgspec.Struct, omit_defaults=True):
    status: str  # ok, or unavailable
    version: str
    database: str
    reason: str | None = None  # why the database is unavailable


@get("/health", tags=["meta"], summary="200 when the hub and its database answer, 503 when the database does not")
async def health(request: Request) -> Response[Health]:
    """For uptime monitors and load balancers: a hub that cannot reach its database is down for its users."""
    db = hub_of(request).db
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            async with db.reader.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
    except (TimeoutError, DBAPIError, OSError) as exc:
        if isinstance(exc, TimeoutError):
            reason = "no answer in time"
        else:
            # The driver's words can name the database's host and address: the log has them, anyone can ask here.
            log.warning("/health: the database cannot be used: %s", unavailable_reason(exc) or error_line(exc))
            reason = "the database cannot be used (the hub's log says why)"
        body = Health(status="unavailable", version=__version__, database=db.dialect, reason=reason)
        return Response(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return Response(Health(status="ok", version=__version__, database=db.dialect))


def create_app(
    settings: Settings | None = None, *, run_migrations: bool = True, freeze_garbage: bool = False
) -> Litestar:
    """The hub as an ASGI app. `freeze_garbage` is for a server process, which makes one app and serves with it
    until it ends (see lifespan); a process that makes many (a test run) would pay a full collection for each,
    walking everything the earlier ones left (about a second each, late in a test run)."""
    hub = Hub(settings or load_settings())
    app = app_serving(hub.plugins.routes(), run_migrations=run_migrations, freeze_garbage=freeze_garbage)
    app.state.hub = hub
    return app


def plugin_hub(scope: Scope) -> HubContext:
    """The `hub` dependency plugin route handlers ask for (HTTP and websocket ones alike). Not `hub_context` itself:
    Litestar reads a dependency's annotations at run time, and pluginapi names Litestar's `Scope` for type checkers
    only (plugins import it without loading Litestar)."""
    return hub_context(scope)


def app_serving(plugin_routes: list[Any], *, run_migrations: bool = True, freeze_garbage: bool = False) -> Litestar:
    """The Litestar app, serving the hub it finds in `app.state.hub` (set before it starts). Nothing in it refers to
    a hub otherwise, so a test run lends one app to one test after another (hub.testing)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        hub: Hub = app.state.hub
        await hub.start(run_migrations=run_migrations)
        if freeze_garbage:
            # What start-up built (modules, routes, caches) lives as long as the process; frozen, it is no longer
            # walked by every full garbage collection, which under batch ingest cost 15 to 25% of the CPU.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            try:
                await hub.stop()
            finally:
                if freeze_garbage:
                    gc.unfreeze()

    return Litestar(
        route_handlers=[
            health,
            EventsController,
            ProjectsController,
            KeysController,
            SessionController,
            DevicesController,
            UsersController,
            TeamsController,
            RoutesController,
            DeliveriesController,
            EventActionsController,
            SelfServiceController,
            ActionSecretsController,
            slack_interactivity,
            SourcesController,
            receive_webhook,
            stream,
            *compat_handlers,
            *plugin_routes,
            *web_routers(),
        ],
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        before_request=screen_request,
        response_headers=[ResponseHeader(name=name, value=value) for name, value in BASELINE_HEADERS.items()],
        lifespan=[lifespan],
        # Plugin route handlers ask for `hub` and get the public HubContext.
        dependencies={"hub": Provide(plugin_hub, sync_to_thread=False)},
        # For the bodies Litestar decodes (sign-in, rules, people...); ingest and webhook routes read theirs
        # themselves, within their own settings.
        request_max_body_size=MAX_DECODED_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="hub",
            version=__version__,
            path="/schema",
            render_plugins=[ApiReference(), OpenAPIJSON()],
            description="Events, webhooks, heartbeats and notifications. Errors are `{message, field, status}`.",
        ),
        debug=False,
        # APScheduler logs every run of every job at INFO: two lines a second for the outbox alone. Its warnings
        # and the failures of jobs still show.
        logging_config=LoggingConfig(loggers={"apscheduler": {"level": "WARNING"}}),
    )


def create_app_from_environment() -> Litestar:
    """Entry point for `uvicorn --factory` in worker processes: settings come from HUB_CONFIG and HUB_* vars.

    Migrations already ran in the parent (`hub serve`) before the workers started.
    """
    return create_app(load_settings(), run_migrations=False, freeze_garbage=True)
