"""The delivery log: every notification delivery with its attempts; dead letters can be retried by hand."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter

from hub.api.common import hub_admin, hub_of
from hub.api.filters import refuse_unknown
from hub.ids import parse_event_id
from hub.models import Page
from hub.outbox.log import RETRYABLE, DeliveryOut, StillNoDevice, get_delivery, list_deliveries, retry_delivery
from hub.routing.recipients import NO_DEVICE_REASON

MAX_PAGE = 200


def _number(value: str, what: str) -> int:
    number = parse_event_id(value)
    if number is None:
        raise NotFoundException(f"no {what} with id {value}")
    return number


class DeliveriesController(Controller):
    path = "/api/v1/deliveries"
    tags = ["deliveries"]
    guards = [hub_admin]

    @get("/", summary="Deliveries, newest first; `state=dead` lists the dead letters")
    async def list_deliveries(
        self,
        request: Request,
        delivery_state: Annotated[str | None, QueryParameter(name="state", description="e.g. dead")] = None,
        event_id: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 50,
        cursor: FromQuery[str | None] = None,
    ) -> Page:
        refuse_unknown(request, ("state", "event_id", "limit", "cursor"))  # a misspelt filter listed everything
        hub = hub_of(request)
        event = _number(event_id, "event") if event_id else None
        async with hub.db.reader.connect() as conn:
            items, next_cursor = await list_deliveries(
                conn, state=delivery_state, event_id=event, cursor=cursor, limit=limit
            )
        return Page(items=items, next_cursor=next_cursor)

    @get("/{delivery_id:str}", summary="One delivery with every attempt")
    async def show(self, request: Request, delivery_id: FromPath[str]) -> DeliveryOut:
        async with hub_of(request).db.reader.connect() as conn:
            found = await get_delivery(conn, _number(delivery_id, "delivery"))
        if found is None:
            raise NotFoundException(f"no delivery with id {delivery_id}")
        return found

    @post("/{delivery_id:str}/retry", status_code=202, summary="Queue a failed or dead delivery again")
    async def retry(self, request: Request, delivery_id: FromPath[str]) -> DeliveryOut:
        hub = hub_of(request)
        number = _number(delivery_id, "delivery")
        try:
            previous = await retry_delivery(hub.db, number)
        except StillNoDevice as exc:
            raise HTTPException(
                status_code=409,
                detail=f"delivery {delivery_id} cannot be retried: {exc} ({NO_DEVICE_REASON})",
            ) from None
        if previous is None:
            raise NotFoundException(f"no delivery with id {delivery_id}")
        if previous not in RETRYABLE:
            raise HTTPException(
                status_code=409, detail=f"delivery {delivery_id} is {previous}; only failed or dead ones can be retried"
            )
        async with hub.db.reader.connect() as conn:
            found = await get_delivery(conn, number)
        assert found is not None
        return found
