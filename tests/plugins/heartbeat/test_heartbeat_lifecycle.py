"""A check's life with a controlled clock: up, late, down with one `missed` event, back up with one `recovered`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from hub_plugins.heartbeat.recorder import Ping
from hub_plugins.heartbeat.scan import scan
from hub_plugins.heartbeat.service import service

from hub.app import create_app
from hub.core import Hub


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


async def status(client, headers, uuid: str) -> str:
    return (await client.get(f"/api/v1/checks/{uuid}", headers=headers)).json()["status"]


async def test_period_grace_late_down_recovered(client, hub, admin_headers, clock, create_check, stored_events):
    check = await create_check(period=60, grace=30)
    uuid = check["uuid"]
    assert check["status"] == "new"
    start = clock.now()

    assert (await client.get(f"/ping/{uuid}")).text == "OK"
    assert await status(client, admin_headers, uuid) == "up"
    clock.advance(59)
    assert await status(client, admin_headers, uuid) == "up"
    clock.advance(2)  # T+61
    assert await status(client, admin_headers, uuid) == "late"
    assert await scan(hub.context) == 0
    clock.advance(28)  # T+89
    assert await scan(hub.context) == 0
    assert await status(client, admin_headers, uuid) == "late"
    clock.advance(2)  # T+91
    assert await scan(hub.context) == 1
    assert await scan(hub.context) == 0
    assert await status(client, admin_headers, uuid) == "down"

    [missed] = await stored_events()
    assert missed["event"] == "Nightly backup missed"
    assert missed["severity"] == "critical"
    assert missed["source"] == "heartbeat"
    assert missed["channel"] == "heartbeat"
    assert datetime.fromisoformat(missed["created_at"]) == start + seconds(90)
    assert datetime.fromisoformat(missed["content"]["last_ping_at"]) == start
    assert datetime.fromisoformat(missed["content"]["expected_at"]) == start + seconds(60)
    assert missed["content"]["grace"] == 30  # seconds, as README promises

    clock.set(start + seconds(120))
    assert (await client.post(f"/ping/{uuid}", content=b"all good")).text == "OK"
    assert await status(client, admin_headers, uuid) == "up"
    events = await stored_events()
    assert [e["event"] for e in events] == ["Nightly backup missed", "Nightly backup recovered"]
    assert events[1]["content"]["outage_seconds"] == 30

    flips = (await client.get(f"/api/v1/checks/{uuid}/flips", headers=admin_headers)).json()["items"]
    assert [(f["old_status"], f["new_status"], f["reason"]) for f in reversed(flips)] == [
        ("new", "up", "ping"),
        ("up", "down", "missed"),
        ("down", "up", "ping"),
    ]
    assert flips[0]["outage"] == 30


async def test_a_start_with_rid_and_a_plain_success_leave_the_check_up(client, hub, admin_headers, clock, create_check):
    """Healthchecks ends the run on a success without `rid`; a job that sends `rid` only with its start (as some
    wrappers do) must not be flagged as a run that never finished."""
    check = await create_check(period=3600, grace=60)
    uuid = check["uuid"]
    assert (await client.get(f"/ping/{uuid}/start?rid=0f2e5a52-9c1d-4a8e-8b7f-6a4f1c3d2e10")).text == "OK"
    clock.advance(30)
    assert (await client.get(f"/ping/{uuid}")).text == "OK"
    checked = (await client.get(f"/api/v1/checks/{uuid}", headers=admin_headers)).json()
    assert checked["running"] is False and checked["status"] == "up"
    clock.advance(120)  # past start + grace
    assert await scan(hub.context) == 0
    assert await status(client, admin_headers, uuid) == "up"


async def test_two_hubs_on_one_database_flip_and_recover_once(
    client, hub, admin_headers, clock, settings, create_check, stored_events
):
    """Two hub instances (as two processes would) scan and ping the same database at the same moment."""
    check = await create_check(period=60, grace=30)
    other_app = create_app(settings)
    other = other_app.state.hub
    service(other.context).clock = clock
    await other.start()
    try:
        start = clock.now()
        await client.get(f"/ping/{check['uuid']}")
        clock.set(start + seconds(91))
        flipped = await asyncio.gather(*[scan(h.context) for h in (hub, other, hub, other)])
        assert sum(flipped) == 1
        clock.set(start + seconds(120))
        pings = [
            service(h.context).recorder.record(Ping(uuid=check["uuid"], action="success", method="GET"))
            for h in (hub, other, hub, other)
        ]
        assert all(r.found for r in await asyncio.gather(*pings))
    finally:
        await other.stop()
    names = [e["event"] for e in await stored_events()]
    assert names == ["Nightly backup missed", "Nightly backup recovered"]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite's writer holds the whole file
async def test_a_ping_that_waited_for_its_check_while_a_scan_flipped_it_recovers_after_the_flip(
    client, hub, admin_headers, clock, settings, create_check, stored_events, monkeypatch
):
    """A ping read the time two seconds before its check's deadline, then waited for the check's row while
    another process's scan flipped it down at the deadline: it recovered the check "-2 s" after it went down."""
    check = await create_check(period=60, grace=30)
    await client.get(f"/ping/{check['uuid']}")
    deadline = clock.now() + seconds(90)
    other = Hub(settings)
    service(other.context).clock = clock
    await other.start()
    recorder = service(hub.context).recorder
    resolve_slugs = recorder._resolve_slugs

    async def scan_meanwhile(*args):
        resolved = await resolve_slugs(*args)
        clock.set(deadline + seconds(1))
        assert await scan(other.context) == 1
        return resolved

    try:
        clock.set(deadline - seconds(2))
        monkeypatch.setattr(recorder, "_resolve_slugs", scan_meanwhile)
        assert (await client.get(f"/ping/{check['uuid']}")).text == "OK"
    finally:
        await other.stop()
    missed, recovered = await stored_events()
    assert (missed["event"], recovered["event"]) == ("Nightly backup missed", "Nightly backup recovered")
    assert recovered["content"]["outage_seconds"] == 1
    assert datetime.fromisoformat(recovered["created_at"]) == deadline + seconds(1)


async def test_a_state_change_and_its_event_commit_together(
    client, hub, admin_headers, clock, create_check, stored_events, monkeypatch
):
    """When storing the `missed` (or `recovered`) event fails, the state change rolls back with it, and the next
    scan or ping does both: never a check down without its event, never an event for a change that did not
    happen."""
    check = await create_check(period=60, grace=30)
    uuid = check["uuid"]
    await client.get(f"/ping/{uuid}")
    clock.advance(91)

    real_write = type(hub.ingestor)._write

    async def failing_write(self, conn, drafts):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(type(hub.ingestor), "_write", failing_write)
    try:
        await scan(hub.context)
    except RuntimeError:
        pass
    assert await status(client, admin_headers, uuid) == "late"
    assert await stored_events() == []

    monkeypatch.setattr(type(hub.ingestor), "_write", real_write)
    assert await scan(hub.context) == 1
    assert await status(client, admin_headers, uuid) == "down"
    assert [e["event"] for e in await stored_events()] == ["Nightly backup missed"]

    clock.advance(30)
    monkeypatch.setattr(type(hub.ingestor), "_write", failing_write)
    failed = await client.get(f"/ping/{uuid}")
    assert failed.status_code >= 500  # not `OK`: the ping was not stored either, so the client retries
    assert await status(client, admin_headers, uuid) == "down"

    monkeypatch.setattr(type(hub.ingestor), "_write", real_write)
    assert (await client.get(f"/ping/{uuid}")).text == "OK"
    assert await status(client, admin_headers, uuid) == "up"
    assert [e["event"] for e in await stored_events()] == ["Nightly backup missed", "Nightly backup recovered"]


async def test_a_check_whose_flip_cannot_be_stored_does_not_hold_up_the_others(
    client, hub, admin_headers, clock, create_check, stored_events, monkeypatch, caplog
):
    """The scan flips overdue checks in batches; a batch that fails is retried one check at a time, so only the
    check at fault stays as it was. It is logged once, then tried alone on each later scan until it goes down."""
    bad = await create_check(name="Ledger export", slug="ledger", period=60, grace=30)  # first in deadline order
    good = [await create_check(name=f"Backup {n}", slug=f"backup-{n}", period=60, grace=30) for n in (1, 2)]
    for check in (bad, *good):
        await client.get(f"/ping/{check['uuid']}")
    clock.advance(91)

    real_write = type(hub.ingestor)._write

    async def write_failing_for_the_ledger(self, conn, drafts, **options):
        if any(d.event.startswith("Ledger") for d in drafts):
            raise RuntimeError("a plugin hook failed on this event")
        return await real_write(self, conn, drafts, **options)

    monkeypatch.setattr(type(hub.ingestor), "_write", write_failing_for_the_ledger)
    assert await scan(hub.context) == 2
    assert [await status(client, admin_headers, c["uuid"]) for c in (bad, *good)] == ["late", "down", "down"]
    assert sorted(e["event"] for e in await stored_events()) == ["Backup 1 missed", "Backup 2 missed"]
    assert "could not go down; each scan tries it alone" in caplog.text
    assert "a plugin hook failed on this event" in caplog.text

    caplog.clear()
    assert await scan(hub.context) == 0  # still failing: tried alone, and not logged again within the hour
    assert [r.getMessage() for r in caplog.records if r.name.endswith("heartbeat.scan")] == []

    monkeypatch.setattr(type(hub.ingestor), "_write", real_write)
    assert await scan(hub.context) == 1
    assert await status(client, admin_headers, bad["uuid"]) == "down"
    assert sorted(e["event"] for e in await stored_events())[-1] == "Ledger export missed"


async def test_a_ping_without_create_does_not_take_the_201_of_the_one_that_made_the_check(client, hub, admin_headers):
    """In one group, a plain ping to the slug came first and was answered `201 Created` for the check the ping
    with `?create=1` after it made."""
    key = (await client.get("/api/v1/check-projects/ops", headers=admin_headers)).json()["ping_key"]
    recorder = service(hub.context).recorder
    plain, creating = await asyncio.gather(
        recorder.record(Ping(ping_key=key, slug="new-one", create=False, action="success", method="GET")),
        recorder.record(Ping(ping_key=key, slug="new-one", create=True, action="success", method="GET")),
    )
    assert (plain.found, plain.created, creating.found, creating.created) == (True, False, True, True)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite's writer holds the whole file
async def test_two_processes_making_the_same_check_answer_201_once(client, hub, admin_headers, settings, clock):
    key = (await client.get("/api/v1/check-projects/ops", headers=admin_headers)).json()["ping_key"]
    other = Hub(settings)
    service(other.context).clock = clock
    await other.start()
    try:
        answers = await asyncio.gather(
            *[
                service(h.context).recorder.record(
                    Ping(ping_key=key, slug="racy", create=True, action="success", method="GET")
                )
                for h in (hub, other)
            ]
        )
    finally:
        await other.stop()
    assert [a.found for a in answers] == [True, True] and sum(a.created for a in answers) == 1
