"""The Litestar application: routes, error handling, OpenAPI at /schema, and the hub's lifecycle."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar, Request, get
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin

from hub import __version__
from hub.api.actions import ActionSecretsController, EventActionsController, SelfServiceController
from hub.api.common import hub_of, screen_request
from hub.api.compat import compat_handlers
from hub.api.deliveries import DeliveriesController
from hub.api.devices import DevicesController
from hub.api.errors import BASELINE_HEADERS, exception_handlers
from hub.api.events import EventsController
from hub.api.hooks import receive_webhook
from hub.api.keys import KeysController
from hub.api.openapi import OpenAPIJSON
from hub.api.people import TeamsController, UsersController
from hub.api.projects import ProjectsController
from hub.api.routes import RoutesController
from hub.api.session import SessionController
from hub.api.slack import slack_interactivity
from hub.api.sources import SourcesController
from hub.api.stream import stream
from hub.config import Settings, load_settings
from hub.core import Hub
from hub.webapp import web_routers

log = logging.getLogger(__name__)
SCALAR_VERSION = "1.76.4"  # the API reference page's script, from jsDelivr (checked on the npm registry)


class Health(msgspec.Struct):
    status: str
    version: str
    database: str


@get("/health", tags=["meta"], summary="Liveness and the database back end in use")
async def health(request: Request) -> Health:
    return Health(status="ok", version=__version__, database=hub_of(request).db.dialect)


def create_app(settings: Settings | None = None, *, run_migrations: bool = True) -> Litestar:
    settings = settings or load_settings()
    hub = Hub(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await hub.start(run_migrations=run_migrations)
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
                gc.unfreeze()  # collectable again, for a process (a test run) that makes many hubs

    app = Litestar(
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
            *hub.plugins.routes(),
            *web_routers(),
        ],
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        before_request=screen_request,
        response_headers=[ResponseHeader(name=name, value=value) for name, value in BASELINE_HEADERS.items()],
        lifespan=[lifespan],
        # Plugin route handlers ask for `hub` and get the public HubContext.
        dependencies={"hub": Provide(lambda: hub.context, sync_to_thread=False)},
        request_max_body_size=max(
            settings.ingest.max_body_bytes, settings.ingest.max_batch_body_bytes, settings.webhooks.max_body_bytes
        ),
        openapi_config=OpenAPIConfig(
            title="hub",
            version=__version__,
            path="/schema",
            # A pinned release from the CDN, not `latest`: the page runs it on the hub's own origin.
            render_plugins=[ScalarRenderPlugin(version=SCALAR_VERSION), OpenAPIJSON()],
            description="Events, webhooks, heartbeats and notifications. Errors are `{message, field, status}`.",
        ),
        debug=False,
        # APScheduler logs every run of every job at INFO: two lines a second for the outbox alone. Its warnings
        # and the failures of jobs still show.
        logging_config=LoggingConfig(loggers={"apscheduler": {"level": "WARNING"}}),
    )
    app.state.hub = hub
    return app


def create_app_from_environment() -> Litestar:
    """Entry point for `uvicorn --factory` in worker processes: settings come from HUB_CONFIG and HUB_* vars.

    Migrations already ran in the parent (`hub serve`) before the workers started.
    """
    return create_app(load_settings(), run_migrations=False)
