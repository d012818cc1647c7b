"""Routing stored events into the outbox, inside the transaction that stores them.

Registered as an ingest transaction hook: a notification and its deliveries exist exactly when the event
does. Nothing is sent here; the outbox worker delivers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.db.events import ProjectDirectory
from hub.models import BACKFILL_AFTER, EventOut, now_utc
from hub.outbox.notifier import Recipient
from hub.routing.book import RuleBook
from hub.routing.grouping import fingerprint, group_key, quiet_until
from hub.routing.matcher import explain
from hub.routing.recipients import NO_DEVICE, NO_DEVICE_REASON, Person, recipients_for
from hub.routing.rules import FALLBACK_RULE, Rule, Target

if TYPE_CHECKING:
    from hub.ingest import AfterWrite

# Events with `notify: true` that no rule matched: web push to everyone in the project.
# The first key of the two-key advisory locks routing takes on PostgreSQL (the second is the rule's name, hashed).
ROUTING_LOCK = 0x726F7574
DEFAULT_RULE = Rule(name=FALLBACK_RULE, targets=[Target(everyone=True)])
# Who a rule reaches in a project, by (rule name, project id): looked up once per transaction.
Reach = dict[tuple[str, int], list[tuple[Recipient, Person | None]]]


class Verdict(msgspec.Struct):
    """One rule's decision for one event, for `hub routes test` and the admin API."""

    rule: str
    matched: bool
    reasons: list[str]
    targets: list[str]
    # True when this rule matched without `continue`, so later rules were not looked at.
    stops: bool = False
    # What the matched rule then does with the event: group it, drop a duplicate, hold it for quiet hours...
    then: list[str] = []


def silent_reason(event: EventOut, *, backfill: bool) -> str | None:
    """Why an event never notifies, whatever the rules say: test mode, or a backfill (see Draft.backfill)."""
    if event.test:
        return "test-mode events never notify"
    if backfill:
        return f"backfilled events (stamped more than {BACKFILL_AFTER.seconds // 60} minutes ago) never notify"
    return None


def decide(rules: list[Rule], event: EventOut) -> list[tuple[Rule, Verdict]]:
    """Rules in order until one matches without `continue` (the default rule when none matched), each with its
    verdict: what `hub routes test` shows is what routing sends by."""
    decided: list[tuple[Rule, Verdict]] = []
    for rule in rules:
        if not rule.enabled:
            decided.append((rule, Verdict(rule.name, False, ["the rule is disabled"], [])))
            continue
        ok, reasons = explain(rule.match, event)
        verdict = Verdict(rule.name, ok, reasons, [t.describe() for t in rule.targets] if ok else [])
        decided.append((rule, verdict))
        if ok and not rule.continue_:
            verdict.stops = True
            break
    if event.notify and not any(v.matched for _, v in decided):
        reasons = ["no rule matched and the event has notify: true"]
        targets = [t.describe() for t in DEFAULT_RULE.targets]
        decided.append((DEFAULT_RULE, Verdict(DEFAULT_RULE.name, True, reasons, targets, stops=True)))
    return decided


class Router:
    """For each matched (rule, event): drop it if the rule notified an identical one lately; with a group window
    open, count it into the window's follow-up (one notification, due when the window closes); else make it a
    notification of its own, due at once (with a group window, it opens one). A notification gets one delivery per
    recipient: pending, held for quiet hours, suppressed past the rate limit, or failed for a person with no push
    device."""

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
        rules = await self.book.rules(conn)
        matches = [(rule, event) for event in eligible for rule, verdict in decide(rules, event) if verdict.matched]
        if not matches:
            return None

        async def write(conn: AsyncConnection) -> None:
            await _lock_rules(conn, {rule.name for rule, _ in matches if _reads_earlier(rule)})
            now = now_utc()
            # Who a rule reaches in a project, looked up once per transaction: a burst (a catch-up of missed
            # checks, a batch) would otherwise repeat the same people and devices queries for every event.
            reach: Reach = {}
            for rule, event in matches:
                await self._notify(conn, rule, event, now, reach)

        return write

    async def _notify(self, conn: AsyncConnection, rule: Rule, event: EventOut, now: datetime, reach: Reach) -> None:
        project_id = await self.projects.lookup(conn, event.project)
        assert project_id is not None
        fp = fingerprint(event) if rule.dedupe_seconds else None
        if fp is not None and await _notified_lately(conn, rule, fp, now):
            return
        key = group_key(rule.group_by, event) if rule.group_by or rule.group_window_seconds else None
        window_ends_at = None
        if rule.group_window_seconds:
            opener = await self._open_group(conn, rule, project_id, key, event, now)
            if opener is not None and await self._follow_up(conn, rule, opener, event, project_id, fp, now, reach):
                return
            window_ends_at = now + timedelta(seconds=rule.group_window_seconds)
        notification_id = await _insert_notification(
            conn, rule, project_id, event, key=key, fp=fp, window_ends_at=window_ends_at, follows_id=None, now=now
        )
        await self._deliver(conn, rule, notification_id, project_id, event, now, send_at=now, reach=reach)

    async def _open_group(
        self, conn: AsyncConnection, rule: Rule, project_id: int, key: str | None, event: EventOut, now: datetime
    ) -> Row[Any] | None:
        """The notification that opened this event's group, while its window is open (None: this event opens one).

        A group reaches the people of its own project: an event of another project opens its own. A critical
        event joins only a group a critical event opened, so it is never sent under a milder event's title.
        """
        n = schema.notifications.c
        query = select(n.id, n.group_key, n.window_ends_at).where(
            n.rule == rule.name,
            n.project_id == project_id,
            n.group_key == key,
            n.window_ends_at > now,
            n.follows_id.is_(None),
        )
        if event.severity == "critical":
            e = schema.events.c
            query = query.join(schema.events, e.id == n.event_id).where(e.severity == "critical")
        return (await conn.execute(query.order_by(n.window_ends_at.desc()).limit(1))).first()

    async def _follow_up(
        self,
        conn: AsyncConnection,
        rule: Rule,
        opener: Row[Any],
        event: EventOut,
        project_id: int,
        fp: str | None,
        now: datetime,
        reach: Reach,
    ) -> bool:
        """Count a later event of an open window into the window's one follow-up, sent when the window closes.

        False when that follow-up has gone out already: claimed by a process whose clock is a little ahead, or
        while this transaction was under way. The event would be counted into a message sent without it, so the
        caller opens a window of its own for it instead.
        """
        n, e, d = schema.notifications.c, schema.events.c, schema.deliveries.c
        follow_up = (
            await conn.execute(
                select(n.id, e.severity)
                .join(schema.events, e.id == n.event_id)
                # The group's columns reach it by ix_notifications_group (follows_id has no index of its own).
                .where(
                    n.rule == rule.name,
                    n.group_key == opener.group_key,
                    n.window_ends_at == opener.window_ends_at,
                    n.follows_id == opener.id,
                )
            )
        ).first()
        if follow_up is None:
            follow_up_id = await _insert_notification(
                conn,
                rule,
                project_id,
                event,
                key=opener.group_key,
                fp=fp,
                window_ends_at=opener.window_ends_at,
                follows_id=opener.id,
                now=now,
            )
            await self._deliver(
                conn, rule, follow_up_id, project_id, event, now, send_at=opener.window_ends_at, reach=reach
            )
            return True
        # Locked until commit on PostgreSQL: a claim skips them meanwhile and reads the message after this commits;
        # a claim under way is waited for, and its `sending` seen.
        deliveries = await conn.execute(
            select(d.state, d.attempts).where(d.notification_id == follow_up.id).with_for_update()
        )
        if any(row.state == "sending" or row.attempts for row in deliveries):
            return False
        changes: dict[str, Any] = {"event_count": n.event_count + 1, "last_event_id": int(event.id)}
        if event.severity == "critical" and follow_up.severity != "critical":
            # A critical event is never held nor suppressed, and the follow-up goes under its title.
            changes["event_id"] = int(event.id)
            await _release(conn, follow_up.id, opener.window_ends_at)
        await conn.execute(update(schema.notifications).where(n.id == follow_up.id).values(**changes))
        return True

    async def _deliver(
        self,
        conn: AsyncConnection,
        rule: Rule,
        notification_id: int,
        project_id: int,
        event: EventOut,
        now: datetime,
        *,
        send_at: datetime,
        reach: Reach,
    ) -> None:
        """One delivery per recipient of the rule, due at `send_at`: pending, held for quiet hours, suppressed past
        the rate limit, or failed for a person with no push device."""
        if (rule.name, project_id) not in reach:
            reach[(rule.name, project_id)] = await recipients_for(conn, rule.targets, project_id)
        rows = []
        # A page goes out: neither a flood of milder events (the rate limit) nor the night (quiet hours) stops it.
        critical = event.severity == "critical"
        for recipient, person in reach[(rule.name, project_id)]:
            state, when, why = "pending", send_at, None
            if recipient.address == NO_DEVICE and person is not None:
                state = "failed"
                why = f"{person.email} has no push device: {NO_DEVICE_REASON}"
            elif not critical and rule.rate_limit and await self._over_limit(conn, rule, recipient.address, now):
                state = "suppressed"
                why = f"rate limit of rule {rule.name}: {rule.rate_limit} per {rule.rate_period_seconds} s reached"
            elif not critical:
                held_until = _quiet_end(rule, person, send_at)
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
                    "finished_at": now if state in ("suppressed", "failed") else None,
                    "last_error": why,
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


async def _notified_lately(conn: AsyncConnection, rule: Rule, fp: str, now: datetime) -> bool:
    """Whether the rule made a notification of an identical event within its `dedupe_seconds`."""
    n = schema.notifications.c
    since = now - timedelta(seconds=rule.dedupe_seconds)
    query = select(n.id).where(n.rule == rule.name, n.fingerprint == fp, n.created_at >= since).limit(1)
    return (await conn.execute(query)).first() is not None


async def _insert_notification(
    conn: AsyncConnection,
    rule: Rule,
    project_id: int,
    event: EventOut,
    *,
    key: str | None,
    fp: str | None,
    window_ends_at: datetime | None,
    follows_id: int | None,
    now: datetime,
) -> int:
    n = schema.notifications.c
    values = {
        "rule": rule.name,
        "project_id": project_id,
        "event_id": int(event.id),
        "last_event_id": int(event.id),
        "event_count": 1,
        "group_key": key,
        "fingerprint": fp,
        "window_ends_at": window_ends_at,
        "follows_id": follows_id,
        "created_at": now,
    }
    return (await conn.execute(schema.notifications.insert().values(values).returning(n.id))).scalar_one()


async def _release(conn: AsyncConnection, notification_id: int, send_at: datetime) -> None:
    """Make a follow-up's held and suppressed deliveries due when its window closes, as a critical event's are."""
    d = schema.deliveries.c
    await conn.execute(
        update(schema.deliveries)
        .where(d.notification_id == notification_id, d.state.in_(("held", "suppressed")))
        .values(state="pending", next_attempt_at=send_at, budget_from=send_at, finished_at=None, last_error=None)
    )


def handling(rule: Rule, event: EventOut, now: datetime) -> list[str]:
    """What a matched rule does with the event besides sending it at once, as `hub routes test` shows it."""
    notes = []
    critical = event.severity == "critical"
    if rule.dedupe_seconds:
        notes.append(f"dropped if an identical event notified within the last {rule.dedupe_seconds} s")
    if rule.group_window_seconds:
        by = f" by {', '.join(rule.group_by)}" if rule.group_by else ""
        notes.append(
            f"grouped{by}: the first of a {rule.group_window_seconds} s window sent at once,"
            " the rest as one follow-up when it closes"
        )
    if rule.rate_limit and not critical:
        notes.append(f"suppressed past {rule.rate_limit} per recipient in {rule.rate_period_seconds} s")
    q = rule.quiet_hours
    if q and not critical and (end := quiet_until(q.start, q.end, q.timezone, now)) is not None:
        notes.append(f"held by the rule's quiet hours until {q.end} {q.timezone} ({end:%Y-%m-%d %H:%M} UTC)")
    return notes


async def held_for_people(
    conn: AsyncConnection, rule: Rule, event: EventOut, project_id: int | None, now: datetime
) -> list[str]:
    """For `hub routes test`: each person the rule reaches (as routing would) whose own quiet hours hold now, and
    until when."""
    if event.severity == "critical":
        return []
    notes: list[str] = []
    seen: set[str] = set()
    for recipient, person in await recipients_for(conn, rule.targets, project_id):
        if person is None or person.id in seen or recipient.address == NO_DEVICE:  # nothing to hold: it fails
            continue
        seen.add(person.id)
        if person.quiet_start and person.quiet_end:
            end = quiet_until(person.quiet_start, person.quiet_end, person.timezone, now)
            if end is not None:
                notes.append(
                    f"held for {person.email} by their quiet hours until {person.quiet_end} {person.timezone}"
                    f" ({end:%Y-%m-%d %H:%M} UTC)"
                )
    return notes


def _reads_earlier(rule: Rule) -> bool:
    """Whether routing for this rule depends on its earlier notifications (an open group, a duplicate, a count)."""
    return bool(rule.group_window_seconds or rule.dedupe_seconds or rule.rate_limit)


async def _lock_rules(conn: AsyncConnection, names: set[str]) -> None:
    """On PostgreSQL, take each rule's lock until commit, in name order (no deadlock between two transactions).

    Two processes storing events of one group at once would each see no open window (neither has committed) and
    open one each; so for a duplicate, and for a rate limit's count. SQLite has one writer at a time already.
    """
    if conn.dialect.name != "postgresql":
        return
    for name in sorted(names):
        await conn.execute(select(func.pg_advisory_xact_lock(ROUTING_LOCK, func.hashtext(name))))


def _quiet_end(rule: Rule, person: Person | None, now: datetime) -> datetime | None:
    """When neither the rule's nor the person's quiet hours hold any more, if either holds now. The end of one can
    fall inside the other, which began meanwhile (the rule's 22:00-02:00, the person's 01:00-07:00): then the
    other's end counts, and so on (two daily spans chain a few times at most)."""
    spans = []
    if rule.quiet_hours:
        q = rule.quiet_hours
        spans.append((q.start, q.end, q.timezone))
    if person is not None and person.quiet_start and person.quiet_end:
        spans.append((person.quiet_start, person.quiet_end, person.timezone))
    until = None
    for _ in range(4):
        ends = [end for span in spans if (end := quiet_until(*span, until or now)) is not None]
        if not ends:
            break
        until = max(ends)
    return until
