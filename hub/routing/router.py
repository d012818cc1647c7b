"""Routing stored events into the outbox, inside the transaction that stores them.

Registered as an ingest transaction hook: a notification and its deliveries exist exactly when the event
does. Nothing is sent here; the outbox worker delivers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.db.events import ProjectDirectory
from hub.models import BACKFILL_AFTER, EventOut, now_utc
from hub.outbox.notifier import Recipient
from hub.routing.book import RuleBook
from hub.routing.grouping import fingerprint, group_key, quiet_until
from hub.routing.matcher import explain
from hub.routing.recipients import Person, recipients_for
from hub.routing.rules import Rule, Target

if TYPE_CHECKING:
    from hub.ingest import AfterWrite

# Events with `notify: true` that no rule matched: web push to everyone in the project.
DEFAULT_RULE = Rule(name="default", targets=[Target(everyone=True)])


class Verdict(msgspec.Struct):
    """One rule's decision for one event, for `hub routes test` and the admin API."""

    rule: str
    matched: bool
    reasons: list[str]
    targets: list[str]
    # True when this rule matched without `continue`, so later rules were not looked at.
    stops: bool = False


def silent_reason(event: EventOut, *, backfill: bool) -> str | None:
    """Why an event never notifies, whatever the rules say: test mode, or a backfill (see Draft.backfill)."""
    if event.test:
        return "test-mode events never notify"
    if backfill:
        return f"backfilled events (stamped more than {BACKFILL_AFTER.seconds // 60} minutes ago) never notify"
    return None


def plan(rules: list[Rule], event: EventOut) -> list[Verdict]:
    """Rules in order until one matches without `continue`; the default rule when none matched."""
    verdicts: list[Verdict] = []
    for rule in rules:
        if not rule.enabled:
            verdicts.append(Verdict(rule.name, False, ["the rule is disabled"], []))
            continue
        ok, reasons = explain(rule.match, event)
        verdict = Verdict(rule.name, ok, reasons, [t.describe() for t in rule.targets] if ok else [])
        verdicts.append(verdict)
        if ok and not rule.continue_:
            verdict.stops = True
            break
    if event.notify and not any(v.matched for v in verdicts):
        verdicts.append(
            Verdict(
                DEFAULT_RULE.name,
                True,
                ["no rule matched and the event has notify: true"],
                [t.describe() for t in DEFAULT_RULE.targets],
                stops=True,
            )
        )
    return verdicts


class Router:
    def __init__(self, book: RuleBook, projects: ProjectDirectory) -> None:
        self.book = book
        self.projects = projects

    async def route(
        self, conn: AsyncConnection, events: list[EventOut], backfills: frozenset[str]
    ) -> AfterWrite | None:
        """The ingest transaction hook: decides before the events are written, and returns the outbox writes to
        make after them, or None when no rule matched (most events), so the writer can commit in one trip."""
        eligible = [e for e in events if silent_reason(e, backfill=e.id in backfills) is None]
        if not eligible:
            return None
        rules = {r.name: r for r in await self.book.rules(conn)}
        rules[DEFAULT_RULE.name] = DEFAULT_RULE
        ordered = [r for name, r in rules.items() if name != DEFAULT_RULE.name]
        matches = [
            (rules[verdict.rule], event) for event in eligible for verdict in plan(ordered, event) if verdict.matched
        ]
        if not matches:
            return None

        async def write(conn: AsyncConnection) -> None:
            now = now_utc()
            # Who a rule reaches in a project, looked up once per transaction: a burst (a catch-up of missed
            # checks, a batch) would otherwise repeat the same people and devices queries for every event.
            reach: dict[tuple[str, int], list[tuple[Recipient, Person | None]]] = {}
            for rule, event in matches:
                await self._notify(conn, rule, event, now, reach)

        return write

    async def _notify(
        self,
        conn: AsyncConnection,
        rule: Rule,
        event: EventOut,
        now: datetime,
        reach: dict[tuple[str, int], list[tuple[Recipient, Person | None]]],
    ) -> None:
        n = schema.notifications.c
        event_id = int(event.id)
        project_id = await self.projects.lookup(conn, event.project)
        assert project_id is not None
        fp = None
        if rule.dedupe_seconds:
            fp = fingerprint(event)
            seen = await conn.execute(
                select(n.id)
                .where(
                    n.rule == rule.name,
                    n.fingerprint == fp,
                    n.created_at >= now - timedelta(seconds=rule.dedupe_seconds),
                )
                .limit(1)
            )
            if seen.first() is not None:
                return
        key = group_key(rule.group_by, event) if rule.group_by or rule.group_window_seconds else None
        send_at = now
        window_ends_at = None
        if rule.group_window_seconds:
            # A group reaches the people of its own project; an event of another project starts its own.
            same_group = (n.rule == rule.name, n.project_id == project_id, n.group_key == key, n.window_ends_at > now)
            query = select(n.id).where(*same_group)
            if event.severity == "critical":
                # Critical events are never held, nor sent under a milder event's title: one joins only a group
                # a critical event opened, and otherwise opens its own.
                e = schema.events.c
                query = query.join(schema.events, e.id == n.event_id).where(e.severity == "critical")
            open_group = (await conn.execute(query.order_by(n.window_ends_at.desc()).limit(1))).scalar()
            if open_group is not None:
                await conn.execute(
                    update(schema.notifications)
                    .where(n.id == open_group)
                    .values(event_count=n.event_count + 1, last_event_id=event_id)
                )
                return
            window_ends_at = send_at = now + timedelta(seconds=rule.group_window_seconds)
        notification_id = (
            await conn.execute(
                schema.notifications.insert()
                .values(
                    rule=rule.name,
                    project_id=project_id,
                    event_id=event_id,
                    last_event_id=event_id,
                    event_count=1,
                    group_key=key,
                    fingerprint=fp,
                    window_ends_at=window_ends_at,
                    created_at=now,
                )
                .returning(n.id)
            )
        ).scalar_one()
        if (rule.name, project_id) not in reach:
            reach[(rule.name, project_id)] = await recipients_for(conn, rule.targets, project_id)
        rows = []
        for recipient, person in reach[(rule.name, project_id)]:
            state, when = "pending", send_at
            if rule.rate_limit and await self._over_limit(conn, rule, recipient.address, now):
                state = "suppressed"
            elif event.severity != "critical":
                held_until = _quiet_end(rule, person, now)
                if held_until is not None:
                    state, when = "held", max(when, held_until)
            rows.append(
                {
                    "notification_id": notification_id,
                    "rule": rule.name,
                    "notifier": recipient.notifier,
                    "address": recipient.address,
                    "user_id": recipient.user_id,
                    "state": state,
                    "attempts": 0,
                    "next_attempt_at": when,
                    "budget_from": when,
                    "created_at": now,
                    "finished_at": now if state == "suppressed" else None,
                }
            )
        if rows:
            await conn.execute(schema.deliveries.insert(), rows)

    async def _over_limit(self, conn: AsyncConnection, rule: Rule, address: str, now: datetime) -> bool:
        d = schema.deliveries.c
        since = now - timedelta(seconds=rule.rate_period_seconds)
        sent = (
            await conn.execute(
                select(func.count())
                .select_from(schema.deliveries)
                .where(d.rule == rule.name, d.address == address, d.created_at >= since, d.state != "suppressed")
            )
        ).scalar() or 0
        return sent >= rule.rate_limit


def _quiet_end(rule: Rule, person: Person | None, now: datetime) -> datetime | None:
    """When the later of the rule's and the person's quiet hours ends, if either holds now."""
    ends = []
    if rule.quiet_hours:
        q = rule.quiet_hours
        ends.append(quiet_until(q.start, q.end, q.timezone, now))
    if person is not None and person.quiet_start and person.quiet_end:
        ends.append(quiet_until(person.quiet_start, person.quiet_end, person.timezone, now))
    held = [e for e in ends if e is not None]
    return max(held) if held else None
