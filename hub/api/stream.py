"""`GET /api/v1/stream`: newly stored events as Server-Sent Events, with the feed's filters.

Comments (`connected`, a `keep-alive` every 15 s) carry no `data:` line, which EventSource would dispatch as an
empty message. Each event goes with its id, which a browser's EventSource sends back as `Last-Event-ID` when it
reconnects; the events stored after it are replayed first (one committed late with a lower id, by another
process, is not). `last_event_id` in the query does the same for a client opening a new stream where an old one
left off (the web app closes a hidden tab's stream: a browser opens only 6 connections to a host over HTTP/1.1);
the header wins, as a browser sends it when it reconnects to the same URL. Without either, `since` replays the
events stored since that time the same way, so a reconnection carries on from the last id rather than replaying
from `since` again. Litestar ends the generator when the client goes away.

Each follow-up of a card the stream may list is told as a `timeline` message: the follow-up and its card's summary
now, for a client to update the card it shows (also when the follow-up is sent as an event itself, as searches and
alert filters list follow-ups: the card's summary changes all the same). These carry no id (see
_timeline_message); after a replay, each card that got follow-ups since the replay's start is told of once.

A stream outlives the request that opened it, so the caller's right to read is checked again every
RECHECK_SECONDS: a revoked key, an ended session or a membership taken away ends the stream, and a change of
what the caller may see narrows it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, get
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.params import FromQuery, Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.types import ASGIApp, Receive, Scope, Send

from hub.api.common import api_key, caller, hub_of, require
from hub.api.filters import SEVERITY_FILTER, TIME_FORMS, build_filter, query_time, refuse_unknown
from hub.auth import ApiKey
from hub.broadcast import Published
from hub.core import Hub
from hub.db.events import EventFilter, events_after, timeline_changes_after
from hub.ids import first_id_at, parse_event_id
from hub.models import EventOut, TimelineChange, ValidationProblem, now_utc
from hub.streamslots import Slot

KEEPALIVE_SECONDS = 15.0
RECHECK_SECONDS = 5.0
# A caller refused for holding too many streams asks again after this long (the web app's feed does, every 30 s).
STREAM_REFUSED_RETRY_AFTER = "30"
# Events replayed per query after `Last-Event-ID` (or from `since`), and the most replayed on one connection:
# further behind than that, the stream ends and the client's next reconnection carries on from where this one got to.
REPLAY_PAGE = 500
REPLAY_MAX = 10_000
# What the stream takes; any other parameter is refused (a misspelt filter would stream every event).
STREAM_PARAMS = ("project", "channel", "tag", "user_id", "severity", "since", "last_event_id", "test", "q")
# The feed's parameters that mean nothing on a stream, and why. Litestar ignores a query parameter a handler does
# not declare, so these are looked for by name: refused, rather than silently doing nothing.
FEED_ONLY = {
    "until": "which runs on as events come",
    "limit": "which has no pages",
    "cursor": "which has no pages (a reconnection resumes from `Last-Event-ID`)",
}


Refilter = Callable[[], Awaitable[EventFilter | None]]


async def event_messages(
    hub: Hub, f: EventFilter, last_id: int | None, refilter: Refilter
) -> AsyncGenerator[ServerSentEventMessage]:
    """`refilter` gives the filter as the caller's rights stand now, or None when they may no longer read."""
    async with hub.broadcaster.subscribe() as queue:  # before the replay, so nothing falls between the two
        start = first_id_at(now_utc()) - 1  # no event stored from now on is at or below it
        yield ServerSentEventMessage(comment="connected", retry=3000, data=None)
        replay_from, replayed, behind = last_id, 0, False
        while last_id is not None:
            async with hub.db.reader.connect() as conn:
                missed = await events_after(conn, hub.projects, f, last_id, REPLAY_PAGE)
            replayed += len(missed)
            for event in missed:
                if f.matches(event):  # `q`, which the query leaves out
                    yield _message(event)
            if not missed:
                break
            last_id = int(missed[-1].id)
            # An id alone moves the client's Last-Event-ID past what `q` left out, without an event.
            yield ServerSentEventMessage(id=last_id, data=None)
            if len(missed) < REPLAY_PAGE:
                break
            if replayed >= REPLAY_MAX:
                behind = True  # the stream ends once it has told the timelines, the next connection carries on
                break
        if replay_from is not None:
            async for message in _timelines_missed(hub, f, replay_from):
                yield message
        if behind:
            return
        # A live event at or below where the replay ended was replayed, or its client had it before reconnecting
        # (another process's events come about a second late, after newer ones): sent now, it would come twice.
        resume = None if last_id is None else min(last_id, start)  # a `since` ahead of the clock skips nothing
        # Where a client whose stream ends before it got an event carries on from (see the end of the loop).
        position = start if resume is None else resume
        checked = quiet_since = time.monotonic()
        while True:
            now = time.monotonic()
            wait = min(quiet_since + KEEPALIVE_SECONDS, checked + RECHECK_SECONDS) - now
            try:
                item: Published | None = await asyncio.wait_for(queue.get(), max(wait, 0))
                quiet_since, ended = time.monotonic(), item is None
            except TimeoutError:
                item, ended = None, False
            if ended:
                # Too far behind: the client reconnects and pages the gap from its Last-Event-ID, which this
                # sets for a client that got no event yet (else it would reconnect without one and skip the gap).
                yield ServerSentEventMessage(id=position, data=None)
                return
            if time.monotonic() - checked >= RECHECK_SECONDS:
                rechecked = await refilter()
                if rechecked is None:
                    return  # the caller may no longer read
                f, checked = rechecked, time.monotonic()
            if item is None:
                if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                    yield ServerSentEventMessage(comment="keep-alive", data=None)
                    quiet_since = time.monotonic()
            elif isinstance(item, TimelineChange):
                # Whatever its id: a summary told twice does no harm, and another process's follow-up comes late.
                if f.in_scope(item.event):
                    yield _timeline_message(item)
            elif f.matches(item) and (resume is None or int(item.id) > resume):
                position = int(item.id)
                yield _message(item)


async def _timelines_missed(hub: Hub, f: EventFilter, last_id: int) -> AsyncGenerator[ServerSentEventMessage]:
    """Each card that got follow-ups since `last_id`, told of once. After the replayed events, so that a client has
    the cards stored meanwhile when it hears of their follow-ups."""
    async with hub.db.reader.connect() as conn:
        changes = await timeline_changes_after(conn, hub.projects, f, last_id, REPLAY_MAX, REPLAY_PAGE)
    for change in changes:
        if f.in_scope(change.event):
            yield _timeline_message(change)


def _message(event: EventOut) -> ServerSentEventMessage:
    return ServerSentEventMessage(data=msgspec.json.encode(event).decode(), event="event", id=event.id)


def _timeline_message(change: TimelineChange) -> ServerSentEventMessage:
    """Without an id: `Last-Event-ID` tells which of the stream's own events the client has had, and a reconnection
    replays the ones after it. A follow-up it only tells of is not one of them, and its id, newer than an event
    another process stored a moment before (which reaches the stream about a second late), would skip that event."""
    return ServerSentEventMessage(data=msgspec.json.encode(change).decode(), event="timeline")


@get("/api/v1/stream", guards=[require("read")], tags=["read"], summary="Live events as Server-Sent Events")
async def stream(
    request: Request,
    project: FromQuery[str | None] = None,
    channel: FromQuery[str | None] = None,
    tag: Annotated[list[str] | None, Parameter(description="key:value, repeatable")] = None,
    user_id: FromQuery[str | None] = None,
    severity: Annotated[str | None, Parameter(description=SEVERITY_FILTER)] = None,
    since: Annotated[
        str | None,
        Parameter(description=f"replay the events stored since then first (unless `Last-Event-ID`): {TIME_FORMS}"),
    ] = None,
    last_event_id: Annotated[
        str | None, Parameter(description="replay the events stored after this id first (as `Last-Event-ID`)")
    ] = None,
    test: FromQuery[bool] = False,
    q: Annotated[str | None, Parameter(max_length=200)] = None,
) -> ServerSentEvent:
    """The matching events stored after `Last-Event-ID`, or else since `since`, oldest first; then each new one.
    `until`, `limit` and `cursor`, the feed's, answer 400."""
    refuse_feed_only(request)
    refuse_unknown(request, STREAM_PARAMS)
    hub = hub_of(request)

    async def filter_for(key: ApiKey) -> EventFilter:
        return await build_filter(
            hub,
            key,
            project=project,
            channel=channel,
            tag=tag,
            user_id=user_id,
            severity=severity,
            since=None,  # `since` sets where the replay starts (replay_after), and filters nothing
            until=None,
            test=test,
            q=q,
        )

    async def refilter() -> EventFilter | None:
        try:
            return await filter_for(await caller(request, "read"))
        except (NotAuthorizedException, PermissionDeniedException):
            return None

    resume_from = request.headers.get("last-event-id") or last_event_id or ""
    last_id = replay_after(resume_from, query_time(since, "since"))
    key = api_key(request)
    f = await filter_for(key)
    slot = hub.streams.take(key.id)
    if slot is None:
        who = "you have" if key.user_id else "this key has"
        raise HTTPException(
            status_code=429,
            detail=f"{who} {hub.streams.limit} streams open, the most allowed (stream.max_per_caller): close one first",
            headers={"Retry-After": STREAM_REFUSED_RETRY_AFTER},
        )
    return HeldStream(event_messages(hub, f, last_id, refilter), slot)


class HeldStream(ServerSentEvent):
    """An event stream that gives its caller's slot back as soon as its answer ends, however it ends: a client gone
    before the stream started, or an error, would otherwise leave the slot to the garbage collector."""

    def __init__(self, messages: AsyncGenerator[ServerSentEventMessage], slot: Slot) -> None:
        super().__init__(messages)
        self.slot = slot

    def to_asgi_response(self, *args: Any, **kwargs: Any) -> ASGIApp:  # type: ignore[override]
        answer, slot = super().to_asgi_response(*args, **kwargs), self.slot

        async def answer_holding_the_slot(scope: Scope, receive: Receive, send: Send) -> None:
            with slot:
                await answer(scope, receive, send)

        return answer_holding_the_slot


def refuse_feed_only(request: Request) -> None:
    for name, why in FEED_ONLY.items():
        if name in request.query_params:
            raise ValidationProblem(f"`{name}` is not taken by the stream, {why}; use GET /api/v1/events", name)


def replay_after(last_event_id: str, since: datetime | None) -> int | None:
    """The id the replay starts after: the client's last one when it reconnects (its URL still carries `since`),
    else the one just before `since`; None for no replay."""
    if (last_id := parse_event_id(last_event_id)) is not None:
        return last_id
    if since is None:
        return None
    return first_id_at(since) - 1
