"""Stripe's webhook signature scheme, checked the way stripe-python's `WebhookSignature.verify_header` does.

The header is `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=<hex>]`. Each `v1` is the hex
HMAC-SHA256 of `"<t>.<raw body>"` keyed with an endpoint signing secret (`whsec_...`, used as it is). Any `v1`
may match any of the source's secrets: while a secret is being rolled Stripe sends one `v1` per live secret,
and a source can hold the old and the new one. `v0` (a legacy test-mode scheme) and unknown keys are ignored;
the first `t` counts. As in stripe-python the signature is checked first, then the timestamp, and only a
timestamp too old is refused: one ahead of the hub's clock means that clock is behind Stripe's, and refusing it
would refuse every delivery until Stripe disabled the endpoint.

Status codes: 400 when the header is missing or cannot be read (nothing could be checked), 401 when the
delivery is not authentic (no signature matches, or the timestamp is outside the tolerance: a replay).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import NamedTuple

from hub.pluginapi import Rejected

HEADER = "stripe-signature"
SCHEME = "v1"
# Twelve digits reach past the year 30000; anything longer is not a Unix time (and would be slow to parse).
MAX_TIMESTAMP_DIGITS = 12


class SignatureHeader(NamedTuple):
    timestamp: int
    signatures: list[str]


def parse_header(value: str) -> SignatureHeader:
    """Read `t` and every `v1` from the header; raise `Rejected(400)` when either is missing or malformed."""
    timestamp: str | None = None
    signatures: list[str] = []
    for item in value.split(","):
        key, equals, text = item.partition("=")
        key, text = key.strip(), text.strip()
        if not equals:
            continue
        if key == "t" and timestamp is None:
            timestamp = text
        elif key == SCHEME:
            signatures.append(text)
    if timestamp is None:
        raise Rejected(400, "the Stripe-Signature header has no timestamp (`t=<unix seconds>`)")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        raise Rejected(400, "the Stripe-Signature timestamp `t` must be Unix seconds (digits only)")
    if not signatures:
        raise Rejected(400, f"the Stripe-Signature header has no `{SCHEME}` signature")
    return SignatureHeader(int(timestamp), signatures)


def expected_signature(secret: str, timestamp: int, body: bytes) -> bytes:
    """The hex `v1` signature Stripe computes for this body and timestamp with this secret."""
    key = secret.encode("utf-8", "surrogatepass")
    return hmac.new(key, b"%d." % timestamp + body, hashlib.sha256).hexdigest().encode("ascii")


def verify_signature(body: bytes, header: str | None, secrets: Sequence[str], *, now: float, tolerance: int) -> None:
    """Accept the delivery or raise `Rejected`: 400 for a missing or unreadable header, 401 when not authentic."""
    if header is None or not header.strip():
        raise Rejected(400, "the Stripe-Signature header is missing")
    parsed = parse_header(header)
    # Header text may hold anything; as bytes it can always be compared (a non-hex value simply never matches).
    candidates = [signature.encode("utf-8", "surrogatepass") for signature in parsed.signatures]
    expected = [expected_signature(secret, parsed.timestamp, body) for secret in secrets]
    if not any(hmac.compare_digest(mine, theirs) for mine in expected for theirs in candidates):
        raise Rejected(401, "no `v1` signature in the Stripe-Signature header matches this source's signing secrets")
    if not tolerance:
        return
    age = now - parsed.timestamp
    if age > tolerance:
        raise Rejected(
            401, f"the Stripe-Signature timestamp is {age:.0f} s old, beyond the tolerance of {tolerance} s (a replay?)"
        )
