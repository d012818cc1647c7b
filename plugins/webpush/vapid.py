"""The hub's VAPID key pair and the signed `Authorization: vapid t=...,k=...` header (RFC 8292)."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02, b64urlencode

from hub.pluginapi import HubContext

log = logging.getLogger(__name__)
SECRET_NAME = "webpush.vapid_private_key"  # noqa: S105 (the name it is stored under, not a secret)
# Push services refuse tokens valid for more than 24 h; a fresh one is made well before this runs out.
TOKEN_SECONDS = 12 * 3600
TOKEN_REUSE_SECONDS = 3600
KEYS = "webpush.keys"  # where start-up puts the hub's VapidKeys, in HubContext.state


@dataclass
class VapidKeys:
    vapid: Vapid02
    subject: str
    _tokens: dict[str, tuple[float, str]] = field(default_factory=dict)
    _warned: bool = False

    @property
    def public_key(self) -> str:
        """The application server key, as `PushManager.subscribe({applicationServerKey})` takes it."""
        raw = self.vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64urlencode(raw)

    def authorization(self, endpoint: str) -> str:
        """The header for this push service, reused for an hour (signing every message would cost throughput)."""
        parts = urlsplit(endpoint)
        audience = f"{parts.scheme}://{parts.netloc}"
        now = time.time()
        cached = self._tokens.get(audience)
        if cached and now - cached[0] < TOKEN_REUSE_SECONDS:
            return cached[1]
        if not self._warned and not_a_contact(self.subject):
            # Once, by a process that sends pushes: not by every `hub` command that starts the plugins.
            self._warned = True
            log.warning(
                "web push: the VAPID subject %s is not a real contact: Apple's push service (Safari, iPhone) "
                "refuses every push signed with it; set server.base_url to the hub's https address or "
                "[plugins.webpush] vapid_subject",
                self.subject,
            )
        header = self.vapid.sign({"aud": audience, "exp": int(now) + TOKEN_SECONDS, "sub": self.subject})
        self._tokens[audience] = (now, header["Authorization"])
        return header["Authorization"]


def _generate() -> str:
    vapid = Vapid02()
    vapid.generate_keys()
    return vapid.private_pem().decode()


def subject(configured: str, public_url: str) -> str:
    """The JWT's `sub`. Apple's push service refuses a token whose contact is on localhost (403 BadJwtToken, every
    push to Safari and iPhones failing), so without a configured one the hub's own https address is used."""
    if configured:
        chosen = configured
    elif public_url.startswith("https://"):
        chosen = public_url
    else:
        chosen = "mailto:hub@localhost"
    return chosen


def not_a_contact(subject: str) -> bool:
    return bool(re.search(r"[@/]localhost(\Z|[:/])|\.(local|invalid|localhost)(\Z|[:/])", subject))


async def load_keys(hub: HubContext) -> VapidKeys:
    """The configured key, or the one kept in the database (generated on first start)."""
    settings = hub.plugin_settings("webpush")
    pem = settings.vapid_private_key or await hub.keep_secret(SECRET_NAME, _generate)
    return VapidKeys(Vapid02.from_pem(pem.encode()), subject(settings.vapid_subject, hub.public_url))
