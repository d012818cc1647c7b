"""Browser sessions for the web app: an opaque random token in an HttpOnly cookie, stored only as its hash.

Each session carries its own CSRF token (the synchronizer pattern): the page reads it from
`GET /api/v1/session` and sends it back in `X-CSRF-Token` on every change; a cross-site page can make the
browser send the cookie but can never read the token. Sessions slide: each use (at most every few minutes)
extends them by `auth.session_days`, up to `MAX_AGE` after sign-in.

A session takes the push devices registered in it along when it ends (signed out, expired, or ended with all the
user's others): the foreign key's ON DELETE CASCADE deletes them with it. So whoever held a session for a while
cannot keep receiving the user's notifications on a device of theirs.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import Column, ForeignKey, Index, String, Table, delete, select, update

from hub.db import schema
from hub.db.engine import Database
from hub.db.schema import UTCDateTime
from hub.models import now_utc

COOKIE = "hub_session"
# Over HTTPS the cookie carries the `__Host-` prefix: browsers then take it only when set Secure, for the whole
# site and this host alone, so a page on a sibling subdomain cannot plant a session of its own choosing.
SECURE_COOKIE = f"__Host-{COOKIE}"
CSRF_HEADER = "x-csrf-token"
MAX_AGE = timedelta(days=90)
# Writing `last_seen_at` on every request would make each read a write; this often is enough to slide.
TOUCH_EVERY = timedelta(minutes=5)
# How often the `sessions` job clears expired sessions, and so their push devices: about as exact as TOUCH_EVERY.
SWEEP_SECONDS = 300

sessions = Table(
    "sessions",
    schema.metadata,
    Column("id", String(64), primary_key=True),  # SHA-256 of the cookie's token
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("user_agent", String(256), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Index("ix_sessions_user_id", "user_id"),
    Index("ix_sessions_expires_at", "expires_at"),
)


class SessionUser(msgspec.Struct, frozen=True):
    """Who a valid session belongs to, with what they may see: the projects they are a member of."""

    session_id: str
    user_id: str
    email: str
    name: str
    role: str
    csrf_token: str
    project_ids: frozenset[int]

    def csrf_ok(self, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(sent.encode(), self.csrf_token.encode())


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionStore:
    def __init__(self, db: Database, lifetime: timedelta) -> None:
        self.db = db
        self.lifetime = lifetime

    async def create(self, user_id: str, user_agent: str | None, *, devices_from: str | None = None) -> str:
        """A new session for a user who just proved who they are; returns the cookie's token (never stored).

        `devices_from`: a session of theirs whose push devices move to the new one (the browser that changed the
        password keeps its notifications)."""
        token = secrets.token_urlsafe(32)
        now = now_utc()
        async with self.db.writer.begin() as conn:
            await conn.execute(
                sessions.insert().values(
                    id=token_id(token),
                    user_id=user_id,
                    csrf_token=secrets.token_urlsafe(32),
                    user_agent=(user_agent or "")[:256] or None,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.lifetime,
                )
            )
            if devices_from:
                devices = schema.push_subscriptions
                await conn.execute(
                    update(devices).where(devices.c.session_id == devices_from).values(session_id=token_id(token))
                )
        return token

    async def load(self, token: str) -> SessionUser | None:
        s, u, pm = sessions.c, schema.users.c, schema.project_members.c
        now = now_utc()
        session_id = token_id(token)
        async with self.db.reader.connect() as conn:
            row = (
                await conn.execute(
                    select(s.id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, u.id.label("user_id"))
                    .add_columns(u.email, u.name, u.role)
                    .join(schema.users, u.id == s.user_id)
                    .where(s.id == session_id)
                )
            ).first()
            if row is None or row.expires_at <= now:
                return None
            projects = frozenset((await conn.execute(select(pm.project_id).where(pm.user_id == row.user_id))).scalars())
        if now - row.last_seen_at >= TOUCH_EVERY:
            await self._touch(session_id, row.created_at, now)
        return SessionUser(
            session_id=session_id,
            user_id=row.user_id,
            email=row.email,
            name=row.name,
            role=row.role,
            csrf_token=row.csrf_token,
            project_ids=projects,
        )

    async def _touch(self, session_id: str, created_at: datetime, now: datetime) -> None:
        expires = min(now + self.lifetime, created_at + MAX_AGE)
        async with self.db.writer.begin() as conn:
            await conn.execute(
                update(sessions).where(sessions.c.id == session_id).values(last_seen_at=now, expires_at=expires)
            )

    async def end(self, session_id: str) -> None:
        async with self.db.writer.begin() as conn:
            await conn.execute(delete(sessions).where(sessions.c.id == session_id))

    async def end_all(self, user_id: str, keep: str | None = None) -> None:
        """Sign a user out everywhere (a password change or reset), except the session `keep`. Their push devices in
        no session (registered by an admin, or before devices had one) go too: every device but `keep`'s."""
        ended = sessions.c.user_id == user_id
        if keep:
            ended &= sessions.c.id != keep
        devices = schema.push_subscriptions.c
        async with self.db.writer.begin() as conn:
            await conn.execute(
                delete(schema.push_subscriptions).where(devices.user_id == user_id, devices.session_id.is_(None))
            )
            await conn.execute(delete(sessions).where(ended))

    async def end_expired(self) -> None:
        """Clear the sessions past their deadline, and so their push devices: the `sessions` job, every few minutes."""
        async with self.db.writer.begin() as conn:
            await conn.execute(delete(sessions).where(sessions.c.expires_at <= now_utc()))
