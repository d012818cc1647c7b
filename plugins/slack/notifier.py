"""Posting to a Slack incoming webhook through the hub's guarded client, one message a second per webhook."""

from __future__ import annotations

import time
from typing import Annotated

import msgspec

from hub.pluginapi import HubContext, Message, Outcome, Recipient

from .blocks import render


class SlackSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`min_interval_seconds`: the pause between two messages to one webhook (Slack allows one a second).

    Interactive buttons (optional): with `signing_secret` (the Slack app's "Signing Secret") set, the buttons of
    runnable actions run them from Slack: Slack POSTs the click to `/api/v1/slack/interactivity`, which checks
    the signature and runs the action as the hub user whose email matches the Slack user's. The email comes from
    `users` (Slack user id -> hub user email) or, with `bot_token` (scope `users:read.email`), from Slack's
    `users.info` method at `api_url`. With `bot_token`, a button of an action with inputs opens a Slack form
    (`views.open`) to fill them in before the action runs.
    """

    min_interval_seconds: Annotated[float, msgspec.Meta(ge=0, le=60)] = 1.0
    signing_secret: str = ""
    bot_token: str = ""
    api_url: Annotated[str, msgspec.Meta(pattern=r"^https?://\S+\Z")] = "https://slack.com/api"
    users: dict[str, Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\Z")]] = {}


class SlackNotifier:
    name = "slack"

    def __init__(self) -> None:
        # webhook URL -> monotonic time of the last send from this process
        self._last_sent: dict[str, float] = {}

    async def send(self, hub: HubContext, recipient: Recipient, message: Message) -> Outcome:
        settings = hub.plugin_settings("slack")
        interval = settings.min_interval_seconds
        if interval <= 0:
            return await self._post(hub, recipient, message, settings)
        now = time.monotonic()
        wait = self._last_sent.get(recipient.address, float("-inf")) + interval - now
        if wait > 0:
            return Outcome("later", retry_after=min(wait, max(interval, 0.05)))
        # Marked busy before awaiting, so a concurrent send to the same webhook waits its turn; the pause is
        # counted from when Slack answered (it saw the message by then), not from when the request left.
        self._last_sent[recipient.address] = float("inf")
        if len(self._last_sent) > 10_000:
            self._last_sent = {k: v for k, v in self._last_sent.items() if now - v < interval}
        try:
            return await self._post(hub, recipient, message, settings)
        finally:
            self._last_sent[recipient.address] = time.monotonic()

    async def _post(self, hub: HubContext, recipient: Recipient, message: Message, settings: SlackSettings) -> Outcome:
        card = render(message, interactive=bool(settings.signing_secret), forms=bool(settings.bot_token))
        # Slack ignores X-Hub-Delivery; a stand-in or proxy can drop repeats of one delivery by it.
        headers = {"Content-Type": "application/json", "X-Hub-Delivery": message.id}
        response = await hub.outbound.post(recipient.address, content=msgspec.json.encode(card), headers=headers)
        refused = ""
        if response.status == 400 and response.body.startswith(b"invalid_blocks"):
            # A Block Kit rule the card breaks (one Slack never published, or a new one) must not lose the page:
            # the plain `text` alone goes through.
            refused = f"card refused ({response.body[:100].decode('utf-8', 'replace')}), then its plain text: "
            text = msgspec.json.encode({"text": card["text"]})
            response = await hub.outbound.post(recipient.address, content=text, headers=headers)
        outcome = Outcome.from_response(response)
        # Slack answers 404 no_service / 410 for a removed webhook: permanent, but nothing to forget here.
        result = "failed" if outcome.result == "gone" else outcome.result
        return Outcome(result, outcome.status, refused + outcome.detail, outcome.retry_after)
