"""The plugin's route: the public key browsers subscribe with."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency

from hub.pluginapi import HubContext

from .vapid import KEYS, load_keys


@get("/api/v1/push/vapid-public-key", tags=["push"], summary="The VAPID public key for PushManager.subscribe")
async def vapid_public_key(hub: NamedDependency[HubContext]) -> dict[str, str]:
    keys = hub.state.get(KEYS) or await load_keys(hub)
    return {"public_key": keys.public_key}
