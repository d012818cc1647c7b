"""Storage for users, teams, memberships and push subscriptions; every change is one writer transaction."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.db.engine import Database
from hub.db.events import ProjectDirectory
from hub.models import ValidationProblem, now_utc
from hub.outbox.log import USER_DELETED
from hub.people.models import (
    MAX_SUBSCRIPTIONS_PER_USER,
    Quiet,
    SubscriptionIn,
    SubscriptionOut,
    TeamIn,
    TeamOut,
    UserIn,
    UserOut,
    UserPatch,
)
from hub.sessions import sessions


class Conflict(Exception):
    """A unique value (email, team slug) is taken; answered with 409."""


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


async def _hold_session(conn: AsyncConnection, session_id: str) -> bool:
    """Whether the session is there, kept so until the transaction ends: on PostgreSQL, a sign-out meanwhile waits
    for the device to be registered and then removes it (SQLite has a single writer: nothing happens meanwhile)."""
    query = select(sessions.c.id).where(sessions.c.id == session_id).with_for_update(read=True, key_share=True)
    return (await conn.execute(query)).first() is not None


class People:
    def __init__(self, db: Database, projects: ProjectDirectory) -> None:
        self.db = db
        self.projects = projects
        # Subscription lookups asked for in the same moment (an outbox round sends many pushes at once) are
        # answered by one query: subscription id -> the futures waiting for it.
        self._wanted: dict[str, list[asyncio.Future[dict[str, Any] | None]]] = {}
        self._lookup: asyncio.Task[None] | None = None

    # Users

    async def create_user(self, data: UserIn) -> UserOut:
        now = now_utc()
        user_id = new_id("usr")
        try:
            async with self.db.writer.begin() as conn:
                await conn.execute(
                    schema.users.insert().values(
                        id=user_id,
                        email=data.email,
                        name=data.name,
                        role=data.role,
                        timezone=data.timezone,
                        quiet_start=data.quiet_hours.start if data.quiet_hours else None,
                        quiet_end=data.quiet_hours.end if data.quiet_hours else None,
                        created_at=now,
                        updated_at=now,
                    )
                )
                await self._set_projects(conn, user_id, data.projects)
                for slug in data.teams:
                    team_id = await self._team_id(conn, slug)
                    await conn.execute(schema.team_members.insert().values(team_id=team_id, user_id=user_id))
        except IntegrityError:
            raise Conflict(f"a user with email {data.email} already exists") from None
        found = await self.get_user(user_id)
        assert found is not None
        return found

    async def update_user(self, ref: str, patch: UserPatch) -> UserOut | None:
        values: dict[str, Any] = {
            k: v
            for k, v in msgspec.structs.asdict(patch).items()
            if v is not msgspec.UNSET and k not in ("quiet_hours", "projects")
        }
        if patch.quiet_hours is not msgspec.UNSET:
            quiet = patch.quiet_hours
            values["quiet_start"] = quiet.start if quiet else None
            values["quiet_end"] = quiet.end if quiet else None
        try:
            async with self.db.writer.begin() as conn:
                user_id = await self._user_id(conn, ref)
                if user_id is None:
                    return None
                await conn.execute(
                    update(schema.users).where(schema.users.c.id == user_id).values(**values, updated_at=now_utc())
                )
                if isinstance(patch.projects, list):
                    await conn.execute(
                        delete(schema.project_members).where(schema.project_members.c.user_id == user_id)
                    )
                    await self._set_projects(conn, user_id, patch.projects)
        except IntegrityError:
            raise Conflict(f"a user with email {patch.email} already exists") from None
        return await self.get_user(user_id)

    async def delete_user(self, ref: str) -> bool:
        async with self.db.writer.begin() as conn:
            user_id = await self._user_id(conn, ref)
            if user_id is None:
                return False
            # Explicit rather than relying on SQLite's foreign_keys pragma being on for every connection.
            for table in (schema.team_members, schema.project_members, schema.push_subscriptions):
                await conn.execute(delete(table).where(table.c.user_id == user_id))
            await conn.execute(delete(schema.users).where(schema.users.c.id == user_id))
            # What waits for them (held by their quiet hours, or to be retried) is not theirs to read any more.
            d = schema.deliveries.c
            await conn.execute(
                update(schema.deliveries)
                .where(d.user_id == user_id, d.state.in_(("pending", "held")))
                .values(state="failed", finished_at=now_utc(), last_error=USER_DELETED)
            )
        return True

    async def get_user(self, ref: str) -> UserOut | None:
        async with self.db.reader.connect() as conn:
            user_id = await self._user_id(conn, ref)
            if user_id is None:
                return None
            return (await self._users(conn, [user_id]))[0]

    async def list_users(self) -> list[UserOut]:
        async with self.db.reader.connect() as conn:
            return await self._users(conn, None)

    async def _users(self, conn: AsyncConnection, ids: list[str] | None) -> list[UserOut]:
        u = schema.users.c
        query = select(schema.users).order_by(u.email)
        if ids is not None:
            query = query.where(u.id.in_(ids))
        rows = (await conn.execute(query)).mappings().all()
        wanted = [r["id"] for r in rows]
        teams: dict[str, list[str]] = {}
        tm, t = schema.team_members.c, schema.teams.c
        for row in await conn.execute(
            select(tm.user_id, t.slug).join(schema.teams, t.id == tm.team_id).where(tm.user_id.in_(wanted))
        ):
            teams.setdefault(row.user_id, []).append(row.slug)
        projects: dict[str, list[str]] = {}
        pm, p = schema.project_members.c, schema.projects.c
        for row in await conn.execute(
            select(pm.user_id, p.slug).join(schema.projects, p.id == pm.project_id).where(pm.user_id.in_(wanted))
        ):
            projects.setdefault(row.user_id, []).append(row.slug)
        return [
            UserOut(
                id=r["id"],
                email=r["email"],
                name=r["name"],
                role=r["role"],
                timezone=r["timezone"],
                quiet_hours=Quiet(r["quiet_start"], r["quiet_end"]) if r["quiet_start"] else None,
                projects=sorted(projects.get(r["id"], [])),
                teams=sorted(teams.get(r["id"], [])),
                created_at=r["created_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]

    async def _user_id(self, conn: AsyncConnection, ref: str) -> str | None:
        u = schema.users.c
        column = u.email if "@" in ref else u.id
        return (await conn.execute(select(u.id).where(column == ref.lower() if "@" in ref else column == ref))).scalar()

    async def _set_projects(self, conn: AsyncConnection, user_id: str, slugs: Iterable[str]) -> None:
        wanted = sorted({s.lower() for s in slugs})
        if not wanted:
            return
        ids = await self.projects.ensure(conn, wanted, now_utc())
        await conn.execute(
            schema.project_members.insert(), [{"project_id": ids[s], "user_id": user_id} for s in wanted]
        )

    # Teams

    async def create_team(self, data: TeamIn) -> TeamOut:
        now = now_utc()
        team_id = new_id("team")
        try:
            async with self.db.writer.begin() as conn:
                await conn.execute(
                    schema.teams.insert().values(
                        id=team_id, slug=data.slug, name=data.name, created_at=now, updated_at=now
                    )
                )
                for index, ref in enumerate(dict.fromkeys(data.members)):
                    user_id = await self._user_id(conn, ref)
                    if user_id is None:
                        raise ValidationProblem(f"no user {ref!r}", f"members[{index}]")
                    await conn.execute(schema.team_members.insert().values(team_id=team_id, user_id=user_id))
        except IntegrityError:
            raise Conflict(f"a team with slug {data.slug} already exists") from None
        found = await self.get_team(data.slug)
        assert found is not None
        return found

    async def rename_team(self, slug: str, name: str) -> TeamOut | None:
        async with self.db.writer.begin() as conn:
            result = await conn.execute(
                update(schema.teams).where(schema.teams.c.slug == slug.lower()).values(name=name, updated_at=now_utc())
            )
        return await self.get_team(slug) if result.rowcount else None

    async def delete_team(self, slug: str) -> bool:
        async with self.db.writer.begin() as conn:
            team_id = (
                await conn.execute(select(schema.teams.c.id).where(schema.teams.c.slug == slug.lower()))
            ).scalar()
            if team_id is None:
                return False
            await conn.execute(delete(schema.team_members).where(schema.team_members.c.team_id == team_id))
            await conn.execute(delete(schema.teams).where(schema.teams.c.id == team_id))
        return True

    async def set_member(self, slug: str, ref: str, *, member: bool) -> TeamOut | None:
        """Add or remove a user; None when the team or the user does not exist."""
        async with self.db.writer.begin() as conn:
            team_id = (
                await conn.execute(select(schema.teams.c.id).where(schema.teams.c.slug == slug.lower()))
            ).scalar()
            user_id = await self._user_id(conn, ref)
            if team_id is None or user_id is None:
                return None
            tm = schema.team_members.c
            await conn.execute(delete(schema.team_members).where(tm.team_id == team_id, tm.user_id == user_id))
            if member:
                await conn.execute(schema.team_members.insert().values(team_id=team_id, user_id=user_id))
        return await self.get_team(slug)

    async def get_team(self, slug: str) -> TeamOut | None:
        teams = await self._teams(slug.lower())
        return teams[0] if teams else None

    async def list_teams(self) -> list[TeamOut]:
        return await self._teams(None)

    async def _teams(self, slug: str | None) -> list[TeamOut]:
        t, tm, u = schema.teams.c, schema.team_members.c, schema.users.c
        query = select(schema.teams).order_by(t.slug)
        if slug is not None:
            query = query.where(t.slug == slug)
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
            members: dict[str, list[str]] = {}
            for row in await conn.execute(
                select(tm.team_id, u.email)
                .join(schema.users, u.id == tm.user_id)
                .where(tm.team_id.in_([r["id"] for r in rows]))
                .order_by(u.email)
            ):
                members.setdefault(row.team_id, []).append(row.email)
        return [
            TeamOut(
                id=r["id"],
                slug=r["slug"],
                name=r["name"],
                members=members.get(r["id"], []),
                created_at=r["created_at"],
                updated_at=r["updated_at"],
            )
            for r in rows
        ]

    async def _team_id(self, conn: AsyncConnection, slug: str) -> str:
        team_id = (await conn.execute(select(schema.teams.c.id).where(schema.teams.c.slug == slug.lower()))).scalar()
        if team_id is None:
            raise ValidationProblem(f"no team {slug!r}", "teams")
        return team_id

    # Push subscriptions

    async def add_subscription(
        self, ref: str, data: SubscriptionIn, session_id: str | None = None
    ) -> SubscriptionOut | None:
        """Register a browser; the same endpoint registered again replaces the old row (and may change owner).

        `session_id`: the web app session registering it, which takes it along when it ends. None when the user, or
        that session, no longer exists."""
        ps = schema.push_subscriptions.c
        async with self.db.writer.begin() as conn:
            user_id = await self._user_id(conn, ref)
            if user_id is None or (session_id is not None and not await _hold_session(conn, session_id)):
                return None
            await conn.execute(delete(schema.push_subscriptions).where(ps.endpoint == data.endpoint))
            count = (
                await conn.execute(
                    select(func.count()).select_from(schema.push_subscriptions).where(ps.user_id == user_id)
                )
            ).scalar() or 0
            if count >= MAX_SUBSCRIPTIONS_PER_USER:
                raise ValidationProblem(
                    f"a user may have at most {MAX_SUBSCRIPTIONS_PER_USER} push subscriptions; remove one first",
                    "endpoint",
                )
            out = SubscriptionOut(
                id=new_id("sub"),
                user_id=user_id,
                endpoint=data.endpoint,
                user_agent=data.user_agent,
                created_at=now_utc(),
            )
            await conn.execute(
                schema.push_subscriptions.insert().values(
                    id=out.id,
                    user_id=user_id,
                    endpoint=data.endpoint,
                    p256dh=data.keys.p256dh,
                    auth=data.keys.auth,
                    user_agent=data.user_agent,
                    created_at=out.created_at,
                    session_id=session_id,
                )
            )
        return out

    async def list_subscriptions(self, ref: str) -> list[SubscriptionOut] | None:
        ps = schema.push_subscriptions.c
        async with self.db.reader.connect() as conn:
            user_id = await self._user_id(conn, ref)
            if user_id is None:
                return None
            rows = await conn.execute(
                select(schema.push_subscriptions).where(ps.user_id == user_id).order_by(ps.created_at)
            )
            return [
                SubscriptionOut(
                    id=r.id, user_id=r.user_id, endpoint=r.endpoint, user_agent=r.user_agent, created_at=r.created_at
                )
                for r in rows
            ]

    async def remove_subscription(self, subscription_id: str, user_ref: str | None = None) -> bool:
        ps = schema.push_subscriptions.c
        async with self.db.writer.begin() as conn:
            query = delete(schema.push_subscriptions).where(ps.id == subscription_id)
            if user_ref is not None:
                query = query.where(ps.user_id == await self._user_id(conn, user_ref))
            result = await conn.execute(query)
        return result.rowcount == 1

    async def subscription(self, subscription_id: str) -> dict[str, Any] | None:
        """The endpoint and keys of one subscription, as pywebpush takes them.

        Concurrent calls are gathered into one query, so a round of a thousand pushes costs a few queries.
        """
        future: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
        self._wanted.setdefault(subscription_id, []).append(future)
        if self._lookup is None:
            self._lookup = asyncio.ensure_future(self._look_up())
        return await future

    async def _look_up(self) -> None:
        await asyncio.sleep(0)  # let the other sends of this moment ask too
        wanted, self._wanted, self._lookup = self._wanted, {}, None
        ps = schema.push_subscriptions.c
        found: dict[str, dict[str, Any]] = {}
        try:
            ids = list(wanted)
            async with self.db.reader.connect() as conn:
                for start in range(0, len(ids), 500):
                    rows = await conn.execute(
                        select(ps.id, ps.endpoint, ps.p256dh, ps.auth).where(ps.id.in_(ids[start : start + 500]))
                    )
                    for row in rows:
                        found[row.id] = {"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh, "auth": row.auth}}
        except BaseException as exc:
            for futures in wanted.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("cancelled"))
            raise
        for key, futures in wanted.items():
            for future in futures:
                if not future.done():
                    future.set_result(found.get(key))
