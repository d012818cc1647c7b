"""Sending one push: encrypt for the subscription, sign for its push service, POST through the guarded client."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

from hub.pluginapi import Destination, HubContext, Message, Outcome, Recipient

from .payload import collapse_key, encode
from .vapid import KEYS, VapidKeys

URGENCY = {"info": "normal", "warning": "high", "critical": "high"}


def topic(collapse_key: str) -> str:
    """RFC 8030 Topic: at most 32 URL-safe base64 characters; a newer push with it replaces an undelivered one."""
    return base64.urlsafe_b64encode(hashlib.sha256(collapse_key.encode()).digest()).decode()[:32]


class WebPushNotifier:
    name = "webpush"

    def __init__(self) -> None:
        # Subscriptions fetched by `prepare` for the latest outbox claim, read by `destination` and `send`. Not
        # used up by `send`: a send left from an earlier claim, to a subscription this claim has too, would take
        # it away before `destination` read it, and that push would go without waiting its push service's turn.
        self._claimed: dict[str, dict[str, Any] | None] = {}

    async def prepare(self, hub: HubContext, recipients: list[Recipient]) -> None:
        """Fetch the claim's subscriptions together (the hub answers lookups made at once with one query)."""
        ids = list(dict.fromkeys(r.address for r in recipients))
        found = await asyncio.gather(*(hub.push_subscription(i) for i in ids))
        self._claimed = dict(zip(ids, found, strict=True))

    def destination(self, hub: HubContext, recipient: Recipient) -> Destination | None:
        """The push service the subscription's endpoint is on, as `prepare` loaded it (None if it did not): a
        backlog to one push service waits for its connections without holding sending slots."""
        subscription = self._claimed.get(recipient.address)
        return hub.outbound.destination(subscription["endpoint"]) if subscription else None

    async def send(self, hub: HubContext, recipient: Recipient, message: Message) -> Outcome:
        keys: VapidKeys | None = hub.state.get(KEYS)
        if keys is None:
            return Outcome("later", retry_after=5, detail="the VAPID keys are not loaded yet")
        if recipient.address in self._claimed:
            subscription = self._claimed[recipient.address]
        else:
            subscription = await hub.push_subscription(recipient.address)
        if subscription is None:
            return Outcome("gone", detail="the subscription was removed")
        settings = hub.plugin_settings("webpush")
        # Imported here, not with the module: pywebpush loads aiohttp and requests (0.23 s), which every `hub`
        # command paid on start-up, `hub run` in every cron job included.
        from pywebpush import WebPusher, WebPushException

        try:
            payload = encode(message, settings.icon, recipient.user_id)
            body = WebPusher(subscription).encode(payload, "aes128gcm")["body"]
        except (ValueError, WebPushException) as exc:
            # Keys of the right shape that are no point on P-256: no push can ever be encrypted for them.
            return Outcome("failed", detail=f"the subscription's keys cannot encrypt a push ({exc}); subscribe again")
        headers = {
            "Authorization": keys.authorization(subscription["endpoint"]),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(settings.ttl_seconds),
            "Urgency": "normal" if message.is_digest else URGENCY.get(message.severity, "normal"),
        }
        if key := collapse_key(message):
            headers["Topic"] = topic(key)
        response = await hub.outbound.post(subscription["endpoint"], content=body, headers=headers)
        outcome = Outcome.from_response(response)
        if outcome.result == "gone":
            await hub.remove_push_subscription(recipient.address)
        return outcome
