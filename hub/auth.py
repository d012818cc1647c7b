"""API keys: random, shown once, stored as a SHA-256 hash, with scopes and an optional project.

A key is looked up by its hash (a high-entropy secret needs no slow KDF), and the stored hash is compared
with `hmac.compare_digest`. Verified keys are kept in memory for `auth.key_cache_seconds`, so a revoked key
stops working within that delay in every process.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
from collections.abc import Iterable
from datetime import datetime

import msgspec
from sqlalchemy import select, update

from hub.db import schema
from hub.db.engine import Database
from hub.db.events import ProjectDirectory
from hub.models import SLUG_PATTERN, now_utc

# `act`: run action buttons and self-service actions.
SCOPES = ("ingest", "read", "act", "admin")
KEY_PREFIX = "hub_"
MAX_CACHED_LOOKUPS = 10_000  # keys and unknown tokens looked up lately, kept for `cache_seconds`


class ApiKey(msgspec.Struct, frozen=True):
    id: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    project: str | None
    project_id: int | None
    rate_limit: float | None
    # Set for a signed-in web app user: the projects they belong to (None: every project), and who they are.
    project_ids: frozenset[int] | None = None
    user_id: str | None = None

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    def sees(self, project_id: int) -> bool:
        """Whether this caller may read the project with this id."""
        if self.project_id is not None and project_id != self.project_id:
            return False
        return self.project_ids is None or project_id in self.project_ids


class KeyInfo(msgspec.Struct):
    """A key as the admin API lists it: never the secret, only its first characters."""

    id: str
    name: str
    prefix: str
    scopes: list[str]
    project: str | None
    rate_limit: float | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(scopes))
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown or not chosen:
        raise ValueError(f"scopes must be one or more of {', '.join(SCOPES)}; got {', '.join(chosen) or 'none'}")
    return chosen


class KeyStore:
    def __init__(self, db: Database, projects: ProjectDirectory, cache_seconds: float = 5.0) -> None:
        self.db = db
        self.projects = projects
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}

    async def create(
        self, *, name: str, scopes: Iterable[str], project: str | None = None, rate_limit: float | None = None
    ) -> tuple[KeyInfo, str]:
        """Make a key; the secret is returned here once and never stored."""
        chosen = validate_scopes(scopes)
        # The admin API checks these in its body model; `hub keys create` reaches here with what was typed.
        if project is not None and not re.fullmatch(SLUG_PATTERN, project):
            raise ValueError(f"the project must be a slug (letters, digits, `_ . -`, 1 to 64); got {project!r}")
        if rate_limit is not None and not 0 < rate_limit < math.inf:
            raise ValueError(f"the rate limit must be a positive number of requests per second; got {rate_limit}")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        now = now_utc()
        key_id = "key_" + secrets.token_hex(8)
        async with self.db.writer.begin() as conn:
            project_id = None
            if project:
                project = project.lower()
                project_id = (await self.projects.ensure(conn, [project], now))[project]
            await conn.execute(
                schema.api_keys.insert().values(
                    id=key_id,
                    name=name,
                    key_hash=hash_secret(secret),
                    prefix=secret[:12],
                    scopes=",".join(chosen),
                    project_id=project_id,
                    rate_limit=rate_limit,
                    created_at=now,
                )
            )
        info = KeyInfo(
            id=key_id,
            name=name,
            prefix=secret[:12],
            scopes=list(chosen),
            project=project,
            rate_limit=rate_limit,
            created_at=now,
            last_used_at=None,
            revoked_at=None,
        )
        return info, secret

    async def authenticate(self, secret: str) -> ApiKey | None:
        digest = hash_secret(secret)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached and now - cached[0] < self.cache_seconds:
            return cached[1]
        key = await self._load(digest)
        if len(self._cache) >= MAX_CACHED_LOOKUPS:
            # Full of unknown tokens (someone trying random ones): they go, the keys in use stay, so that the
            # flood does not make every real request look its key up again.
            fresh = now - self.cache_seconds
            self._cache = {d: hit for d, hit in self._cache.items() if hit[1] is not None and hit[0] > fresh}
        self._cache[digest] = (now, key)
        return key

    async def _load(self, digest: str) -> ApiKey | None:
        k = schema.api_keys.c
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(select(schema.api_keys).where(k.key_hash == digest))).mappings().first()
            if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["key_hash"], digest):
                return None
            project = await self.projects.slug(conn, row["project_id"]) if row["project_id"] else None
        async with self.db.writer.begin() as conn:
            await conn.execute(update(schema.api_keys).where(k.id == row["id"]).values(last_used_at=now_utc()))
        return ApiKey(
            id=row["id"],
            name=row["name"],
            prefix=row["prefix"],
            scopes=tuple(row["scopes"].split(",")),
            project=project,
            project_id=row["project_id"],
            rate_limit=row["rate_limit"],
        )

    async def list(self) -> list[KeyInfo]:
        k = schema.api_keys.c
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(select(schema.api_keys).order_by(k.created_at))).mappings().all()
            return [
                KeyInfo(
                    id=r["id"],
                    name=r["name"],
                    prefix=r["prefix"],
                    scopes=r["scopes"].split(","),
                    project=await self.projects.slug(conn, r["project_id"]) if r["project_id"] else None,
                    rate_limit=r["rate_limit"],
                    created_at=r["created_at"],
                    last_used_at=r["last_used_at"],
                    revoked_at=r["revoked_at"],
                )
                for r in rows
            ]

    async def revoke(self, key_id: str) -> bool:
        k = schema.api_keys.c
        async with self.db.writer.begin() as conn:
            result = await conn.execute(
                update(schema.api_keys).where(k.id == key_id, k.revoked_at.is_(None)).values(revoked_at=now_utc())
            )
        self._cache.clear()
        return result.rowcount == 1
