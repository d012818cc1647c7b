"""Events: store one (`POST /api/v1/events`) or a batch, list them with filters, read one with its context."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, Parameter

from hub.api.common import api_key, authorize, decode, has_nul, hub_of, nul_problem, project_for, read_body, require
from hub.api.errors import ErrorBody, describe_validation, refused_field
from hub.api.filters import SEVERITY_FILTER, TIME_FORMS, build_filter, refuse_unknown
from hub.api.openapi import json_body
from hub.db.events import MAX_PAGE, decode_cursor, get_children, get_event, list_events, with_timelines
from hub.ids import parse_event_id
from hub.ingest import Draft, draft_from_input
from hub.models import EventIn, EventOut, FeedEvent, ValidationProblem, now_utc


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    events: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1)]


class BatchBody(msgspec.Struct):
    """BatchIn as documented: the items are decoded one by one, each answered on its own."""

    events: Annotated[
        list[EventIn], msgspec.Meta(min_length=1, description="up to `ingest.max_batch_events` (default 1,000)")
    ]


INGEST_ERRORS = [ValidationException, NotAuthorizedException, PermissionDeniedException, TooManyRequestsException]


class BatchItem(msgspec.Struct, omit_defaults=True):
    index: int
    status: int
    event: EventOut | None = None
    error: ErrorBody | None = None


class BatchOut(msgspec.Struct):
    stored: int
    replayed: int
    failed: int
    results: list[BatchItem]


class EventPage(msgspec.Struct):
    items: list[FeedEvent]
    next_cursor: str | None


class EventDetail(msgspec.Struct):
    event: FeedEvent
    children: list[EventOut]
    # More children than one answer holds: pass it back as `children_cursor` for the next ones.
    next_children_cursor: str | None = None


FEED_PARAMS = ("project", "channel", "tag", "user_id", "severity", "since", "until", "test", "q", "limit", "cursor")


class EventsController(Controller):
    path = "/api/v1/events"
    tags = ["events"]
    request_max_body_size = None  # read_body, within the ingest limits

    @post(
        "/",
        status_code=201,
        summary="Store one event",
        operation_class=json_body(EventIn),
        responses={200: ResponseSpec(EventOut, description="An idempotent replay: the original event")},
        raises=INGEST_ERRORS,
    )
    async def create(self, request: Request) -> Response[EventOut]:
        """201 with the stored event; 200 with the original when `idempotency_key` was seen within 24 h."""
        key = await authorize(request, "ingest")  # not a guard, for speed: see authorize()
        hub = hub_of(request)
        body = await read_body(request, hub.settings.ingest.max_body_bytes)
        event_in = decode(body, EventIn)
        draft = draft_from_input(
            event_in, project=project_for(key, event_in.project), source="api", received_at=now_utc()
        )
        [result] = await hub.ingestor.store([draft])
        return Response(result.event, status_code=201 if result.created else 200)

    @post(
        "/batch",
        guards=[require("ingest")],
        status_code=200,
        summary="Store up to 1,000 events",
        operation_class=json_body(BatchBody),
        raises=INGEST_ERRORS,
    )
    async def create_batch(self, request: Request) -> BatchOut:
        """Each item is validated and answered on its own; the valid ones are stored in one transaction."""
        hub = hub_of(request)
        limits = hub.settings.ingest
        body = await read_body(request, limits.max_batch_body_bytes, screen_nul=False)
        batch = decode(body, BatchIn)
        screen_items = has_nul(body)  # a NUL refuses its own item only: looked for in each when the body has one
        if len(batch.events) > limits.max_batch_events:
            raise ValidationProblem(f"`events` may hold at most {limits.max_batch_events} items", "events")
        key = api_key(request)
        received_at = now_utc()
        results: list[BatchItem | None] = [None] * len(batch.events)
        drafts: list[tuple[int, Draft]] = []
        for index, raw in enumerate(batch.events):
            if screen_items and (nul := nul_problem(bytes(raw), f"events[{index}].")) is not None:
                results[index] = BatchItem(index, 400, error=ErrorBody(str(nul), 400, nul.field))
                continue
            try:
                event_in = decode(raw, EventIn)
                project = project_for(key, event_in.project)
                drafts.append(
                    (index, draft_from_input(event_in, project=project, source="api", received_at=received_at))
                )
            except msgspec.ValidationError as exc:
                message, field = describe_validation(exc, f"events[{index}].", EventIn)
                results[index] = BatchItem(index, 400, error=ErrorBody(message, 400, field))
            except ValidationProblem as exc:
                field = f"events[{index}].{exc.field}" if exc.field else f"events[{index}]"
                results[index] = BatchItem(index, 400, error=ErrorBody(str(exc), 400, field))
            except HTTPException as exc:  # a project this key may not write to
                field = f"events[{index}].{named}" if (named := refused_field(exc)) else None
                results[index] = BatchItem(index, exc.status_code, error=ErrorBody(exc.detail, exc.status_code, field))
        stored = await hub.ingestor.store([d for _, d in drafts]) if drafts else []
        for (index, _), result in zip(drafts, stored, strict=True):
            results[index] = BatchItem(index, 201 if result.created else 200, event=result.event)
        items = [r for r in results if r is not None]
        return BatchOut(
            stored=sum(1 for r in items if r.status == 201),
            replayed=sum(1 for r in items if r.status == 200),
            failed=sum(1 for r in items if r.status >= 400),
            results=items,
        )

    @get("/", guards=[require("read")], summary="List events, newest first")
    async def list(
        self,
        request: Request,
        project: FromQuery[str | None] = None,
        channel: FromQuery[str | None] = None,
        tag: Annotated[list[str] | None, Parameter(description="key:value, repeatable")] = None,
        user_id: FromQuery[str | None] = None,
        severity: Annotated[str | None, Parameter(description=SEVERITY_FILTER)] = None,
        since: Annotated[str | None, Parameter(description=TIME_FORMS)] = None,
        until: Annotated[str | None, Parameter(description=TIME_FORMS)] = None,
        test: FromQuery[bool] = False,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> EventPage:
        refuse_unknown(request, FEED_PARAMS)
        hub = hub_of(request)
        f = await build_filter(
            hub,
            api_key(request),
            project=project,
            channel=channel,
            tag=tag,
            user_id=user_id,
            severity=severity,
            since=since,
            until=until,
            test=test,
            q=q,
        )
        async with hub.db.reader.connect() as conn:
            items, next_cursor = await list_events(conn, hub.db, hub.projects, f, cursor, limit)
        return EventPage(items=items, next_cursor=next_cursor)

    @get("/{event_id:str}", guards=[require("read")], summary="One event, with its context children")
    async def get(
        self, request: Request, event_id: FromPath[str], children_cursor: FromQuery[str | None] = None
    ) -> EventDetail:
        """The children oldest first, 500 at a time; `next_children_cursor` leads to the next ones."""
        refuse_unknown(request, ("children_cursor",))
        after = decode_cursor(children_cursor, "children_cursor") if children_cursor else None
        hub = hub_of(request)
        key = api_key(request)
        number = parse_event_id(event_id)
        async with hub.db.reader.connect() as conn:
            found = await get_event(conn, hub.projects, number) if number is not None else None
            if found is None or not key.sees(found[1]):
                raise NotFoundException(f"no event with id {event_id}")
            [event] = await with_timelines(conn, [found[0]])
            if event.parent_id is not None:
                return EventDetail(event=event, children=[])
            children, next_cursor = await get_children(conn, hub.projects, number, after)
        return EventDetail(event=event, children=children, next_children_cursor=next_cursor)
