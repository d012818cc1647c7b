"""A Stripe event as a hub event: summary, channel, tags, content and dashboard links, within EventIn's limits."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from hub.pluginapi import MAX_JSON_DEPTH, EventIn, nests_deeper_than, truncate

from .dashboard import dashboard_actions
from .event import StripeEvent
from .money import currency_code
from .payload import email, get, ident, text
from .summaries import summarize

# EventIn's limits (the hub refuses an event beyond any of them).
MAX_TITLE = 250
MAX_DESCRIPTION = 4000
MAX_CONTENT_BYTES = 64 * 1024
MAX_TAG_TEXT = 1024
# A string kept in trimmed content is cut to this length.
TRIMMED_TEXT = 1024

# Default channel by type prefix, first match wins; a source's configured channel overrides it.
CHANNELS = (
    ("customer.subscription.", "billing"),
    ("customer.", "customers"),
    ("checkout.", "payments"),
    ("payment_intent.", "payments"),
    ("charge.", "payments"),
    ("refund.", "payments"),
    ("payment_method.", "payments"),
    ("payment_link.", "payments"),
    ("setup_intent.", "payments"),
    ("radar.", "payments"),
    ("review.", "payments"),
    ("invoice.", "billing"),
    ("invoiceitem.", "billing"),
    ("invoice_payment.", "billing"),
    ("subscription_schedule.", "billing"),
    ("credit_note.", "billing"),
    ("quote.", "billing"),
    ("price.", "billing"),
    ("product.", "billing"),
    ("plan.", "billing"),
    ("coupon.", "billing"),
    ("promotion_code.", "billing"),
    ("billing.", "billing"),
    ("payout.", "payouts"),
    ("transfer.", "payouts"),
    ("balance.", "payouts"),
    ("topup.", "payouts"),
    ("application_fee.", "payouts"),
)
DEFAULT_CHANNEL = "stripe"
# Ids of related objects tagged when the object names them.
RELATED_IDS = ("customer", "subscription", "invoice", "payment_intent", "charge", "payout", "product")


def channel_for(event_type: str) -> str:
    """The channel of a type's area; a thin event's API version (`v1.billing.meter...`) is read past."""
    kind = event_type.split(".", 1)[1] if event_type.startswith(("v1.", "v2.")) else event_type
    return next((channel for prefix, channel in CHANNELS if kind.startswith(prefix)), DEFAULT_CHANNEL)


def tag_key(kind: str | None) -> str | None:
    """A tag key for an object type: `checkout.session` → `checkout_session`."""
    key = re.sub(r"[^a-z0-9_-]+", "_", kind.lower())[:64] if kind else ""
    return key or None


def related_id(obj: dict[str, Any], name: str) -> str | None:
    """The id of the related object `name`; from API version 2025-03-31 (basil) an invoice or invoice item
    names its subscription under `parent`, in the details that `parent.type` names."""
    if found := ident(obj, name):
        return found
    if name == "subscription" and text(obj, "parent", "type") == "subscription_details":
        return ident(obj, "parent", "subscription_details", "subscription")
    return None


def tags_for(event: StripeEvent) -> dict[str, str | bool]:
    """The ids people search by: the event's, the object's (keyed by its type) and those of related objects."""
    o = event.object
    tags: dict[str, str | bool] = {
        "type": truncate(event.type, MAX_TAG_TEXT) or event.type,
        "livemode": event.livemode,
        "event_id": event.id,
    }
    key, object_id = tag_key(text(o, "object")), ident(o, "id")
    if key and object_id:
        tags.setdefault(key, object_id)
    for name in RELATED_IDS:
        if found := related_id(o, name):
            tags.setdefault(name, found)
    extras = {
        "email": email(o),
        "status": text(o, "status"),
        "currency": currency_code(get(o, "currency")),
        "account": event.account,
    }
    for name, value in extras.items():
        if value:
            tags.setdefault(name, truncate(value, MAX_TAG_TEXT) or value)
    return tags


def encoded_size(value: Any) -> int:
    return len(msgspec.json.encode(value))


def fit_content(value: dict[str, Any]) -> dict[str, Any]:
    """The object itself when it fits EventIn's content limits (size and nesting); else its top-level scalars,
    long strings cut, as many as fit, marked `"_trimmed": true`."""
    if encoded_size(value) <= MAX_CONTENT_BYTES and not nests_deeper_than(value, MAX_JSON_DEPTH):
        return value
    trimmed: dict[str, Any] = {"_trimmed": True}
    room = MAX_CONTENT_BYTES - encoded_size(trimmed)
    for key, item in value.items():
        if isinstance(item, dict | list):
            continue
        kept = truncate(item, TRIMMED_TEXT) if isinstance(item, str) else item
        cost = encoded_size({key: kept})  # the entry plus two braces, which pays for its comma
        if cost <= room:
            trimmed[key] = kept
            room -= cost
    return trimmed


def customer_id(event: StripeEvent) -> str | None:
    o = event.object
    return ident(o, "customer") or (ident(o, "id") if text(o, "object") == "customer" else None)


def render(event: StripeEvent, dashboard_url: str) -> EventIn:
    """The hub event for a Stripe event; test-mode events are the hub's test events (no notifications)."""
    summary = summarize(event)
    fields = {
        "event": truncate(summary.title, MAX_TITLE),
        "channel": channel_for(event.type),
        "description": truncate("\n".join(summary.lines), MAX_DESCRIPTION) or None,
        "icon": summary.icon,
        "severity": summary.severity,
        "notify": summary.severity != "info",
        "tags": tags_for(event),
        "content": fit_content(event.object or event.raw),
        "user_id": customer_id(event),
        "timestamp": event.created,
        "test": not event.livemode,
        "actions": dashboard_actions(event, dashboard_url),
    }
    # Converting (not constructing) validates every limit here, as the hub will, and builds the actions.
    return msgspec.convert(fields, EventIn)
