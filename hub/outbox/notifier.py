"""The notifier contract: what a notifier plugin is handed (a Message for a Recipient) and what it answers.

The core owns the outbox, retries, backoff, rate limits and the delivery log; a notifier only delivers one
message to one recipient and says how it went.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Literal, Protocol

import msgspec

from hub.models import ActionOut, EventOut
from hub.outbound import OutboundResponse

if TYPE_CHECKING:
    from hub.pluginapi import HubContext

# delivered: done. retry: a transient failure (timeout, 429, 5xx); the core backs off and tries again, or with
# `retry_after` (the answer's Retry-After) waits that long and sends nothing to that receiver meanwhile.
# failed: permanent (other 4xx, a refused address); no more tries. gone: the recipient no longer exists
# (a push subscription answered 404/410); permanent. later: not attempted (the notifier's own pacing, such as
# Slack's one message per second); the core tries again after `retry_after` without counting an attempt.
Result = Literal["delivered", "retry", "failed", "gone", "later"]
MAX_DETAIL = 500


class Recipient(msgspec.Struct, frozen=True):
    """Who gets it: `address` is a push subscription id, an email address or a Slack webhook URL. A hub user has
    `user_id` and `timezone` (their IANA zone, read as the delivery is sent), for times a notifier prints itself;
    a bare address has neither."""

    notifier: str
    address: str
    user_id: str | None = None
    timezone: str | None = None


class Message(msgspec.Struct, kw_only=True):
    """One notification, ready to render. A digest (after quiet hours) carries the held ones in `items`."""

    id: str  # the delivery's id: the same on every retry, so a receiver can drop repeats
    title: str
    body: str
    url: str  # deep link to the event in the hub
    severity: str
    project: str
    channel: str
    event: EventOut | None
    count: int = 1  # events folded into this notification by grouping
    group_key: str | None = None  # the rule's `group_by` values: unique only with `rule` and `project`
    rule: str | None = None  # the routing rule that sent it
    # Action buttons: runnable ones (run through the hub) and external links.
    actions: list[ActionOut] = []
    items: list[Message] = []

    @property
    def is_digest(self) -> bool:
        return bool(self.items)

    @property
    def is_markdown(self) -> bool:
        """`body` is the event's markdown description (`parser: "markdown"`), to render with `markdown_parser`."""
        return self.event is not None and self.event.parser == "markdown" and not self.is_digest


class Outcome(msgspec.Struct, frozen=True):
    result: Result
    status: int | None = None
    detail: str = ""
    retry_after: float | None = None

    @classmethod
    def from_response(cls, response: OutboundResponse) -> Outcome:
        """Classify an HTTP answer: 2xx delivered; 408, 429 and 5xx retry (with Retry-After); other 4xx failed."""
        detail = response.body[:MAX_DETAIL].decode("utf-8", "replace")
        status = response.status
        if 200 <= status < 300:
            return cls("delivered", status, detail)
        if status in (408, 425, 429) or status >= 500:
            return cls("retry", status, detail, parse_retry_after(response.headers.get("retry-after")))
        if status in (404, 410):
            return cls("gone", status, detail)
        return cls("failed", status, detail)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Notifier(Protocol):
    """A delivery channel provided by a plugin (see the `register_notifiers` hook)."""

    # The name routing uses: "webpush", "email", "slack".
    name: str

    async def send(self, hub: HubContext, recipient: Recipient, message: Message) -> Outcome:
        """Deliver one message. Raising counts as a transient failure (logged, retried)."""
        ...

    # Optional: `async def prepare(self, hub: HubContext, recipients: list[Recipient]) -> None`, called once per
    # outbox claim with every recipient this notifier is about to be sent to, before their `send`, so it can load
    # what it needs in one go (the web push notifier fetches the claim's subscriptions in one query). Sends of an
    # earlier claim may still be running: what it loads is a cache, and `send` must cope without it.

    # Optional: `def destination(self, hub: HubContext, recipient: Recipient) -> Destination | None`, called once
    # per delivery right after `prepare`: where `send` will send it, `hub.outbound.destination(url)` for a URL or a
    # `Destination` of the notifier's own for a server of its own. The outbox sends at most `destination.line.limit`
    # deliveries to one destination at once, the others waiting their turn without holding a sending slot; None
    # sends without waiting a turn. Without the method, an address that is an http(s) URL is taken as the URL
    # `send` posts to (a webhook, as Slack's), and any other address sends without waiting a turn.
