"""The rule book: rules from the config file first, then those stored through the admin API, in order.

Stored rules are cached per process and re-read every `delivery.rules_reload_seconds`, so a change made
through one process reaches the others within that delay.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.db.engine import Database
from hub.models import now_utc
from hub.routing.rules import Rule

log = logging.getLogger(__name__)

MAX_STORED_RULES = 500


class RuleConflict(Exception):
    """The rule name belongs to the config file, or a limit was reached; answered with 409."""


class RuleBook:
    def __init__(self, db: Database, configured: list[Rule], reload_seconds: float) -> None:
        self.db = db
        self.configured = configured
        self.reload_seconds = reload_seconds
        self._stored: list[Rule] = []
        self._loaded_at = float("-inf")

    async def rules(self, conn: AsyncConnection) -> list[Rule]:
        """All rules in evaluation order; re-reads the stored ones when the cache is stale."""
        if time.monotonic() - self._loaded_at >= self.reload_seconds:
            await self._load(conn)
        return [*self.configured, *self._stored]

    async def sending_to(self, conn: AsyncConnection, *, team: str = "", user_email: str = "") -> str | None:
        """The first rule that sends to this team or user: deleting it would leave the rule notifying nobody. Read
        afresh, not from the cache: a rule another process saved a moment ago counts."""
        await self._load(conn)
        for rule in await self.rules(conn):
            if any((team and t.team == team.lower()) or (user_email and t.user == user_email) for t in rule.targets):
                return rule.name
        return None

    async def _load(self, conn: AsyncConnection) -> None:
        r = schema.routing_rules.c
        stored = []
        configured = {rule.name for rule in self.configured}
        for row in await conn.execute(select(r.name, r.definition).order_by(r.position, r.name)):
            if row.name in configured:
                # Stored before the config file took the name: the file's rule is the one in force.
                log.error(
                    "stored routing rule %r is skipped: the config file defines a rule of that name "
                    "(DELETE /api/v1/routes/%s deletes the stored one)",
                    row.name,
                    row.name,
                )
                continue
            try:
                stored.append(msgspec.convert(row.definition, Rule))
            except msgspec.ValidationError as exc:
                # Saved before a rule was tightened. Routing runs in every ingest transaction: one bad rule must
                # not stop events from being stored.
                log.error("routing rule %r no longer validates and is skipped until saved again: %s", row.name, exc)
        self._stored = stored
        self._loaded_at = time.monotonic()

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def stored(self) -> list[Rule]:
        async with self.db.reader.connect() as conn:
            await self._load(conn)
        return list(self._stored)

    async def save(self, rule: Rule, position: int | None = None) -> Rule:
        """Create or replace a stored rule; new ones go last unless `position` (0-based) says otherwise."""
        if any(c.name == rule.name for c in self.configured):
            raise RuleConflict(f"rule {rule.name} is defined in the config file; change it there")
        r = schema.routing_rules.c
        now = now_utc()
        definition: Any = msgspec.to_builtins(rule)
        async with self.db.writer.begin() as conn:
            existing = (await conn.execute(select(r.position).where(r.name == rule.name))).scalar()
            if existing is None:
                count = (await conn.execute(select(func.count()).select_from(schema.routing_rules))).scalar() or 0
                if count >= MAX_STORED_RULES:
                    raise RuleConflict(f"at most {MAX_STORED_RULES} rules can be stored")
                last = (await conn.execute(select(func.max(r.position)))).scalar()
                new_position = (last + 1) if last is not None else 0
                await conn.execute(
                    schema.routing_rules.insert().values(
                        name=rule.name, position=new_position, definition=definition, created_at=now, updated_at=now
                    )
                )
            else:
                await conn.execute(
                    update(schema.routing_rules)
                    .where(r.name == rule.name)
                    .values(definition=definition, updated_at=now)
                )
            if position is not None:
                await self._move(conn, rule.name, position)
        self.invalidate()
        return rule

    async def _move(self, conn: AsyncConnection, name: str, position: int) -> None:
        r = schema.routing_rules.c
        names = [row.name for row in await conn.execute(select(r.name).order_by(r.position, r.name))]
        names.remove(name)
        names.insert(min(position, len(names)), name)
        for index, each in enumerate(names):
            await conn.execute(update(schema.routing_rules).where(r.name == each).values(position=index))

    async def delete(self, name: str) -> bool:
        """Delete a stored rule. For a name the config file defines, that is the stored rule the file's hides (saved
        before the file took the name, and skipped since); the file's own rule is changed in the file."""
        async with self.db.writer.begin() as conn:
            result = await conn.execute(delete(schema.routing_rules).where(schema.routing_rules.c.name == name))
        self.invalidate()
        if result.rowcount == 0 and any(c.name == name for c in self.configured):
            raise RuleConflict(f"rule {name} is defined in the config file; remove it there")
        return result.rowcount == 1
