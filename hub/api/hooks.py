"""`POST /hooks/{plugin}/{source}`: the one inbound route for every webhook source plugin.

The core looks the source up, asks the plugin to verify and parse the delivery, de-duplicates by the
sender's delivery id, and stores the events. A delivery the plugin cannot render still becomes a readable
event; the sender never sees a 500 for its payload.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from hub.api.common import hub_of, read_up_to
from hub.api.errors import error_response
from hub.core import Hub
from hub.models import MAX_JSON_DEPTH, NAME_PATTERN, EventIn, nests_deeper_than, now_utc
from hub.pluginapi import Delivery, Rejected, WebhookRequest, truncate

log = logging.getLogger(__name__)

FALLBACK_CONTENT_BYTES = 32 * 1024


class HookAnswer(msgspec.Struct):
    ok: bool
    duplicate: bool
    events: list[str]


def fallback_delivery(request: WebhookRequest) -> Delivery:
    """A readable event for a delivery the plugin failed to render: the payload itself, as far as it fits."""
    try:
        payload: Any = msgspec.json.decode(request.body)
    except (msgspec.DecodeError, RecursionError):
        payload = {"body": request.body[:FALLBACK_CONTENT_BYTES].decode("utf-8", "replace")}
    if len(msgspec.json.encode(payload)) > FALLBACK_CONTENT_BYTES or nests_deeper_than(payload, MAX_JSON_DEPTH):
        payload = {"truncated_body": request.body[:FALLBACK_CONTENT_BYTES].decode("utf-8", "replace")}
    event = EventIn(
        event=truncate(f"{request.plugin} delivery to {request.source}", 250) or "",
        description="The plugin could not render this delivery; the payload is attached.",
        icon="📨",
        tags={"plugin": request.plugin, "source": request.source},
        content=payload,
    )
    return Delivery(delivery_id="body-" + hashlib.sha256(request.body).hexdigest(), events=[event])


async def _store(
    hub: Hub, request: WebhookRequest, delivery: Delivery, source_id: str, project: str, channel: str | None
) -> HookAnswer:
    results = await hub.context.ingest(
        delivery.events,
        project=project,
        source=request.plugin,
        channel=channel,
        dedupe_key=f"hook:{source_id}:{delivery.delivery_id}" if delivery.delivery_id else None,
        dedupe_window=timedelta(days=hub.settings.webhooks.dedupe_days),
        received_at=request.received_at,
        # A sender retrying after an outage delivers late, but it is news to the team all the same.
        notify_backfilled=True,
    )
    duplicate = bool(results) and not any(r.created for r in results)
    return HookAnswer(ok=True, duplicate=duplicate, events=[r.event.id for r in results])


@post(
    "/hooks/{plugin:str}/{source:str}",
    tags=["webhooks"],
    status_code=200,
    summary="Receive a webhook delivery for a configured source",
    request_max_body_size=None,  # read_up_to, with the limit of the settings
)
async def receive_webhook(request: Request, plugin: FromPath[str], source: FromPath[str]) -> Response[Any]:
    hub = hub_of(request)
    handler = hub.plugins.sources.get(plugin)
    # A name no source can have is not looked up: each lookup is cached, and anyone can send any name.
    stored = await hub.sources.get(plugin, source) if handler and re.fullmatch(NAME_PATTERN, source) else None
    if stored is None or handler is None:
        raise NotFoundException(f"no webhook source {plugin}/{source} is configured")
    # The 413 names the setting: the sender's delivery log (GitHub's keeps the answer) shows the admin what to
    # raise, and GitHub never retries on its own.
    limit = hub.settings.webhooks.max_body_bytes
    too_large = f"webhook body is larger than the limit of {limit} bytes (setting `webhooks.max_body_bytes`)"
    delivery_request = WebhookRequest(
        plugin=plugin,
        source=source,
        method=request.method,
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=await read_up_to(request, limit, too_large),
        received_at=now_utc(),
        settings=hub.plugins.settings.get(plugin),
    )
    try:
        handler.verify(delivery_request, stored.secrets)
    except Rejected as exc:
        return error_response(exc.status, exc.message)
    except Exception:
        # A verifier that crashes has not vouched for the sender: store nothing, and let the sender retry.
        log.exception("plugin %s failed to verify a delivery to source %s", plugin, source)
        return error_response(500, f"the {plugin} plugin could not verify this delivery; nothing was stored")
    try:
        delivery = handler.parse(delivery_request)
    except Rejected as exc:
        return error_response(exc.status, exc.message)
    except Exception:
        log.exception("plugin %s failed to render a delivery to source %s", plugin, source)
        delivery = fallback_delivery(delivery_request)
    try:
        answer = await _store(hub, delivery_request, delivery, stored.id, stored.project, stored.channel)
    except msgspec.ValidationError as exc:
        log.error("plugin %s produced an invalid event (%s); storing the raw delivery instead", plugin, exc)
        answer = await _store(
            hub, delivery_request, fallback_delivery(delivery_request), stored.id, stored.project, stored.channel
        )
    return Response(delivery.reply if delivery.reply is not None else answer, status_code=200)
