"""Pruning: test events after their TTL, real events past retention (per project), contexts as a whole."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hub.core import Hub
from hub.db import schema
from hub.retention import prune


@pytest.fixture
def settings_overrides():
    # A project named in another case than it is stored in: its own retention was ignored.
    return {"HUB_RETENTION_EVENTS_DAYS": "30", "HUB_RETENTION_PROJECTS": "{Short = 2}"}


def ago(days: float) -> float:
    return (datetime.now(UTC) - timedelta(days=days)).timestamp()


async def names(client, headers, query: str = "") -> list[str]:
    page = (await client.get(f"/api/v1/events?limit=200{query}", headers=headers)).json()
    return sorted(e["event"] for e in page["items"])


async def test_prune_applies_each_rule(client, hub, admin_headers):
    events = [
        {"project": "long", "event": "old", "timestamp": ago(40), "tags": {"k": "v"}},
        {"project": "long", "event": "recent", "timestamp": ago(10)},
        {"project": "short", "event": "three days", "timestamp": ago(3)},
        {"project": "short", "event": "today", "timestamp": ago(0.1)},
        {"project": "long", "event": "old card", "timestamp": ago(40), "context_id": "c1"},
        {"project": "long", "event": "fresh child", "context_id": "c1"},
    ]
    response = await client.post("/api/v1/events/batch", json={"events": events}, headers=admin_headers)
    assert response.json()["stored"] == 6
    await client.post("/api/v1/events", json={"project": "long", "event": "trial", "test": True}, headers=admin_headers)

    removed = await prune(hub.context)
    assert removed == {"test": 0, "real": 3}
    assert await names(client, admin_headers) == ["recent", "today"]
    assert await names(client, admin_headers, "&q=fresh") == [], "a context's children go with its card"
    assert await names(client, admin_headers, "&test=true") == ["trial"]
    async with hub.db.reader.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(schema.event_tags))).scalar() == 0
        assert (await conn.execute(select(func.count()).select_from(schema.contexts))).scalar() == 0
    channels = (await client.get("/api/v1/projects/long/channels", headers=admin_headers)).json()
    assert channels[0]["event_count"] == 1

    hub.settings.retention.test_events_hours = 0
    assert (await prune(hub.context))["test"] == 1
    assert await names(client, admin_headers, "&test=true") == []


async def test_a_timeline_waits_for_its_notifications_before_it_is_pruned(client, hub, admin_headers):
    """A recent child's notification, held for the night, went with its old card: no email in the morning, and
    no trace in the deliveries."""
    now = datetime.now(UTC)
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    rule = {"name": "night", "match": {"event": "child"}, "targets": [{"email": "a@example.com"}], "quiet_hours": quiet}
    assert (await client.put("/api/v1/routes/night", json=rule, headers=admin_headers)).status_code == 200
    card = {"project": "long", "event": "customer", "timestamp": ago(40), "context_id": "acme"}
    assert (await client.post("/api/v1/events", json=card, headers=admin_headers)).status_code == 201
    child = {"project": "long", "event": "child", "context_id": "acme"}
    assert (await client.post("/api/v1/events", json=child, headers=admin_headers)).status_code == 201
    [held] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert held["state"] == "held"

    assert await prune(hub.context) == {"test": 0, "real": 0}
    assert await names(client, admin_headers) == ["customer"]
    assert (await client.get(f"/api/v1/deliveries/{held['id']}", headers=admin_headers)).json()["state"] == "held"

    async with hub.db.writer.begin() as conn:  # sent in the morning
        await conn.execute(schema.deliveries.update().values(state="delivered"))
    assert await prune(hub.context) == {"test": 0, "real": 1}
    assert await names(client, admin_headers) == []


async def test_prune_releases_old_idempotency_keys(client, hub, admin_headers):
    body = {"project": "p", "event": "x", "idempotency_key": "k1"}
    first = (await client.post("/api/v1/events", json=body, headers=admin_headers)).json()
    hub.settings.retention.idempotency_hours = 0
    hub.settings.webhooks.dedupe_days = 0
    await prune(hub.context)
    async with hub.db.reader.connect() as conn:
        keys = (await conn.execute(select(schema.events.c.idempotency_key))).scalars().all()
    assert keys == [None]
    assert (await client.get(f"/api/v1/events/{first['id']}", headers=admin_headers)).status_code == 200


async def test_prune_keeps_channel_counts_equal_to_the_events_left(client, hub, admin_headers, monkeypatch, settings):
    """Counts are taken down batch by batch (no recount): children in other channels and test events included, and
    two processes pruning at once take each event off once."""
    monkeypatch.setattr("hub.retention.CARDS_AT_ONCE", 2)
    monkeypatch.setattr("hub.retention.FOUND_AT_ONCE", 3)  # several reads, several batches each
    events = [
        {"project": "long", "channel": channel, "event": f"old {i}", "timestamp": ago(40)}
        for i, channel in enumerate(["a", "a", "b", "b", "c"])
    ]
    events += [
        {"project": "long", "channel": "a", "event": "old card", "timestamp": ago(40), "context_id": "c1"},
        {"project": "long", "channel": "b", "event": "child", "context_id": "c1"},
        {"project": "long", "channel": "b", "event": "recent", "timestamp": ago(1)},
        {"project": "long", "channel": "a", "event": "old trial", "timestamp": ago(40), "test": True},
    ]
    response = await client.post("/api/v1/events/batch", json={"events": events}, headers=admin_headers)
    assert response.json()["stored"] == len(events)
    other = Hub(settings)
    await other.start(run_migrations=False, run_jobs=False)
    try:
        both = await asyncio.gather(prune(hub.context), prune(other.context))
    finally:
        await other.stop()
    assert both[0]["real"] + both[1]["real"] == 6
    e, ch = schema.events.c, schema.channels.c
    async with hub.db.reader.connect() as conn:
        counted = dict((await conn.execute(select(ch.name, ch.event_count))).all())
        left = (await conn.execute(select(e.channel, func.count()).where(e.test.is_(False)).group_by(e.channel))).all()
    assert counted == {"a": 0, "b": 1, "c": 0}
    assert dict(left) == {"b": 1}


async def test_an_event_of_a_context_whose_card_was_just_pruned_starts_a_new_card(
    client, hub, admin_headers, monkeypatch
):
    """Pruning pauses between its batches, and events are stored meanwhile: one whose context's card a batch has
    just deleted must not hang under that card (hidden from the feed, its card a 404, never pruned itself)."""
    old = {"project": "long", "event": "old card", "timestamp": ago(40), "context_id": "c1"}
    assert (await client.post("/api/v1/events", json=old, headers=admin_headers)).status_code == 201
    stored: list[dict] = []
    pause = asyncio.sleep
    pruning = asyncio.current_task()

    async def store_during_pause(seconds: float) -> None:
        # The patch reaches every task: the hub's own loops (the WAL checkpointer, every 0.5 s) sleep as before, or
        # one waking during the prune would store the event before the card is deleted.
        if asyncio.current_task() is not pruning:
            return await pause(seconds)
        if not stored:
            body = {"project": "long", "event": "late step", "context_id": "c1"}
            stored.append((await client.post("/api/v1/events", json=body, headers=admin_headers)).json())
        await pause(0)

    monkeypatch.setattr("hub.retention.asyncio.sleep", store_during_pause)
    assert (await prune(hub.context))["real"] == 1
    assert stored[0]["parent_id"] is None
    assert await names(client, admin_headers) == ["late step"]
    later = (
        await client.post(
            "/api/v1/events", json={"project": "long", "event": "step", "context_id": "c1"}, headers=admin_headers
        )
    ).json()
    assert later["parent_id"] == stored[0]["id"]


async def test_a_channel_shows_its_newest_event_left_after_pruning(client, hub, admin_headers, monkeypatch):
    """A channel emptied by retention still showed the time of its last (deleted) event; one whose newest event
    went with an old card still showed that event's time. And on SQLite, a channel's time once cleared stayed
    empty however many events came after: `max(NULL, t)` is NULL there."""
    monkeypatch.setattr("hub.retention.CARDS_AT_ONCE", 2)
    events = [
        {"project": "long", "channel": "gone", "event": "old", "timestamp": ago(40)},
        {"project": "long", "channel": "gone", "event": "older", "timestamp": ago(50)},
        {"project": "long", "channel": "a", "event": "old card", "timestamp": ago(40), "context_id": "c1"},
        {"project": "long", "channel": "b", "event": "child", "timestamp": ago(0.5), "context_id": "c1"},
        {"project": "long", "channel": "b", "event": "recent", "timestamp": ago(1)},
        {"project": "long", "channel": "b", "event": "old", "timestamp": ago(40)},
        {"project": "long", "channel": "c", "event": "old", "timestamp": ago(40)},
        {"project": "long", "channel": "c", "event": "today", "timestamp": ago(0.1)},
    ]
    response = await client.post("/api/v1/events/batch", json={"events": events}, headers=admin_headers)
    assert response.json()["stored"] == len(events)

    async def channels() -> dict[str, tuple[int, str | None]]:
        listed = (await client.get("/api/v1/projects/long/channels", headers=admin_headers)).json()
        return {c["name"]: (c["event_count"], c["last_event_at"]) for c in listed}

    async def created_at(channel: str, event: str) -> str:
        page = await client.get(f"/api/v1/events?project=long&channel={channel}&limit=50", headers=admin_headers)
        return next(e["created_at"] for e in page.json()["items"] if e["event"] == event)

    before = await channels()
    assert (await prune(hub.context))["real"] == 5
    assert await channels() == {
        "gone": (0, None),
        "a": (0, None),
        "b": (1, await created_at("b", "recent")),
        "c": (1, before["c"][1]),  # its newest event stays: nothing to look up
    }
    projects = (await client.get("/api/v1/projects", headers=admin_headers)).json()
    assert [(p["slug"], p["event_count"]) for p in projects] == [("long", 2)]

    again = await client.post(
        "/api/v1/events", json={"project": "long", "channel": "gone", "event": "back"}, headers=admin_headers
    )
    assert (await channels())["gone"] == (1, again.json()["created_at"])


async def test_a_retention_longer_than_the_calendar_keeps_everything(client, hub, admin_headers):
    """99999 days, for "keep them": counted back from now it fell before the year 1, and every pass failed."""
    body = {"project": "long", "event": "ancient", "timestamp": ago(3650), "idempotency_key": "k"}
    assert (await client.post("/api/v1/events", json=body, headers=admin_headers)).status_code == 201
    retention = hub.settings.retention
    retention.events_days, retention.test_events_hours, retention.idempotency_hours = 99999, 10**12, 10**12
    hub.settings.webhooks.dedupe_days = 10**9
    assert await prune(hub.context) == {"test": 0, "real": 0}
    assert await names(client, admin_headers) == ["ancient"]
