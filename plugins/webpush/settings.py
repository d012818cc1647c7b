"""The `[plugins.webpush]` table."""

from __future__ import annotations

from typing import Annotated

import msgspec


class WebPushSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`vapid_private_key`: a PEM private key (P-256) to use instead of the generated one ("${NAME}" is not
    expanded here: put the PEM in the file or leave it empty). `vapid_subject`: a `mailto:` or `https:` contact
    push services may use; empty: the hub's own address (`server.base_url`) when it is https. `ttl_seconds`: how
    long a push service keeps a message for an offline device.
    `icon`: the notification icon's path or URL."""

    vapid_private_key: str = ""
    vapid_subject: Annotated[str, msgspec.Meta(pattern=r"^((mailto:|https://)\S+)?\Z")] = ""
    ttl_seconds: Annotated[int, msgspec.Meta(ge=0, le=2_419_200)] = 86_400
    icon: Annotated[str, msgspec.Meta(max_length=512)] = "/icon-192.png"
