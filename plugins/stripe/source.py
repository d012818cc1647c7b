"""The `stripe` webhook source type: `POST /hooks/stripe/<source>` with Stripe's signed event deliveries."""

from __future__ import annotations

from collections.abc import Sequence

from hub.pluginapi import Delivery, WebhookRequest

from .event import read_event
from .render import render
from .settings import StripeSettings
from .signature import HEADER, verify_signature


def settings_of(request: WebhookRequest) -> StripeSettings:
    """The validated `[plugins.stripe]` settings, or the defaults when the hub passes none."""
    return request.settings if isinstance(request.settings, StripeSettings) else StripeSettings()


class StripeSource:
    """Verifies `Stripe-Signature` against the source's secrets, then renders the event; the event id de-duplicates."""

    name = "stripe"

    def verify(self, request: WebhookRequest, secrets: Sequence[str]) -> None:
        verify_signature(
            request.body,
            request.headers.get(HEADER),
            secrets,
            now=request.received_at.timestamp(),
            tolerance=settings_of(request).tolerance_seconds,
        )

    def parse(self, request: WebhookRequest) -> Delivery:
        event = read_event(request.json(), request.received_at)
        return Delivery(delivery_id=event.id, events=[render(event, settings_of(request).dashboard_url)])
