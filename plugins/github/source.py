"""The `github` webhook source: verify GitHub's signature, then turn the delivery into one event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.pluginapi import Delivery, WebhookRequest

from . import delivery
from .node import Node
from .renderers import render
from .signature import verify_signature


class GitHubSource:
    """Every delivery becomes exactly one event, de-duplicated by `X-GitHub-Delivery`, as GitHub advises: a
    redelivery keeps its id, and two real deliveries can have the same body (a workflow dispatched twice with
    the same inputs, a repository starred again), so the body cannot tell them apart.

    `ping` (sent when a webhook is created) is also answered with the hook's id and zen, so the delivery
    log on GitHub shows that the hub understood it.
    """

    name = "github"

    def verify(self, request: WebhookRequest, secrets: Sequence[str]) -> None:
        verify_signature(request.headers, request.body, secrets)

    def parse(self, request: WebhookRequest) -> Delivery:
        event = delivery.event_name(request)
        delivery_id = delivery.delivery_id(request)
        payload = Node(delivery.payload(request))
        reply = ping_reply(payload) if event == "ping" else None
        return Delivery(delivery_id=delivery_id, events=[render(event, payload)], reply=reply)


def ping_reply(payload: Node) -> dict[str, Any]:
    return {"ok": True, "zen": payload["zen"].text() or None, "hook_id": payload["hook_id"].integer()}
