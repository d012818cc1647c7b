"""Turning a rule's targets into recipients: people (with their quiet hours) and their push devices."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.outbox.notifier import Recipient
from hub.routing.rules import Target

# The address of a person reached by push who has no push device: nothing can be sent to them.
NO_DEVICE = ""
# Why they have none, as the delivery log says it: a device goes with the session it was turned on in (hub.sessions).
NO_DEVICE_REASON = "notifications are not on in any browser they are signed in to"


class Person(NamedTuple):
    id: str
    email: str
    timezone: str
    quiet_start: str | None
    quiet_end: str | None


async def people_for(conn: AsyncConnection, target: Target, project_id: int | None) -> list[Person]:
    """The people a team, user or `everyone` target means; `everyone` in a project without listed members is
    every admin (a fresh hub with one admin gets notified without any set-up), never people who cannot read it.
    A project not yet made (None) has no members."""
    u = schema.users.c
    columns = (u.id, u.email, u.timezone, u.quiet_start, u.quiet_end)
    if target.team:
        t, tm = schema.teams.c, schema.team_members.c
        query = (
            select(*columns)
            .join(schema.team_members, tm.user_id == u.id)
            .join(schema.teams, t.id == tm.team_id)
            .where(t.slug == target.team.lower())
        )
    elif target.user:
        query = select(*columns).where(u.email == target.user)
    else:
        pm = schema.project_members.c
        query = select(*columns).join(schema.project_members, pm.user_id == u.id).where(pm.project_id == project_id)
        rows = [Person(*row) for row in await conn.execute(query)]
        if rows:
            return rows
        query = select(*columns).where(u.role == "admin")
    return [Person(*row) for row in await conn.execute(query)]


async def recipients_for(
    conn: AsyncConnection, targets: list[Target], project_id: int | None
) -> list[tuple[Recipient, Person | None]]:
    """Every recipient once, in target order; a person reached by push gets one recipient per device. When nobody
    a target reaches by push has a device, each of them gets one with the address NO_DEVICE (members of a team
    who never turned push on would otherwise add a failed delivery to every notification the others get)."""
    found: dict[tuple[str, str], tuple[Recipient, Person | None]] = {}
    for target in targets:
        if target.slack:
            found.setdefault(("slack", target.slack), (Recipient("slack", target.slack), None))
            continue
        if target.notifier and target.address:
            found.setdefault((target.notifier, target.address), (Recipient(target.notifier, target.address), None))
            continue
        if target.email:
            address = target.email.lower()
            # The address of a hub user is that user: their quiet hours and time zone apply.
            users = await people_for(conn, Target(user=address), project_id)
            person = users[0] if users else None
            recipient = Recipient("email", address, person.id if person else None)
            found.setdefault(("email", address), (recipient, person))
            continue
        people = await people_for(conn, target, project_id)
        if target.via == "email":
            for person in people:
                found.setdefault(("email", person.email), (Recipient("email", person.email, person.id), person))
            continue
        by_id = {p.id: p for p in people}
        if not by_id:
            continue
        ps = schema.push_subscriptions.c
        devices = (
            await conn.execute(
                select(ps.id, ps.user_id).where(ps.user_id.in_(by_id)).order_by(ps.user_id, ps.created_at)
            )
        ).all()
        for row in devices:
            person = by_id[row.user_id]
            found.setdefault(("webpush", row.id), (Recipient("webpush", row.id, person.id), person))
        if not devices:  # nobody this target names can get a push: failed deliveries say why nothing went
            for person in by_id.values():
                found.setdefault(("webpush", f"none:{person.id}"), (Recipient("webpush", NO_DEVICE, person.id), person))
    return list(found.values())
