"""Posting to a Slack incoming webhook through the hub's guarded client, one message a second per webhook."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec

from hub.pluginapi import HubContext, Message, Outcome, Recipient

from .blocks import render


class SlackSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`min_interval_seconds`: the pause between two messages to one webhook (Slack allows one a second)."""

    min_interval_seconds: Annotated[float, msgspec.Meta(ge=0, le=60)] = 1.0


class SlackNotifier:
    name = "slack"

    def __init__(self) -> None:
        # webhook URL -> monotonic time of the last send from this process
        self._last_sent: dict[str, float] = {}

    async def send(self, hub: HubContext, recipient: Recipient, message: Message) -> Outcome:
        interval = hub.plugin_settings("slack").min_interval_seconds
        now = time.monotonic()
        wait = self._last_sent.get(recipient.address, float("-inf")) + interval - now
        if wait > 0:
            return Outcome("later", retry_after=wait)
        # Claimed before awaiting, so a concurrent send to the same webhook waits its turn.
        self._last_sent[recipient.address] = now
        if len(self._last_sent) > 10_000:
            self._last_sent = {k: v for k, v in self._last_sent.items() if now - v < interval}
        response = await hub.outbound.post(
            recipient.address,
            content=msgspec.json.encode(render(message)),
            # Slack ignores it; a stand-in or proxy can drop repeats of one delivery by it.
            headers={"Content-Type": "application/json", "X-Hub-Delivery": message.id},
        )
        outcome = Outcome.from_response(response)
        if outcome.result == "gone":
            # Slack answers 404 no_service / 410 for a removed webhook: permanent, but nothing to forget here.
            return Outcome("failed", outcome.status, outcome.detail)
        return outcome
