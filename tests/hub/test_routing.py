"""Routing decisions: matching and its reasons, grouping windows, de-duplication, rate limits, quiet hours with
a digest, the notify fallback, and events that never notify. Deliveries go to a loopback Slack stand-in."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from blockkit import check_message
from peers import LoopbackServer
from sqlalchemy import select, update

from hub.db import schema
from hub.models import now_utc
from hub.routing.grouping import quiet_until
from hub.routing.matcher import explain
from hub.routing.recipients import Person
from hub.routing.router import _quiet_end
from hub.routing.rules import Match, QuietHours, Rule, Target

P256DH = "B" + "A" * 86


@pytest.fixture
def settings_overrides():
    return {"HUB_OUTBOUND_ALLOW": '["127.0.0.1"]', "HUB_PLUGINS": "{slack = {min_interval_seconds = 0}}"}


def event(**fields):
    from hub.api.routes import event_for_test
    from hub.models import EventIn

    return event_for_test(EventIn(**{"event": "Deploy failed", "channel": "ci", **fields}), "shop")[0]


def test_matcher_checks_each_condition_and_says_why():
    match = Match(projects=["shop"], channels=["ci"], min_severity="warning", tags={"env": "prod*"}, event="Deploy *")
    ok, reasons = explain(match, event(severity="critical", tags={"env": "production"}))
    assert ok, reasons
    assert "tag env=production matches prod*" in reasons
    ok, reasons = explain(match, event(severity="info", tags={"env": "production"}))
    assert not ok and reasons[-1] == "severity info is below warning"
    ok, reasons = explain(match, event(severity="warning", tags={"env": "staging"}))
    assert reasons[-1] == "tag env=staging does not match prod*"
    ok, reasons = explain(match, event(severity="warning"))
    assert reasons[-1] == "tag env is missing"
    ok, reasons = explain(Match(sources=["github"]), event())
    assert reasons == ["source api is not one of github"]
    assert explain(Match(tags={"ok": "true"}), event(tags={"ok": True}))[0]


def test_quiet_hours_end_in_the_repeated_hour_when_clocks_go_back():
    """Berlin, 25 October 2026: 02:00-03:00 comes twice. In its second pass the end is the second 02:30, not the
    first one (already past, so the notification went out at once, inside the quiet hours)."""
    second_pass = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)  # 02:15 CET
    assert quiet_until("22:00", "02:30", "Europe/Berlin", second_pass) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    first_pass = datetime(2026, 10, 25, 0, 15, tzinfo=UTC)  # 02:15 CEST
    assert quiet_until("22:00", "02:30", "Europe/Berlin", first_pass) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_a_hold_lasts_until_neither_the_rules_nor_the_persons_quiet_hours_hold():
    """The rule's 22:00-02:00 ended inside the person's 01:00-07:00, which had begun meanwhile: the digest went out
    at 02:00 and woke them."""
    rule = Rule(name="night", targets=[Target(everyone=True)], quiet_hours=QuietHours(start="22:00", end="02:00"))
    ada = Person(id="1", email="ada@example.com", timezone="UTC", quiet_start="01:00", quiet_end="07:00")
    at = datetime(2026, 1, 16, 23, 0, tzinfo=UTC)
    assert _quiet_end(rule, ada, at) == datetime(2026, 1, 17, 7, 0, tzinfo=UTC)
    assert _quiet_end(rule, ada, datetime(2026, 1, 17, 1, 30, tzinfo=UTC)) == datetime(2026, 1, 17, 7, 0, tzinfo=UTC)
    awake = Person(id="2", email="bo@example.com", timezone="UTC", quiet_start="03:00", quiet_end="05:00")
    assert _quiet_end(rule, awake, at) == datetime(2026, 1, 17, 2, 0, tzinfo=UTC)  # a span that starts after
    assert _quiet_end(rule, awake, datetime(2026, 1, 17, 12, 0, tzinfo=UTC)) is None


def test_quiet_hours_across_midnight_in_the_persons_zone():
    berlin_night = datetime(2026, 1, 15, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert quiet_until("22:00", "07:00", "Europe/Berlin", berlin_night) == datetime(2026, 1, 16, 6, 0, tzinfo=UTC)
    assert quiet_until("22:00", "07:00", "Europe/Berlin", datetime(2026, 1, 16, 5, 0, tzinfo=UTC)) is not None
    assert quiet_until("22:00", "07:00", "Europe/Berlin", datetime(2026, 1, 16, 12, 0, tzinfo=UTC)) is None
    assert quiet_until("09:00", "17:00", "UTC", datetime(2026, 1, 16, 12, 0, tzinfo=UTC)) == datetime(
        2026, 1, 16, 17, 0, tzinfo=UTC
    )


async def put_rule(client, headers, rule):
    response = await client.put(f"/api/v1/routes/{rule['name']}", json=rule, headers=headers)
    assert response.status_code == 200, response.text


async def send(client, headers, **fields):
    body = {"project": "shop", "channel": "ci", "event": "Deploy failed", **fields}
    response = await client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def states(client, headers):
    items = (await client.get("/api/v1/deliveries", headers=headers)).json()["items"]
    return sorted(d["state"] for d in items)


def slack_texts(server):
    return [json.loads(r.body)["blocks"][0]["text"]["text"] for r in server.received]


async def test_a_group_sends_its_first_event_at_once_and_the_rest_as_one_follow_up(client, hub, admin_headers):
    """The first event of a window used to wait for the window to close, a page included."""
    with LoopbackServer() as server:
        rule = {"name": "grouped", "group_by": ["event"], "group_window_seconds": 60}
        await put_rule(client, admin_headers, {**rule, "targets": [{"slack": server.url}]})
        for _ in range(3):
            await send(client, admin_headers)
        await send(client, admin_headers, event="Other")
        now = now_utc()
        assert await hub.outbox.run_once(now) == 2  # each group's first event, at once
        assert sorted(slack_texts(server)) == ["Deploy failed", "Other"]
        assert await hub.outbox.run_once(now + timedelta(seconds=30)) == 0  # the follow-up waits for the window
        assert await hub.outbox.run_once(now + timedelta(seconds=61)) == 1
        assert slack_texts(server)[2] == "Deploy failed (2 events)"
        assert "2 more events in shop/ci since the first notification" in server.received[2].body.decode()
        async with hub.db.writer.begin() as conn:  # the window closes
            await conn.execute(update(schema.notifications).values(window_ends_at=now_utc() - timedelta(seconds=1)))
        await send(client, admin_headers)  # opens the next window, and goes at once
        assert await hub.outbox.run_once(now_utc()) == 1
    assert slack_texts(server)[3] == "Deploy failed"


async def test_a_follow_up_shows_its_newest_event_unless_a_milder_one(client, hub, admin_headers):
    """ "3 more events since the first notification" came with the details of the first of them (job test-2, a
    queue's depth an hour ago), not of the newest; a milder newest one must not take a warning's title, though."""
    with LoopbackServer() as server:
        rule = {"name": "grouped", "group_by": ["event"], "group_window_seconds": 60}
        await put_rule(client, admin_headers, {**rule, "targets": [{"slack": server.url}]})
        for job in range(1, 5):
            await send(client, admin_headers, event="Build failed", description=f"job test-{job}", severity="warning")
        for depth, severity in ((1000, "info"), (2000, "warning"), (3000, "info")):
            await send(client, admin_headers, event="Queue deep", description=f"depth {depth}", severity=severity)
        now = now_utc()
        assert await hub.outbox.run_once(now) == 2
        assert await hub.outbox.run_once(now + timedelta(seconds=61)) == 2
        follow_ups = {b["blocks"][0]["text"]["text"]: b for b in map(json.loads, (r.body for r in server.received[2:]))}
    assert follow_ups["Build failed (3 events)"]["blocks"][1]["text"]["text"] == (
        "3 more events in shop/ci since the first notification. job test-4"
    )
    assert follow_ups["Queue deep (2 events)"]["blocks"][1]["text"]["text"] == (
        "2 more events in shop/ci since the first notification. depth 2000"
    )


async def test_a_critical_event_joining_a_group_held_by_quiet_hours_goes_out_at_once(client, hub, admin_headers):
    """Critical events are never held: one that comes into a window a milder event opened during quiet hours opens
    its own and goes at once, under its own title; milder events after it go in its follow-up, which quiet hours
    hold like any other milder notification."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=2)).strftime("%H:%M")}
    rule = {"name": "grouped", "group_by": ["channel"], "group_window_seconds": 60, "quiet_hours": quiet}
    with LoopbackServer() as server:
        await put_rule(client, admin_headers, {**rule, "targets": [{"slack": server.url}]})
        await send(client, admin_headers, event="Replica lag")
        await send(client, admin_headers, event="Replica down", severity="critical")
        await send(client, admin_headers, event="Replica lag")
        assert await states(client, admin_headers) == ["held", "held", "pending"]
        assert await hub.outbox.run_once(now + timedelta(seconds=61)) == 1  # quiet hours go on
    assert slack_texts(server) == ["Replica down"]


async def test_a_critical_event_in_a_held_follow_up_sends_it_under_its_title(client, hub, admin_headers):
    """A milder event made the follow-up, held by quiet hours (or suppressed); a critical one joining it must not
    wait for the morning."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=2)).strftime("%H:%M")}
    rule = {"name": "grouped", "group_by": ["channel"], "group_window_seconds": 60, "quiet_hours": quiet}
    with LoopbackServer() as server:
        await put_rule(client, admin_headers, {**rule, "targets": [{"slack": server.url}]})
        await send(client, admin_headers, event="Replica down", severity="critical")
        await send(client, admin_headers, event="Replica lag")
        assert await states(client, admin_headers) == ["held", "pending"]
        await send(client, admin_headers, event="Replica down again", severity="critical")
        assert await states(client, admin_headers) == ["pending", "pending"]
        assert await hub.outbox.run_once(now_utc()) == 1
        assert await hub.outbox.run_once(now_utc() + timedelta(seconds=61)) == 1
    assert slack_texts(server) == ["Replica down", "Replica down again (2 events)"]


async def test_an_event_counted_into_a_follow_up_that_already_went_out_is_not_lost(client, hub, admin_headers):
    """The follow-up was claimed while an event was still joining it (on PostgreSQL another process whose clock
    is a little ahead, or this transaction committing just after the window closed): it went out without the event,
    which was counted into it and never notified. Such an event now opens a window of its own."""
    with LoopbackServer() as server:
        rule = {"name": "grouped", "group_by": ["event"], "group_window_seconds": 60}
        await put_rule(client, admin_headers, {**rule, "targets": [{"slack": server.url}]})
        await send(client, admin_headers, description="first")
        await send(client, admin_headers, description="second")
        now = now_utc()
        assert await hub.outbox.run_once(now) == 1
        assert await hub.outbox.run_once(now + timedelta(seconds=61)) == 1  # the worker's clock: window closed
        await send(client, admin_headers, description="third")  # by this clock, the window is still open
        assert await hub.outbox.run_once(now_utc()) == 1
    assert [json.loads(r.body)["blocks"][1]["text"]["text"] for r in server.received] == [
        "first",
        "1 more event in shop/ci since the first notification. second",
        "third",
    ]


async def test_a_group_window_is_per_project(client, hub, admin_headers):
    """`everyone` is every member of the event's project: another project's event must not fold into the window."""
    for email, project in (("ada@example.com", "alpha"), ("bob@example.com", "beta")):
        user = {"email": email, "name": email[:3], "projects": [project]}
        assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    targets = [{"everyone": True, "via": "email"}]
    rule = {"name": "grouped", "targets": targets, "group_by": ["event"], "group_window_seconds": 60}
    await put_rule(client, admin_headers, rule)
    for project in ("alpha", "beta", "beta"):
        await send(client, admin_headers, project=project)
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    # beta's first event opens a window of its own (and its second goes in beta's follow-up), not in alpha's.
    assert sorted(d["address"] for d in items) == ["ada@example.com", "bob@example.com", "bob@example.com"]


async def test_identical_events_are_deduplicated(client, hub, admin_headers):
    await put_rule(
        client, admin_headers, {"name": "dedupe", "targets": [{"slack": "http://127.0.0.1:9/x"}], "dedupe_seconds": 600}
    )
    await send(client, admin_headers, tags={"job": "build"})
    await send(client, admin_headers, tags={"job": "build"})
    await send(client, admin_headers, tags={"job": "test"})
    assert await states(client, admin_headers) == ["pending", "pending"]


async def test_rate_limit_per_target_suppresses_the_excess(client, hub, admin_headers):
    await put_rule(
        client,
        admin_headers,
        {
            "name": "limited",
            "targets": [{"slack": "http://127.0.0.1:9/x"}],
            "rate_limit": 2,
            "rate_period_seconds": 3600,
        },
    )
    for i in range(4):
        await send(client, admin_headers, event=f"e{i}")
    assert await states(client, admin_headers) == ["pending", "pending", "suppressed", "suppressed"]


async def test_quiet_hours_hold_non_critical_and_send_one_digest(client, hub, admin_headers):
    now = now_utc()
    start = (now - timedelta(hours=1)).strftime("%H:%M")
    end = (now + timedelta(hours=1)).strftime("%H:%M")
    with LoopbackServer() as server:
        await put_rule(
            client,
            admin_headers,
            {"name": "quiet", "targets": [{"slack": server.url}], "quiet_hours": {"start": start, "end": end}},
        )
        await send(client, admin_headers, event="first")
        await send(client, admin_headers, event="second", severity="warning")
        await send(client, admin_headers, event="fire", severity="critical")
        assert await states(client, admin_headers) == ["held", "held", "pending"]
        assert await hub.outbox.run_once(now_utc()) == 1  # only the critical one goes out now
        assert await hub.outbox.run_once(now + timedelta(hours=1, minutes=1)) == 1  # one digest
    assert len(server.received) == 2
    digest = json.loads(server.received[1].body)
    check_message(digest)
    assert digest["blocks"][0]["text"]["text"] == "2 notifications while you were away"
    assert "first" in digest["blocks"][1]["text"]["text"] and "second" in digest["blocks"][1]["text"]["text"]
    assert await states(client, admin_headers) == ["delivered"] * 3


async def test_a_digest_counts_the_notifications_it_lists(client, hub, admin_headers):
    """A window's first event and its follow-up, both held: the digest listed two notifications under the title
    "4 notifications while you were away", counting the follow-up's events as notifications."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    rule = {"name": "grouped", "group_by": ["event"], "group_window_seconds": 60, "quiet_hours": quiet}
    with LoopbackServer() as server:
        await put_rule(client, admin_headers, {**rule, "targets": [{"slack": server.url}]})
        for _ in range(4):
            await send(client, admin_headers, severity="warning")
        assert await states(client, admin_headers) == ["held", "held"]
        assert await hub.outbox.run_once(now + timedelta(hours=1, minutes=1)) == 1
    [digest] = [json.loads(r.body)["blocks"] for r in server.received]
    assert digest[0]["text"]["text"] == "2 notifications while you were away"
    assert [line.split("|")[1].split(">")[0] for line in digest[1]["text"]["text"].split("\n")] == [
        "Deploy failed",
        "Deploy failed (3 events)",
    ]


async def test_rules_run_in_order_and_continue_falls_through(client, hub, admin_headers):
    await put_rule(client, admin_headers, {"name": "a", "targets": [{"email": "a@example.com"}], "continue": True})
    await put_rule(client, admin_headers, {"name": "b", "targets": [{"email": "b@example.com"}]})
    await put_rule(client, admin_headers, {"name": "c", "targets": [{"email": "c@example.com"}]})
    await send(client, admin_headers)
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert sorted(d["address"] for d in items) == ["a@example.com", "b@example.com"]
    listed = (await client.get("/api/v1/routes", headers=admin_headers)).json()
    assert [r["rule"]["name"] for r in listed] == ["a", "b", "c"]
    moved = await client.put(
        "/api/v1/routes/c?position=0",
        json={"name": "c", "targets": [{"email": "c@example.com"}]},
        headers=admin_headers,
    )
    assert moved.status_code == 200
    assert [r["rule"]["name"] for r in (await client.get("/api/v1/routes", headers=admin_headers)).json()] == [
        "c",
        "a",
        "b",
    ]


async def test_notify_without_a_rule_pushes_to_everyone_in_the_project(client, hub, admin_headers):
    users = [
        (
            await client.post(
                "/api/v1/users",
                json={"email": f"{n}@example.com", "name": n, "projects": projects},
                headers=admin_headers,
            )
        ).json()
        for n, projects in (("ann", ["shop"]), ("bob", ["blog"]))
    ]
    for i, user in enumerate(users):
        sub = {"endpoint": f"https://push.example.com/{i}", "keys": {"p256dh": P256DH, "auth": "A" * 22}}
        await client.post(f"/api/v1/users/{user['id']}/push-subscriptions", json=sub, headers=admin_headers)
    await send(client, admin_headers, notify=True)
    await send(client, admin_headers, notify=False)
    await send(client, admin_headers, notify=True, test=True)
    await send(client, admin_headers, notify=True, timestamp=(now_utc() - timedelta(hours=2)).timestamp())
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert [(d["rule"], d["notifier"], d["user_id"]) for d in items] == [("default", "webpush", users[0]["id"])]


async def test_everyone_in_a_project_without_members_is_its_admins_not_people_who_cannot_read_it(
    client, hub, admin_headers
):
    """It was every user: a member of another project (or of none) was pushed the title and description of an
    event the API would not show them."""
    users = [
        (
            await client.post(
                "/api/v1/users",
                json={"email": f"{n}@example.com", "name": n, "role": role, "projects": projects},
                headers=admin_headers,
            )
        ).json()
        for n, role, projects in (("ann", "member", ["blog"]), ("val", "viewer", []), ("ida", "admin", []))
    ]
    for i, user in enumerate(users):
        sub = {"endpoint": f"https://push.example.com/{i}", "keys": {"p256dh": P256DH, "auth": "A" * 22}}
        await client.post(f"/api/v1/users/{user['id']}/push-subscriptions", json=sub, headers=admin_headers)
    await send(client, admin_headers, project="payroll", notify=True)
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert [(d["rule"], d["user_id"]) for d in items] == [("default", users[2]["id"])]


async def test_a_person_without_a_push_device_gets_a_failed_delivery_that_says_why(client, hub, admin_headers):
    """Nothing was sent and nothing recorded: the delivery log could not tell why Ada never heard of it."""
    user = {"email": "ada@example.com", "name": "Ada"}
    assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    await put_rule(client, admin_headers, {"name": "r", "targets": [{"user": "ada@example.com"}]})
    await send(client, admin_headers)
    [delivery] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert (delivery["notifier"], delivery["address"], delivery["state"]) == ("webpush", "(none)", "failed")
    assert delivery["finished_at"] is not None
    assert delivery["last_error"] == (
        "ada@example.com has no push device: notifications are not on in any browser they are signed in to"
    )
    assert await hub.outbox.run_once(now_utc() + timedelta(hours=1)) == 0  # nothing to send


async def test_a_delivery_to_a_person_without_a_push_device_is_not_retried_while_they_have_none(
    client, hub, admin_headers
):
    """Retry queued it: the worker found no subscription at "" and failed it again, saying "the subscription was
    removed" in place of the reason."""
    user = {"email": "ada@example.com", "name": "Ada"}
    assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    await put_rule(client, admin_headers, {"name": "r", "targets": [{"user": "ada@example.com"}]})
    await send(client, admin_headers)
    [delivery] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    retried = await client.post(f"/api/v1/deliveries/{delivery['id']}/retry", headers=admin_headers)
    assert retried.status_code == 409
    assert retried.json()["message"] == (
        f"delivery {delivery['id']} cannot be retried: ada@example.com still has no push device (notifications are"
        " not on in any browser they are signed in to)"
    )
    assert (await client.get(f"/api/v1/deliveries/{delivery['id']}", headers=admin_headers)).json() == delivery


async def test_team_members_without_a_device_are_skipped_while_others_have_one(client, hub, admin_headers):
    """Each member who never turned push on added a failed delivery to every notification the others got."""
    ids = {}
    for email in ("ada@example.com", "bob@example.com"):
        user = {"email": email, "name": email[:3]}
        ids[email] = (await client.post("/api/v1/users", json=user, headers=admin_headers)).json()["id"]
    assert (await client.post("/api/v1/teams", json={"slug": "ops", "name": "Ops"}, headers=admin_headers)).is_success
    for user_id in ids.values():
        assert (await client.put(f"/api/v1/teams/ops/members/{user_id}", headers=admin_headers)).is_success
    sub = {"endpoint": "https://push.example.com/ada", "keys": {"p256dh": P256DH, "auth": "A" * 22}}
    await client.post(f"/api/v1/users/{ids['ada@example.com']}/push-subscriptions", json=sub, headers=admin_headers)
    await put_rule(client, admin_headers, {"name": "r", "targets": [{"team": "ops"}]})
    await send(client, admin_headers)
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert [(d["user_id"], d["state"]) for d in items] == [(ids["ada@example.com"], "pending")]


async def test_explain_endpoint(client, admin_headers):
    assert (await client.post("/api/v1/teams", json={"slug": "ops", "name": "Ops"}, headers=admin_headers)).is_success
    await put_rule(
        client, admin_headers, {"name": "prod", "match": {"tags": {"env": "prod"}}, "targets": [{"team": "ops"}]}
    )
    response = await client.post(
        "/api/v1/routes/test",
        json={"project": "shop", "event": "x", "notify": True, "tags": {"env": "dev"}},
        headers=admin_headers,
    )
    body = response.json()
    assert body["notifies"] is True
    assert [(v["rule"], v["matched"]) for v in body["verdicts"]] == [("prod", False), ("default", True)]
    assert body["verdicts"][0]["reasons"] == ["tag env=dev does not match prod"]
    silent = await client.post(
        "/api/v1/routes/test", json={"project": "shop", "event": "x", "test": True}, headers=admin_headers
    )
    assert silent.json()["silent_reason"] == "test-mode events never notify"
    old = (now_utc() - timedelta(hours=2)).isoformat()
    backfill = await client.post(
        "/api/v1/routes/test", json={"project": "shop", "event": "x", "timestamp": old}, headers=admin_headers
    )
    assert backfill.json()["silent_reason"] == "backfilled events (stamped more than 5 minutes ago) never notify"


async def test_explaining_an_event_names_the_people_whose_quiet_hours_hold_now(client, admin_headers):
    """It said "held for a person whose own quiet hours hold now" for every rule with people, whoever they were."""
    now = now_utc()
    holding = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=2)).strftime("%H:%M"),
    }
    over = {"start": (now + timedelta(hours=2)).strftime("%H:%M"), "end": (now + timedelta(hours=3)).strftime("%H:%M")}
    assert (await client.post("/api/v1/teams", json={"slug": "ops", "name": "Ops"}, headers=admin_headers)).is_success
    for email, quiet in (("ada@example.com", holding), ("bob@example.com", over), ("cy@example.com", None)):
        person = {"email": email, "name": email[:3], "quiet_hours": quiet, "teams": ["ops"]}
        assert (await client.post("/api/v1/users", json=person, headers=admin_headers)).status_code == 201
    # By email (with no device, a push would fail rather than wait), and named by address as well: said once.
    targets = [{"team": "ops", "via": "email"}, {"email": "ada@example.com"}]
    await put_rule(client, admin_headers, {"name": "ops", "targets": targets})
    event = {"project": "shop", "event": "Deploy failed", "severity": "warning"}

    explained = (await client.post("/api/v1/routes/test", json=event, headers=admin_headers)).json()
    [verdict] = [v for v in explained["verdicts"] if v["rule"] == "ops"]
    assert verdict["then"] == [
        f"held for ada@example.com by their quiet hours until {holding['end']} UTC"
        f" ({(now + timedelta(hours=2)):%Y-%m-%d %H:%M} UTC)"
    ]
    critical = await client.post("/api/v1/routes/test", json={**event, "severity": "critical"}, headers=admin_headers)
    assert [v["then"] for v in critical.json()["verdicts"] if v["rule"] == "ops"] == [[]]


async def test_explain_endpoint_takes_the_source_a_rule_matches_on(client, admin_headers):
    rule = {"name": "payments", "match": {"sources": ["stripe"]}, "targets": [{"email": "ops@example.com"}]}
    await put_rule(client, admin_headers, rule)
    event = {"project": "shop", "event": "Payment received"}
    as_api = (await client.post("/api/v1/routes/test", json=event, headers=admin_headers)).json()
    assert as_api["verdicts"][0]["reasons"] == ["source api is not one of stripe"]
    as_stripe = await client.post("/api/v1/routes/test?source=stripe", json=event, headers=admin_headers)
    assert as_stripe.json()["notifies"] is True
    bad = await client.post("/api/v1/routes/test?source=Not%20a%20slug", json=event, headers=admin_headers)
    assert bad.status_code == 400 and bad.json()["field"] == "source"


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"name": "Bad Name", "targets": [{"team": "ops"}]}, "name"),
        ({"name": "r", "targets": []}, "targets"),
        ({"name": "r", "targets": [{"team": "ops", "email": "a@b.c"}]}, None),
        ({"name": "r", "targets": [{"team": "ops"}], "group_by": ["colour"]}, None),
        ({"name": "r", "targets": [{"team": "ops"}], "match": {"min_severity": "fatal"}}, "match.min_severity"),
        ({"name": "r", "targets": [{"team": "ops"}], "quiet_hours": {"start": "9", "end": "10:00"}}, None),
        # Tag keys are lower case; a rule on `Env` could never match.
        ({"name": "r", "targets": [{"team": "ops"}], "match": {"tags": {"Env": "prod"}}}, "match.tags"),
    ],
)
async def test_bad_rules_are_refused_naming_the_field(client, admin_headers, rule, field):
    response = await client.put(f"/api/v1/routes/{rule['name']}", json=rule, headers=admin_headers)
    assert response.status_code == 400, response.text
    if field:
        assert field in response.json()["message"]


def test_routes_test_command_explains(settings, monkeypatch, tmp_path, capsys):
    from hub import cli

    monkeypatch.setenv("HUB_DATABASE_URL", settings.database.url)
    monkeypatch.setenv("HUB_ROUTES", '[{name = "prod", match = {tags = {env = "prod*"}}, targets = [{team = "ops"}]}]')
    path = tmp_path / "event.json"
    path.write_text(
        json.dumps({"project": "shop", "event": "Deploy failed", "tags": {"env": "staging"}, "notify": True})
    )
    assert cli.main(["routes", "test", str(path)]) == 0
    out = capsys.readouterr().out
    assert "no     prod: tag env=staging does not match prod*" in out
    assert "MATCH  default: no rule matched and the event has notify: true" in out
    assert "-> everyone in the project (push)" in out


async def test_routes_test_finds_the_projects_people_whatever_the_case_it_is_named_in(client, hub, admin_headers):
    """`hub routes test` passes the project as the file spells it: `Shop` found no project, and `everyone` was
    explained with the admins' quiet hours instead of the members'."""
    from hub.api.routes import explain_event
    from hub.models import EventIn

    await send(client, admin_headers)  # creates project shop
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    member = {"email": "ada@example.com", "name": "Ada", "role": "member", "projects": ["shop"], "quiet_hours": quiet}
    assert (await client.post("/api/v1/users", json=member, headers=admin_headers)).status_code == 201
    await put_rule(client, admin_headers, {"name": "all", "targets": [{"everyone": True, "via": "email"}]})
    async with hub.db.reader.connect() as conn:
        result = await explain_event(hub, conn, EventIn(event="x", project="Shop"), "Shop")
    [verdict] = [v for v in result.verdicts if v.rule == "all"]
    assert any("ada@example.com" in line for line in verdict.then), verdict.then


async def test_test_mode_and_backfilled_events_never_notify_even_when_a_rule_matches(client, admin_headers):
    await put_rule(
        client, admin_headers, {"name": "all", "targets": [{"slack": "http://127.0.0.1:9/hook"}, {"everyone": True}]}
    )
    await send(client, admin_headers, event="test", test=True, notify=True)
    await send(client, admin_headers, event="old", notify=True, timestamp=(now_utc() - timedelta(hours=2)).timestamp())
    assert (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"] == []
    await send(client, admin_headers, event="live")
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert [(d["rule"], d["notifier"]) for d in items] == [("all", "slack")]


async def test_an_event_is_stored_only_with_its_notification(hub, monkeypatch):
    """The outbox rows are written in the event's own transaction: when they fail, the event is not stored."""
    from sqlalchemy import func, select

    from hub.db import schema
    from hub.ingest import draft_from_input
    from hub.models import EventIn
    from hub.routing.router import Router

    async def failing(*args, **kwargs):
        raise RuntimeError("the outbox is full")

    def drafts(*names_and_notify):
        return [
            draft_from_input(EventIn(event=name, notify=notify), project="shop", source="api", received_at=now_utc())
            for name, notify in names_and_notify
        ]

    await hub.ingestor.store(drafts(("Warm-up", False)))  # the project is known and the rules are cached
    monkeypatch.setattr(Router, "_notify", failing)
    with pytest.raises(RuntimeError, match="the outbox is full"):
        await hub.ingestor.store(drafts(("Quiet", False), ("Loud", True)))
    async with hub.db.reader.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(schema.events))).scalar() == 1
    monkeypatch.undo()
    assert all(r.created for r in await hub.ingestor.store(drafts(("Quiet", False), ("Loud", True))))


async def test_listed_rules_show_slack_webhook_urls_only_up_to_their_host(client, admin_headers):
    """A Slack webhook URL is a secret: whoever has it can post to the channel."""
    secret = "https://hooks.slack.com/services/T0/B0/SECRETTOKEN"
    await put_rule(client, admin_headers, {"name": "to-slack", "targets": [{"slack": secret}]})
    listed = (await client.get("/api/v1/routes", headers=admin_headers)).json()
    [rule] = [r["rule"] for r in listed if r["rule"]["name"] == "to-slack"]
    assert rule["targets"] == [{"slack": "https://hooks.slack.com/…"}]
    assert "SECRETTOKEN" not in str(listed)


async def test_explaining_an_event_shows_webhook_urls_only_up_to_their_host(client, admin_headers):
    """What the rule list hides, `routes/test` must not show either: a target's webhook URL names only its host."""
    secret = "https://hooks.slack.com/services/T0/B0/SECRETTOKEN"
    targets = [{"slack": secret}, {"notifier": "slack", "address": secret}]
    await put_rule(client, admin_headers, {"name": "to-slack", "targets": targets})
    explained = await client.post("/api/v1/routes/test", json={"project": "shop", "event": "x"}, headers=admin_headers)
    [verdict] = [v for v in explained.json()["verdicts"] if v["rule"] == "to-slack"]
    assert verdict["targets"] == ["slack webhook", "slack https://hooks.slack.com/…"]
    assert "SECRETTOKEN" not in explained.text


async def test_a_rule_body_missing_a_field_names_that_field(client, admin_headers):
    """Litestar decodes this body itself (`data`); its error still names the field, as the events API does."""
    response = await client.put("/api/v1/routes/r", json={"name": "r"}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["field"] == "targets" and "`targets`" in response.json()["message"]


async def test_a_rule_put_takes_its_name_from_the_url(client, admin_headers):
    targets = [{"email": "a@example.com"}]
    saved = await client.put("/api/v1/routes/nightly", json={"targets": targets}, headers=admin_headers)
    assert saved.status_code == 200 and saved.json()["name"] == "nightly"
    listed = (await client.get("/api/v1/routes", headers=admin_headers)).json()
    assert [r["rule"]["name"] for r in listed] == ["nightly"]
    other = await client.put(
        "/api/v1/routes/nightly", json={"name": "daily", "targets": targets}, headers=admin_headers
    )
    assert other.status_code == 400 and other.json()["field"] == "name"
    assert "as in the URL" in other.json()["message"]
    bad = await client.put("/api/v1/routes/no%20spaces", json={"targets": targets}, headers=admin_headers)
    assert bad.status_code == 400 and bad.json()["field"] == "name", bad.text


async def test_a_stored_rule_that_no_longer_validates_is_skipped_not_fatal(client, hub, admin_headers, caplog):
    """A rule saved under looser rules (an address ending in a newline) must not stop every event being stored."""
    await put_rule(client, admin_headers, {"name": "old", "targets": [{"email": "a@example.com"}]})
    r = schema.routing_rules.c
    async with hub.db.writer.begin() as conn:
        await conn.execute(
            update(schema.routing_rules)
            .where(r.name == "old")
            .values(definition={"name": "old", "targets": [{"email": "a@example.com\n"}]})
        )
    hub.rules.invalidate()
    stored = await client.post("/api/v1/events", json={"project": "shop", "event": "x"}, headers=admin_headers)
    assert stored.status_code == 201, stored.text
    assert "routing rule 'old' no longer validates" in caplog.text


async def test_a_rule_must_name_teams_and_users_that_exist_and_those_it_sends_to_stay(client, admin_headers):
    """Else the rule matched and notified nobody, with no delivery anywhere to say so."""
    for target, field in [({"team": "ghosts"}, "targets[0].team"), ({"user": "nobody@example.com"}, "targets[0].user")]:
        response = await client.put("/api/v1/routes/r", json={"name": "r", "targets": [target]}, headers=admin_headers)
        assert response.status_code == 400 and response.json()["field"] == field
    assert (await client.post("/api/v1/teams", json={"slug": "ops", "name": "Ops"}, headers=admin_headers)).is_success
    await put_rule(client, admin_headers, {"name": "r", "targets": [{"team": "ops"}]})
    refused = await client.delete("/api/v1/teams/ops", headers=admin_headers)
    assert refused.status_code == 409 and "routing rule r" in refused.json()["message"]
    assert (await client.delete("/api/v1/routes/r", headers=admin_headers)).status_code == 204
    assert (await client.delete("/api/v1/teams/ops", headers=admin_headers)).status_code == 204

    user = await client.post("/api/v1/users", json={"email": "Ada@example.com", "name": "Ada"}, headers=admin_headers)
    await put_rule(client, admin_headers, {"name": "r", "targets": [{"user": "ada@example.com"}]})
    refused = await client.delete(f"/api/v1/users/{user.json()['id']}", headers=admin_headers)
    assert refused.status_code == 409
    assert refused.json()["message"] == "routing rule r sends to user ada@example.com; change it first"
    assert (await client.delete("/api/v1/routes/r", headers=admin_headers)).status_code == 204
    assert (await client.delete("/api/v1/users/ada@example.com", headers=admin_headers)).status_code == 204


async def test_a_rule_names_users_by_email_and_teams_in_any_case(client, hub, admin_headers):
    """A user's id passed the check and then matched no one; a team written `Ops` could be deleted under its rule;
    a user's new email cut them off from their rules; a rule saved by another process was not seen."""
    ada = await client.post("/api/v1/users", json={"email": "ada@example.com", "name": "Ada"}, headers=admin_headers)
    by_id = {"name": "r", "targets": [{"user": ada.json()["id"]}]}
    refused = await client.put("/api/v1/routes/r", json=by_id, headers=admin_headers)
    assert refused.status_code == 400 and refused.json()["field"] == "targets[0].user"
    assert "`user` names a hub user by their email" in refused.json()["message"]

    assert (await client.post("/api/v1/teams", json={"slug": "ops", "name": "Ops"}, headers=admin_headers)).is_success
    await put_rule(client, admin_headers, {"name": "r", "targets": [{"team": "Ops"}, {"user": "Ada@Example.com"}]})
    assert (await client.delete("/api/v1/teams/ops", headers=admin_headers)).status_code == 409
    new_email = {"email": "ada@new.example"}
    moved = await client.patch("/api/v1/users/ada@example.com", json=new_email, headers=admin_headers)
    assert moved.status_code == 409
    assert moved.json()["message"] == "routing rule r sends to user ada@example.com; change it first"
    renamed = await client.patch("/api/v1/users/ada@example.com", json={"name": "Ada L."}, headers=admin_headers)
    assert renamed.status_code == 200
    assert (await client.delete("/api/v1/routes/r", headers=admin_headers)).status_code == 204

    async with hub.db.reader.connect() as conn:
        await hub.rules.rules(conn)  # cached now, without the rule the other process is about to store
    async with hub.db.writer.begin() as conn:
        definition = {"name": "elsewhere", "targets": [{"team": "ops"}]}
        await conn.execute(
            schema.routing_rules.insert().values(
                name="elsewhere", position=0, definition=definition, created_at=now_utc(), updated_at=now_utc()
            )
        )
    refused = await client.delete("/api/v1/teams/ops", headers=admin_headers)
    assert refused.status_code == 409 and "routing rule elsewhere" in refused.json()["message"]


async def test_a_deleted_user_is_sent_nothing_that_waited_for_them(client, hub, admin_headers):
    """Their email held by quiet hours went out in the morning, with events from projects they could no longer
    read."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    user = {"email": "ada@example.com", "name": "Ada", "timezone": "UTC", "quiet_hours": quiet}
    assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    team = {"slug": "ops", "name": "Ops", "members": ["ada@example.com"]}
    assert (await client.post("/api/v1/teams", json=team, headers=admin_headers)).is_success
    await put_rule(client, admin_headers, {"name": "r", "targets": [{"team": "ops", "via": "email"}]})
    await send(client, admin_headers)
    [held] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert held["state"] == "held"
    assert (await client.delete("/api/v1/users/ada@example.com", headers=admin_headers)).status_code == 204
    [ended] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert (ended["state"], ended["last_error"]) == ("failed", "not sent: the user was deleted")
    assert await hub.outbox.run_once(now + timedelta(hours=2)) == 0
    # Retried by hand (or back from a try under way as they were deleted): still nothing goes to them.
    retried = await client.post(f"/api/v1/deliveries/{ended['id']}/retry", headers=admin_headers)
    assert retried.status_code == 202
    assert await hub.outbox.run_once(now_utc()) == 1
    again = (await client.get(f"/api/v1/deliveries/{ended['id']}", headers=admin_headers)).json()
    assert (again["state"], again["last_error"], again["attempts"]) == ("failed", "not sent: the user was deleted", 1)


async def test_a_slack_webhook_no_request_can_reach_is_refused_but_one_stored_before_still_loads(
    client, hub, admin_headers
):
    """A port out of range passed the URL pattern, and every delivery to it then failed."""
    bad_url = "https://hooks.slack.com:99999/services/T000/B000/secret"
    rule = {"name": "ops", "targets": [{"team": "ops"}, {"slack": bad_url}]}
    assert (await client.post("/api/v1/teams", json={"slug": "ops", "name": "Ops"}, headers=admin_headers)).is_success
    response = await client.put("/api/v1/routes/ops", json=rule, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "targets[1].slack"
    assert "Port out of range" in response.json()["message"] and "secret" not in response.text

    # Saved before the check: its other targets keep notifying.
    rule["targets"] = [{"team": "ops"}]
    assert (await client.put("/api/v1/routes/ops", json=rule, headers=admin_headers)).status_code == 200
    r = schema.routing_rules.c
    async with hub.db.writer.begin() as conn:
        definition = {"name": "ops", "targets": [{"team": "ops"}, {"slack": bad_url}]}
        await conn.execute(update(schema.routing_rules).where(r.name == "ops").values(definition=definition))
    assert [len(rule.targets) for rule in await hub.rules.stored()] == [2]


CONFIG_OPS = {
    "HUB_OUTBOUND_ALLOW": '["127.0.0.1"]',
    "HUB_ROUTES": '[{name = "ops", match = {channels = ["ci"]}, targets = [{email = "config@example.com"}]}]',
}


@pytest.mark.parametrize("settings_overrides", [CONFIG_OPS])
async def test_a_stored_rule_the_config_file_took_the_name_of_is_skipped_by_routing_and_its_explanation_alike(
    client, hub, admin_headers
):
    """Stored before the file named a rule `ops` too: routing sent with the stored rule in the file rule's place
    while `routes test` showed both."""
    async with hub.db.writer.begin() as conn:
        definition = {"name": "ops", "targets": [{"email": "stored@example.com"}]}
        await conn.execute(
            schema.routing_rules.insert().values(
                name="ops", position=0, definition=definition, created_at=now_utc(), updated_at=now_utc()
            )
        )
    hub.rules.invalidate()
    explained = await client.post(
        "/api/v1/routes/test", json={"project": "shop", "channel": "ci", "event": "x"}, headers=admin_headers
    )
    assert [(v["rule"], v["targets"]) for v in explained.json()["verdicts"]] == [("ops", ["email config@example.com"])]
    await send(client, admin_headers)
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert [d["address"] for d in items] == ["config@example.com"]
    # The stored one can be deleted (the log says how; it answered 409 "defined in the config file", so nothing
    # could remove it); the file's own rule cannot.
    assert (await client.delete("/api/v1/routes/ops", headers=admin_headers)).status_code == 204
    async with hub.db.reader.connect() as conn:
        assert (await conn.execute(schema.routing_rules.select())).all() == []
    again = await client.delete("/api/v1/routes/ops", headers=admin_headers)
    assert again.status_code == 409
    assert again.json()["message"] == "rule ops is defined in the config file; remove it there"


async def test_dedupe_lets_a_warning_turning_critical_through(client, hub, admin_headers):
    """Same title, description and tags, but now critical: an escalation, not a repeat."""
    await put_rule(client, admin_headers, {"name": "d", "targets": [{"email": "a@example.com"}], "dedupe_seconds": 600})
    for severity in ("warning", "critical", "critical", "warning"):
        await send(client, admin_headers, event="Disk full", severity=severity)
    assert await states(client, admin_headers) == ["pending", "pending"]


async def test_a_rule_on_sources_matches_whatever_their_case(client, hub, admin_headers):
    await put_rule(
        client, admin_headers, {"name": "s", "match": {"sources": ["API"]}, "targets": [{"email": "a@b.co"}]}
    )
    await send(client, admin_headers)
    assert await states(client, admin_headers) == ["pending"]


async def test_a_critical_event_is_not_suppressed_by_a_rate_limit_and_a_suppressed_delivery_says_why(
    client, hub, admin_headers
):
    """Twenty warnings used up the budget: the page that follows must still go out."""
    rule = {"name": "limited", "targets": [{"email": "oncall@example.com"}], "rate_limit": 1}
    await put_rule(client, admin_headers, rule)
    for event, severity in (("Slow", "warning"), ("Slow", "warning"), ("Down", "critical")):
        await send(client, admin_headers, event=event, severity=severity)
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert [(d["state"], d["last_error"]) for d in reversed(items)] == [
        ("pending", None),
        ("suppressed", "rate limit of rule limited: 1 per 3600 s reached"),
        ("pending", None),
    ]


async def test_two_processes_storing_one_group_at_once_make_one_window(client, hub, admin_headers, settings):
    """On PostgreSQL neither transaction saw the window the other was opening: 34 notifications for 20 groups."""
    from hub.core import Hub
    from hub.ingest import draft_from_input
    from hub.models import EventIn

    rule = {"name": "g", "targets": [{"email": "a@example.com"}], "group_by": ["event"], "group_window_seconds": 60}
    await put_rule(client, admin_headers, rule)
    other = Hub(settings)
    await other.start(run_migrations=False, run_jobs=False)

    def drafts(name, channel):  # other channels: no channel row both transactions would wait for
        event = EventIn(event=name, project="shop", channel=channel)
        return [draft_from_input(event, project="shop", source="api", received_at=now_utc())]

    try:
        for i in range(20):
            await asyncio.gather(
                hub.ingestor.store(drafts(f"E{i}", "one")), other.ingestor.store(drafts(f"E{i}", "two"))
            )
    finally:
        await other.stop()
    n = schema.notifications.c
    async with hub.db.reader.connect() as conn:
        rows = (await conn.execute(select(n.id, n.follows_id, n.event_count))).all()
    openers = {row.id for row in rows if row.follows_id is None}
    follow_ups = [(row.follows_id, row.event_count) for row in rows if row.follows_id is not None]
    assert len(openers) == 20
    assert sorted(follow_ups) == sorted((opener, 1) for opener in openers)


async def test_a_persons_quiet_hours_hold_their_email_whichever_target_names_it_first(client, hub, admin_headers):
    """An `email` target listed before the `user` one for the same address took their place, quiet hours and all."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    user = {"email": "ada@example.com", "name": "Ada", "timezone": "UTC", "quiet_hours": quiet}
    assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    targets = [{"email": "Ada@example.com"}, {"user": "ada@example.com", "via": "email"}]
    await put_rule(client, admin_headers, {"name": "r", "targets": targets})
    await send(client, admin_headers)
    await send(client, admin_headers, event="Site down", severity="critical")
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert [(d["address"], d["user_id"] is not None, d["state"]) for d in reversed(items)] == [
        ("ada@example.com", True, "held"),
        ("ada@example.com", True, "pending"),
    ]


async def test_an_email_target_naming_a_users_address_keeps_their_quiet_hours(client, hub, admin_headers):
    """Without a `user` target beside it, the email went out at night, and its times were shown in UTC."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    user = {"email": "ada@example.com", "name": "Ada", "timezone": "UTC", "quiet_hours": quiet}
    assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    targets = [{"email": "Ada@Example.com"}, {"email": "ops@example.com"}]
    await put_rule(client, admin_headers, {"name": "r", "targets": targets})
    await send(client, admin_headers)
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert sorted((d["address"], d["user_id"] is not None, d["state"]) for d in items) == [
        ("ada@example.com", True, "held"),
        ("ops@example.com", False, "pending"),
    ]


async def test_the_explanation_says_what_a_matched_rule_does_besides_sending(client, admin_headers):
    """It said MATCH and the targets while the rule held the event for the night, or for a window."""
    now = now_utc()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    rule = {"name": "r", "targets": [{"email": "a@example.com"}], "group_window_seconds": 300, "quiet_hours": quiet}
    await put_rule(client, admin_headers, {**rule, "group_by": ["event"], "rate_limit": 5, "dedupe_seconds": 60})
    event = {"project": "shop", "event": "Disk full"}
    [verdict] = (await client.post("/api/v1/routes/test", json=event, headers=admin_headers)).json()["verdicts"]
    assert verdict["then"][:3] == [
        "dropped if an identical event notified within the last 60 s",
        "grouped by event: the first of a 300 s window sent at once, the rest as one follow-up when it closes",
        "suppressed past 5 per recipient in 3600 s",
    ]
    assert verdict["then"][3].startswith(f"held by the rule's quiet hours until {quiet['end']} UTC (")
    critical = {**event, "severity": "critical"}
    [verdict] = (await client.post("/api/v1/routes/test", json=critical, headers=admin_headers)).json()["verdicts"]
    assert verdict["then"] == [
        "dropped if an identical event notified within the last 60 s",
        "grouped by event: the first of a 300 s window sent at once, the rest as one follow-up when it closes",
    ]


# Entries of the tz database that ZoneInfo opens but that are no zone to keep quiet hours in: the rules file
# (`posixrules`), the copies under `posix/` and `right/` (leap seconds), Debian's link to the server's own zone,
# the placeholder zone of an unset device; and files that are no zone file at all (they raised ValueError).
NO_ZONES = ["posixrules", "posix/Europe/Berlin", "right/UTC", "localtime", "Factory", "zone.tab", "Mars/Olympus"]


@pytest.mark.parametrize("zone", NO_ZONES)
async def test_a_rule_takes_only_iana_time_zone_names(client, admin_headers, zone):
    quiet = {"start": "22:00", "end": "07:00", "timezone": zone}
    rule = {"name": "r", "targets": [{"email": "ops@example.com"}], "quiet_hours": quiet}
    response = await client.put("/api/v1/routes/r", json=rule, headers=admin_headers)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert f"`quiet_hours.timezone` must be an IANA time zone name such as Europe/Berlin, not {zone!r}" in message
    assert response.json()["field"] == "quiet_hours.timezone"  # was `quiet_hours.quiet_hours.timezone`
    await put_rule(client, admin_headers, {**rule, "quiet_hours": {**quiet, "timezone": "America/Argentina/Salta"}})


@pytest.mark.parametrize("zone", ["posixrules", "localtime"])
def test_a_rule_in_the_config_takes_only_iana_time_zone_names(zone):
    from hub.config import ConfigError, load_settings

    quiet = f'{{start = "22:00", end = "07:00", timezone = "{zone}"}}'
    routes = f'[{{name = "r", targets = [{{email = "ops@example.com"}}], quiet_hours = {quiet}}}]'
    rule = f"`quiet_hours.timezone` must be an IANA time zone name such as Europe/Berlin, not '{zone}'"
    with pytest.raises(ConfigError, match=re.escape(rule)):
        load_settings(environ={"HUB_ROUTES": routes})
