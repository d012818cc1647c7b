"""`GET /api/v1/stream`: newly stored events as Server-Sent Events, with the feed's filters.

Comments (`connected`, a `keep-alive` every 15 s) carry no `data:` line, which EventSource would dispatch as an
empty message. Each event goes with its id, which a browser's EventSource sends back as `Last-Event-ID` when it
reconnects; the events stored after it are replayed first (one committed late with a lower id, by another
process, is not). Litestar ends the generator when the client goes away.
"""

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
from hub.db.events import EventFilter, events_after
from hub.ids import parse_event_id
from hub.models import EventOut

KEEPALIVE_SECONDS = 15.0
# Events replayed per query after `Last-Event-ID`, and the most replayed on one connection: further behind than
# that, the stream ends and the client's next reconnection carries on from where this one got to.
REPLAY_PAGE = 500
REPLAY_MAX = 10_000


async def event_messages(hub: Hub, f: EventFilter, last_id: int | None) -> AsyncGenerator[ServerSentEventMessage]:
    async with hub.broadcaster.subscribe() as queue:  # before the replay, so nothing falls between the two
        yield ServerSentEventMessage(comment="connected", retry=3000, data=None)
        replayed: set[str] = set()
        while last_id is not None:
            async with hub.db.reader.connect() as conn:
                missed = await events_after(conn, hub.projects, f, last_id, REPLAY_PAGE)
            for event in missed:
                replayed.add(event.id)
                if f.matches(event):  # `q`, which the query leaves out
                    yield _message(event)
            if not missed:
                break
            last_id = int(missed[-1].id)
            # An id alone moves the client's Last-Event-ID past what `q` left out, without an event.
            yield ServerSentEventMessage(id=last_id, data=None)
            if len(missed) < REPLAY_PAGE:
                break
            if len(replayed) >= REPLAY_MAX:
                return
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ServerSentEventMessage(comment="keep-alive", data=None)
                continue
            if event is None:  # too far behind; the client reconnects and reloads
                return
            if f.matches(event) and event.id not in replayed:
                yield _message(event)


def _message(event: EventOut) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=msgspec.json.encode(event).decode(), event="event", id=event.id)


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
    last_id = parse_event_id(request.headers.get("last-event-id", ""))
    return ServerSentEvent(event_messages(hub, f, last_id))
