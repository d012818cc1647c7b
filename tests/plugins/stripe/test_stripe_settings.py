"""The `[plugins.stripe]` table: validated at start-up, and handed to the source with each delivery."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hub_plugins.stripe.settings import StripeSettings
from hub_plugins.stripe.source import StripeSource

from hub.config import load_settings
from hub.pluginapi import Rejected, WebhookRequest
from hub.plugins import PluginError, Plugins

NOW = 1_763_800_000
BODY = b'{"id": "evt_1", "object": "event", "type": "payout.paid"}'


def plugins(table: str) -> Plugins:
    return Plugins(load_settings(environ={"HUB_PLUGINS": f"{{stripe = {table}}}"}))


def test_the_plugin_is_built_in_with_its_source_and_defaults():
    loaded = plugins("{}")
    assert isinstance(loaded.sources["stripe"], StripeSource)
    assert loaded.settings["stripe"] == StripeSettings(
        tolerance_seconds=300, dashboard_url="https://dashboard.stripe.com"
    )


def test_the_table_is_validated_into_the_settings_struct():
    loaded = plugins('{tolerance_seconds = 60, dashboard_url = "https://stripe.example"}')
    assert loaded.settings["stripe"] == StripeSettings(tolerance_seconds=60, dashboard_url="https://stripe.example")


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("{tolerance_seconds = -1}", "tolerance_seconds"),
        ('{dashboard_url = "ftp://x"}', "dashboard_url"),
        ('{dashboard_url = "https://has space"}', "dashboard_url"),
        ("{tolerence_seconds = 60}", "tolerence_seconds"),
    ],
)
def test_bad_settings_stop_the_hub_naming_the_field(table, field):
    with pytest.raises(PluginError, match=rf"\[plugins\.stripe\].*{field}"):
        plugins(table)


def delivery(timestamp: int, settings: StripeSettings | None) -> WebhookRequest:
    signature = hmac.new(b"whsec_test", f"{timestamp}.".encode() + BODY, hashlib.sha256).hexdigest()
    return WebhookRequest(
        plugin="stripe",
        source="main",
        method="POST",
        headers={"stripe-signature": f"t={timestamp},v1={signature}"},
        query={},
        body=BODY,
        received_at=datetime.fromtimestamp(NOW, UTC),
        settings=settings,
    )


def test_the_source_uses_the_configured_tolerance():
    source = StripeSource()
    source.verify(delivery(NOW - 200, StripeSettings(tolerance_seconds=300)), ["whsec_test"])
    with pytest.raises(Rejected, match="beyond the tolerance of 100 s"):
        source.verify(delivery(NOW - 200, StripeSettings(tolerance_seconds=100)), ["whsec_test"])


def test_without_settings_the_defaults_apply():
    source = StripeSource()
    source.verify(delivery(NOW - 299, None), ["whsec_test"])
    with pytest.raises(Rejected, match="beyond the tolerance of 300 s"):
        source.verify(delivery(NOW - 301, None), ["whsec_test"])
