"""Password hashing with scrypt (hashlib, so no extra dependency): memory-hard, tunable, in every OpenSSL.

Why scrypt over Argon2id: both are what OWASP recommends; scrypt ships in the standard library, so the hub
needs no compiled wheel on any platform. Parameters follow OWASP's scrypt row N=2^14, r=8, p=5 (16 MiB per
hash, five lanes). The hash string records its parameters, so they can be raised later: `needs_rehash` tells
the sign-in code to re-hash with the current ones.

Format: `scrypt$<log2 N>$<r>$<p>$<salt b64>$<hash b64>`.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets

LOG_N, R, P = 14, 8, 5
SALT_BYTES = 16
HASH_BYTES = 32
MIN_LENGTH = 10
MAX_LENGTH = 1024
# scrypt needs 128 * r * N bytes; OpenSSL's default cap (32 MiB) is enough, this leaves room to raise N.
MAX_MEMORY = 256 * 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=2**log_n, r=r, p=p, maxmem=MAX_MEMORY, dklen=HASH_BYTES)


def check_strength(password: str) -> None:
    """Only length is enforced (NIST 800-63B): long passphrases beat composition rules."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"the password must be at most {MAX_LENGTH} characters long")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    return f"scrypt${LOG_N}${R}${P}${_b64(salt)}${_b64(_derive(password, salt, LOG_N, R, P))}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time comparison; a missing or malformed hash never matches."""
    if not stored or len(password) > MAX_LENGTH:
        return False
    try:
        scheme, log_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(password, _unb64(salt), int(log_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, _unb64(digest))


def needs_rehash(stored: str) -> bool:
    return not stored.startswith(f"scrypt${LOG_N}${R}${P}$")


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password: signing in as an unknown email costs the same time as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


async def hash_password_async(password: str) -> str:
    """Hashing takes tens of milliseconds of CPU: off the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password: str, stored: str | None) -> bool:
    return await asyncio.to_thread(verify_password, password, stored or _dummy_hash())
