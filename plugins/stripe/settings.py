"""The `[plugins.stripe]` table of the config file, validated at start-up."""

from __future__ import annotations

from typing import Annotated

import msgspec


class StripeSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How strict the signature check is, and where dashboard links point.

    `tolerance_seconds`: how old the signature's timestamp may be by the hub's clock; older deliveries are
    refused as replays. 300 is Stripe's own default; 0 turns the check off, as in stripe-python.
    `dashboard_url`: the base of the "Open in Stripe" links (test-mode objects get `/test` appended).
    """

    tolerance_seconds: Annotated[int, msgspec.Meta(ge=0, le=86_400)] = 300
    dashboard_url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]+\Z", max_length=512)] = (
        "https://dashboard.stripe.com"
    )
