"""The sign-in side of users (hub/people owns the rest): find one by email with their password hash, set one."""

from __future__ import annotations

import msgspec
from sqlalchemy import select, update

from hub.db import schema
from hub.db.engine import Database
from hub.models import now_utc
from hub.passwords import check_strength, hash_password_async


class Login(msgspec.Struct, frozen=True):
    user_id: str
    email: str
    password_hash: str | None


async def find_login(db: Database, ref: str) -> Login | None:
    """By email (case-insensitive) or by user id."""
    u = schema.users.c
    condition = u.email == ref.strip().lower() if "@" in ref else u.id == ref
    async with db.reader.connect() as conn:
        row = (await conn.execute(select(u.id, u.email, u.password_hash).where(condition))).first()
    return Login(row.id, row.email, row.password_hash) if row else None


async def set_password(db: Database, user_id: str, password: str) -> None:
    """Hash and store a new password (raises ValueError when it is too short or too long)."""
    check_strength(password)
    await store_hash(db, user_id, await hash_password_async(password))


async def store_hash(db: Database, user_id: str, password_hash: str) -> None:
    async with db.writer.begin() as conn:
        await conn.execute(
            update(schema.users)
            .where(schema.users.c.id == user_id)
            .values(password_hash=password_hash, updated_at=now_utc())
        )
