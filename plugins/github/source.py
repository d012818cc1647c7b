"""The `github` webhook source: verify GitHub's signature, then turn the delivery into one event."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from hub.pluginapi import Delivery, WebhookRequest

from . import delivery
from .node import Node
from .renderers import render
from .signature import verify_signature


class GitHubSource:
    """Every delivery becomes exactly one event, de-duplicated by its signed body: GitHub's signature covers
    neither `X-GitHub-Delivery` nor `X-GitHub-Event`, so a captured delivery (shown to a repository's admins in
    Recent deliveries) could be replayed under new ones. A redelivery sends the same body, so it is dropped too.

    `ping` (sent when a webhook is created) is also answered with the hook's id and zen, so the delivery
    log on GitHub shows that the hub understood it.
    """

    name = "github"

    def verify(self, request: WebhookRequest, secrets: Sequence[str]) -> None:
        verify_signature(request.headers, request.body, secrets)

    def parse(self, request: WebhookRequest) -> Delivery:
        event = delivery.event_name(request)
        delivery.require_delivery_id(request)
        payload = Node(delivery.payload(request))
        reply = ping_reply(payload) if event == "ping" else None
        body_id = "sha256:" + hashlib.sha256(request.body).hexdigest()
        return Delivery(delivery_id=body_id, events=[render(event, payload)], reply=reply)


def ping_reply(payload: Node) -> dict[str, Any]:
    return {"ok": True, "zen": payload["zen"].text() or None, "hook_id": payload["hook_id"].integer()}
