"""GitHub's webhook signature: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.

The HMAC is over the body exactly as sent (JSON or form-encoded), so it is checked before anything is
decoded. Any of the source's secrets may match, so a secret can be rotated without dropping deliveries.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence

from hub.pluginapi import Rejected

HEADER = "x-hub-signature-256"
SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")


def sign(body: bytes, secret: str) -> str:
    """The header value GitHub sends for `body` signed with `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(headers: Mapping[str, str], body: bytes, secrets: Sequence[str]) -> None:
    """Return when the signature matches one of `secrets`; raise `Rejected` (400 malformed, 401 otherwise)."""
    if not secrets:
        raise Rejected(401, "this source has no secret: set one on the source and the same on the GitHub webhook")
    header = headers.get(HEADER, "").strip()
    if not header:
        raise Rejected(401, "missing X-Hub-Signature-256 header: set a secret on the GitHub webhook")
    match = SIGNATURE.fullmatch(header)
    if match is None:
        raise Rejected(400, "malformed X-Hub-Signature-256 header: expected `sha256=` and 64 hex digits")
    given = "sha256=" + match.group(1).lower()
    if not any(hmac.compare_digest(given, sign(body, secret)) for secret in secrets):
        raise Rejected(401, "X-Hub-Signature-256 does not match: the body was not signed with this source's secret")
