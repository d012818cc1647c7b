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
    """The receiving side, for tests and for people writing a receiver in Python without the package."""
    expected = signature(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    return any(hmac.compare_digest(expected, given) for given in headers["webhook-signature"].split(" "))
