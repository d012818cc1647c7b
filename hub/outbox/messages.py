"""Rendering outbox rows into the Messages notifiers receive (one query for a whole batch)."""

from __future__ import annotations

from typing import Any

import emoji
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.db.events import ProjectDirectory, event_from_row
from hub.models import EventOut, severity_rank
from hub.outbox.notifier import Message

MAX_BODY = 1000


def event_url(public_url: str, event_id: str) -> str:
    return f"{public_url}/events/{event_id}"


def shown_icon(icon: str | None) -> str:
    """The event's icon as an emoji for a notification's title ("💰 New sale"); a `:shortcode:` no emoji answers
    to (the web app shows it as text) is left out."""
    if not icon:
        return ""
    shown = emoji.emojize(icon, language="alias")
    return shown if emoji.is_emoji(shown) else ""


def message_for(
    delivery_id: int,
    event: EventOut,
    count: int,
    group_key: str | None,
    public_url: str,
    *,
    rule: str | None = None,
    follow_up: bool = False,
) -> Message:
    """`follow_up`: the events that came into a group's window after its first one had been sent."""
    title = event.event if count == 1 else f"{event.event} ({count} events)"
    if shown := shown_icon(event.icon):
        title = f"{shown} {title}"
    body = event.description or ""
    # Before markdown, the count is a paragraph of its own: a description's first `# heading` or list stays one.
    gap = "\n\n" if body and event.parser == "markdown" else " "
    if follow_up:
        more = f"{count} more event{'s' if count > 1 else ''}"
        body = f"{more} in {event.project}/{event.channel} since the first notification.{gap}" + body
    elif count > 1:
        body = f"{count} events in {event.project}/{event.channel}.{gap}" + body
    return Message(
        id=str(delivery_id),
        title=title,
        body=_shortened(body, markdown=event.parser == "markdown"),
        url=event_url(public_url, event.id),
        severity=event.severity,
        project=event.project,
        channel=event.channel,
        event=event,
        count=count,
        group_key=group_key,
        rule=rule,
        actions=event.actions,
    )


def _shortened(body: str, *, markdown: bool) -> str:
    """The body cut to MAX_BODY, ending in `…`. Markdown is cut after its last whole paragraph, else line, else word
    in the second half: cut anywhere, a link (`[logs](https://exa…`) or a code span was left open and showed as its
    source in every notifier."""
    if len(body) <= MAX_BODY:
        return body
    kept = body[: MAX_BODY - 1]
    if markdown:
        ends = (kept.rfind(boundary) for boundary in ("\n\n", "\n", " "))
        kept = kept[: next((end for end in ends if end >= MAX_BODY // 2), len(kept))].rstrip()
    return kept + "…"


def digest_for(delivery_id: int, items: list[Message], public_url: str) -> Message:
    """Notifications held by quiet hours, sent as one message listing them. The title counts what it lists: a
    grouped one tells its events in its own title ("Deploy failed (3 events)")."""
    first = items[0]
    projects = sorted({m.project for m in items})
    return Message(
        id=str(delivery_id),
        title=f"{len(items)} notification{'s' if len(items) != 1 else ''} while you were away",
        body="; ".join(m.title for m in items[:10]) + (f"; and {len(items) - 10} more" if len(items) > 10 else ""),
        url=f"{public_url}/",
        severity=max((m.severity for m in items), key=("info", "warning", "critical").index),
        project=first.project if len(projects) == 1 else ", ".join(projects),
        channel=first.channel,
        event=None,
        count=sum(m.count for m in items),
        items=items,
    )


async def load_messages(
    conn: AsyncConnection, projects: ProjectDirectory, rows: list[Any], public_url: str
) -> dict[int, Message]:
    """delivery id -> its Message, for single (not digest) rendering."""
    d, n, e = schema.deliveries.c, schema.notifications.c, schema.events.c
    ids = [r.id for r in rows]
    result = await conn.execute(
        select(
            d.id.label("delivery_id"),
            n.event_count,
            n.group_key,
            n.rule,
            n.follows_id,
            n.last_event_id,
            schema.events,
        )
        .select_from(schema.deliveries)
        .join(schema.notifications, n.id == d.notification_id)
        .join(schema.events, e.id == n.event_id)
        .where(d.id.in_(ids))
    )
    found = list(result.mappings())
    latest = await _latest_events(conn, found)
    messages: dict[int, Message] = {}
    for row in found:
        newest = latest.get(row["last_event_id"])
        # Not a milder one: a group a page (or a warning) joined goes out under that one's title.
        milder = newest is not None and severity_rank(newest["severity"]) < severity_rank(row["severity"])
        shown = row if newest is None or milder else newest
        event = event_from_row(shown, await projects.slug(conn, shown["project_id"]))
        messages[row["delivery_id"]] = message_for(
            row["delivery_id"],
            event,
            row["event_count"],
            row["group_key"],
            public_url,
            rule=row["rule"],
            follow_up=row["follows_id"] is not None,
        )
    return messages


async def _latest_events(conn: AsyncConnection, rows: list[Any]) -> dict[int, Any]:
    """The newest event of each group notification, which it shows: "3 more events" under the first one's details
    told an old job's failure, or a queue's depth an hour ago. One retention deleted meanwhile is not found (the
    notification shows its first event, then)."""
    wanted = {r["last_event_id"] for r in rows if r["last_event_id"] != r["id"]}
    if not wanted:
        return {}
    found = await conn.execute(select(schema.events).where(schema.events.c.id.in_(wanted)))
    return {row["id"]: row for row in found.mappings()}
