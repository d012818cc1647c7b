"""The built-in Stripe webhook source: checks `Stripe-Signature` and turns Stripe events into hub events.

Create a source with plugin `stripe` and the endpoint's signing secret (`whsec_...`), then add a webhook
endpoint in Stripe pointing at `https://HUB/hooks/stripe/<source>`. Settings: `[plugins.stripe]`.
"""

from __future__ import annotations

from hub.hookspecs import hookimpl
from hub.pluginapi import PluginSettings

from .settings import StripeSettings
from .source import StripeSource


@hookimpl
def register_settings() -> PluginSettings:
    return PluginSettings("stripe", StripeSettings)


@hookimpl
def register_sources() -> list[StripeSource]:
    return [StripeSource()]
