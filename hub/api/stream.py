"""`GET /api/v1/stream`: newly stored events as Server-Sent Events, with the feed's filters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Request, get
from litestar.params import FromQuery, Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from hub.api.common import api_key, hub_of, require
from hub.api.filters import build_filter
from hub.core import Hub
from hub.db.events import EventFilter

KEEPALIVE_SECONDS = 15.0


async def event_messages(hub: Hub, f: EventFilter, request: Request) -> AsyncGenerator[ServerSentEventMessage]:
    async with hub.broadcaster.subscribe() as queue:
        yield ServerSentEventMessage(comment="connected", retry=3000)
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            if event is None:  # too far behind; the client reconnects and reloads
                return
            if f.matches(event):
                yield ServerSentEventMessage(data=msgspec.json.encode(event).decode(), event="event", id=event.id)


@get("/api/v1/stream", guards=[require("read")], tags=["read"], summary="Live events as Server-Sent Events")
async def stream(
    request: Request,
    project: FromQuery[str | None] = None,
    channel: FromQuery[str | None] = None,
    tag: Annotated[list[str] | None, Parameter(description="key:value, repeatable")] = None,
    user_id: FromQuery[str | None] = None,
    severity: FromQuery[str | None] = None,
    test: FromQuery[bool] = False,
    q: Annotated[str | None, Parameter(max_length=200)] = None,
) -> ServerSentEvent:
    hub = hub_of(request)
    since: datetime | None = None
    f = await build_filter(
        hub,
        api_key(request),
        project=project,
        channel=channel,
        tag=tag,
        user_id=user_id,
        severity=severity,
        since=since,
        until=None,
        test=test,
        q=q,
    )
    return ServerSentEvent(event_messages(hub, f, request))
