"""The built-in web push notifier: encrypted pushes (RFC 8291) signed with the hub's VAPID key (RFC 8292).

The key pair is generated on first start and kept in the database, unless `[plugins.webpush]` configures one.
The PWA reads the public key from `GET /api/v1/push/vapid-public-key` and registers each browser's
subscription through the API; routing then reaches people on every device they registered.
"""

from __future__ import annotations

from hub.hookspecs import hookimpl
from hub.pluginapi import HubContext, PluginSettings

from .notifier import WebPushNotifier
from .settings import WebPushSettings
from .vapid import KEYS, VapidKeys, load_keys


@hookimpl
def register_settings() -> PluginSettings:
    return PluginSettings("webpush", WebPushSettings)


@hookimpl
def register_notifiers() -> list[WebPushNotifier]:
    return [WebPushNotifier()]  # one per hub: it keeps the subscriptions of that hub's outbox claim


@hookimpl
def register_routes() -> list:
    from .api import vapid_public_key  # Litestar loads only for a hub that serves HTTP (see hub.pluginapi)

    return [vapid_public_key]


@hookimpl
async def startup(hub: HubContext) -> None:
    hub.state[KEYS] = await load_keys(hub)


__all__ = ["VapidKeys", "WebPushSettings"]
