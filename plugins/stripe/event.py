"""The Stripe event envelope: the fields the hub relies on, read from an untrusted body."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from hub.pluginapi import Rejected

from .payload import get, ident, integer, text

# Snapshot events (`event`) carry the object in `data.object`; thin events (`v2.core.event`, sent to event
# destinations) only name it, and are rendered generically.
EVENT_OBJECTS = ("event", "v2.core.event")


class StripeEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One Stripe event. `object` is `data.object` ({} when absent); `raw` is the whole envelope."""

    id: str
    type: str
    livemode: bool
    created: int | None
    object: dict[str, Any]
    previous: dict[str, Any]
    account: str | None
    raw: dict[str, Any]


def read_event(payload: Any, received_at: datetime) -> StripeEvent:
    """Check the envelope and pick out its fields; raise `Rejected(400)` when the body is not a Stripe event.

    `created` is kept only when it is a plausible time no later than `received_at`, so a skewed clock on
    either side never makes the hub refuse the event as coming from the future.
    """
    if not isinstance(payload, dict) or payload.get("object") not in EVENT_OBJECTS:
        raise Rejected(400, 'the body is not a Stripe event: expected a JSON object with "object": "event"')
    event_id = ident(payload, "id")
    if event_id is None:
        raise Rejected(400, "the Stripe event has no valid `id`")
    event_type = text(payload, "type")
    if event_type is None:
        raise Rejected(400, "the Stripe event has no `type`")
    created = integer(payload, "created")
    if created is not None and not 0 <= created <= received_at.timestamp():
        created = None
    obj, previous = get(payload, "data", "object"), get(payload, "data", "previous_attributes")
    return StripeEvent(
        id=event_id,
        type=event_type,
        livemode=payload.get("livemode") is True,
        created=created,
        object=obj if isinstance(obj, dict) else {},
        previous=previous if isinstance(previous, dict) else {},
        account=ident(payload, "account"),
        raw=payload,
    )
