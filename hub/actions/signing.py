"""Standard Webhooks signatures (standardwebhooks.com): the headers every action request carries.

`webhook-signature` is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed with the secret's bytes (the
`whsec_` prefix stripped, the rest base64-decoded). During a rotation it holds one signature per secret,
separated by spaces, so receivers holding either secret accept the request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest()).decode()


def sign_headers(secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets_),
    }


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The signature's half of the receiving side, for tests (a receiver also checks the timestamp, the id and
    the body's `url`: see the README)."""
    timestamp = headers.get("webhook-timestamp", "")
    if not timestamp.isdigit():
        return False
    expected = signature(secret, headers.get("webhook-id", ""), int(timestamp), body).encode()
    given = headers.get("webhook-signature", "").split(" ")
    return any(hmac.compare_digest(expected, signature_.encode()) for signature_ in given)
