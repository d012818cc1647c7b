"""`GET /api/v1/stream`: newly stored events as Server-Sent Events, with the feed's filters.

Comments (`connected`, a `keep-alive` every 15 s) carry no `data:` line, which EventSource would dispatch as an
empty message. Each event goes with its id, which a browser's EventSource sends back as `Last-Event-ID` when it
reconnects; the events stored after it are replayed first (one committed late with a lower id, by another
process, is not). Litestar ends the generator when the client goes away.

A stream outlives the request that opened it, so the caller's right to read is checked again every
RECHECK_SECONDS: a revoked key, an ended session or a membership taken away ends the stream, and a change of
what the caller may see narrows it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Request, get
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.params import FromQuery, Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage

from hub.api.common import api_key, caller, hub_of, require
from hub.api.filters import SEVERITY_FILTER, build_filter
from hub.auth import ApiKey
from hub.core import Hub
from hub.db.events import EventFilter, events_after
from hub.ids import parse_event_id
from hub.models import EventOut

KEEPALIVE_SECONDS = 15.0
RECHECK_SECONDS = 5.0
# Events replayed per query after `Last-Event-ID`, and the most replayed on one connection: further behind than
# that, the stream ends and the client's next reconnection carries on from where this one got to.
REPLAY_PAGE = 500
REPLAY_MAX = 10_000


Refilter = Callable[[], Awaitable[EventFilter | None]]


async def event_messages(
    hub: Hub, f: EventFilter, last_id: int | None, refilter: Refilter
) -> AsyncGenerator[ServerSentEventMessage]:
    """`refilter` gives the filter as the caller's rights stand now, or None when they may no longer read."""
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
        checked = time.monotonic()
        while True:
            try:
                event: EventOut | None = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                quiet = False
            except TimeoutError:
                event, quiet = None, True
            if event is None and not quiet:
                return  # too far behind; the client reconnects and reloads
            if time.monotonic() - checked >= RECHECK_SECONDS:
                rechecked = await refilter()
                if rechecked is None:
                    return  # the caller may no longer read
                f, checked = rechecked, time.monotonic()
            if event is None:
                yield ServerSentEventMessage(comment="keep-alive", data=None)
            elif f.matches(event) and event.id not in replayed:
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
    severity: Annotated[str | None, Parameter(description=SEVERITY_FILTER)] = None,
    test: FromQuery[bool] = False,
    q: Annotated[str | None, Parameter(max_length=200)] = None,
) -> ServerSentEvent:
    hub = hub_of(request)
    since: datetime | None = None

    async def filter_for(key: ApiKey) -> EventFilter:
        return await build_filter(
            hub,
            key,
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

    async def refilter() -> EventFilter | None:
        try:
            return await filter_for(await caller(request, "read"))
        except (NotAuthorizedException, PermissionDeniedException):
            return None

    last_id = parse_event_id(request.headers.get("last-event-id", ""))
    return ServerSentEvent(event_messages(hub, await filter_for(api_key(request)), last_id, refilter))
