"""/api/v1/checks: managing checks, their history, who may see what, and the answers to bad input."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from hub_plugins.heartbeat.scan import scan

from hub.testing import bearer, make_key


async def test_names_in_other_scripts_get_slugs_of_their_own(create_check):
    """Both used to become `check`, and the second check was refused as a duplicate."""
    first, second = await create_check(name="日本のバックアップ"), await create_check(name="Резервная копия")
    assert first["slug"].startswith("check-") and second["slug"].startswith("check-")
    assert first["slug"] != second["slug"]
    assert (await create_check(name="Zürich backup"))["slug"] == "zurich-backup"


async def test_create_read_update_delete(client, admin_headers, create_check):
    check = await create_check(name="Nightly DB backup")
    assert check["slug"] == "nightly-db-backup"
    assert (check["period"], check["grace"], check["cron"], check["tz"]) == (86400, 3600, None, "UTC")
    assert (check["status"], check["running"], check["channel"]) == ("new", False, "heartbeat")
    assert check["ping_url"].endswith(f"/ping/{check['uuid']}")
    url = f"/api/v1/checks/{check['uuid']}"
    assert (await client.get(url, headers=admin_headers)).json() == check

    changed = await client.patch(url, json={"cron": "0 3 * * *", "tz": "Europe/Berlin"}, headers=admin_headers)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["cron"], changed.json()["period"], changed.json()["tz"]) == (
        "0 3 * * *",
        None,
        "Europe/Berlin",
    )
    back = await client.patch(url, json={"period": 600, "name": "DB backup"}, headers=admin_headers)
    assert (back.json()["period"], back.json()["cron"], back.json()["name"]) == (600, None, "DB backup")

    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    assert (await client.get(url, headers=admin_headers)).status_code == 404
    assert (await client.get(f"/ping/{check['uuid']}")).text == "OK (not found)"


async def test_list_is_paginated_and_filtered(client, admin_headers, create_check):
    for i in range(5):
        await create_check(name=f"job {i}", project="a" if i % 2 else "b")
    seen, cursor = [], None
    while True:
        url = "/api/v1/checks?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=admin_headers)).json()
        seen += [c["name"] for c in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert sorted(seen) == [f"job {i}" for i in range(5)]
    only_a = (await client.get("/api/v1/checks?project=A", headers=admin_headers)).json()["items"]
    assert sorted(c["name"] for c in only_a) == ["job 1", "job 3"]
    # A misspelt filter listed every check; a filter given twice answered for the last.
    for query, field in (("projct=a", "projct"), ("project=a&project=b", "project")):
        refused = await client.get(f"/api/v1/checks?{query}", headers=admin_headers)
        assert (refused.status_code, refused.json()["field"]) == (400, field)
    deliveries = await client.get("/api/v1/deliveries?stat=dead", headers=admin_headers)
    assert deliveries.status_code == 400
    assert deliveries.json()["message"].startswith("`stat` is not a parameter here; the ones taken are state,")


@pytest.mark.parametrize(
    ("body", "status", "field", "words"),
    [
        ({"name": "", "project": "ops"}, 400, "name", "length >= 1"),
        ({"name": "a\u0000b", "project": "ops"}, 400, "name", "NUL character"),  # once a 500: PostgreSQL refuses NUL
        ({"name": "a\tb", "project": "ops"}, 400, "name", "regex"),
        ({"name": "x", "project": "ops", "period": 0}, 400, "period", ">= 1"),
        ({"name": "x", "project": "ops", "grace": -1}, 400, "grace", ">= 0"),
        ({"name": "x", "project": "ops", "slug": "Has Space"}, 400, "slug", "regex"),
        ({"name": "x", "project": "bad project"}, 400, "project", "regex"),
        ({"name": "x", "project": "ops", "period": 60, "cron": "* * * * *"}, 400, "cron", "give one, not both"),
        ({"name": "x", "project": "ops", "cron": "61 * * * *"}, 400, None, "`cron`"),
        ({"name": "x", "project": "ops", "cron": "0 0 * * 7-1"}, 400, "cron", "range `7-1` runs backwards"),
        ({"name": "x", "project": "ops", "cron": "0 9 * * *", "tz": "Europe/Nowhere"}, 400, None, "`tz`"),
        ({"name": "x", "project": "ops", "tz": "localtime"}, 400, "tz", "must be an IANA time zone name"),
        ({"name": "x", "project": "ops", "colour": "red"}, 400, None, "unknown field `colour`"),
        ({"project": "ops"}, 400, None, "missing required field `name`"),
        ({"name": "x", "project": "ops", "methods": "GET"}, 400, "methods", "Invalid enum value 'GET'"),
    ],
)
async def test_bad_checks_are_refused_naming_the_field(client, admin_headers, body, status, field, words):
    response = await client.post("/api/v1/checks", json=body, headers=admin_headers)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]
    if field:
        assert response.json()["field"] == field


@pytest.mark.parametrize(
    ("body", "message", "field"),
    [
        ({"name": "x", "project": "ops", "period": 0}, "Expected `int` >= 1 - at `$.period`", "period"),
        (
            {"name": "x", "project": "ops", "cron": "0 9 * * *", "tz": "Europe/Nowhere"},
            "`tz` must be an IANA time zone name such as Europe/Berlin, not 'Europe/Nowhere'",
            "tz",
        ),
        ({"project": "ops"}, "Object missing required field `name`", "name"),
    ],
)
async def test_bad_input_is_answered_as_the_readme_shows(client, admin_headers, body, message, field):
    """These read "Expected `int` >= 1 - at `period` (body)" and "... - at `data` (body)", naming a `data` that no
    request has, where the README and the event routes say `$.period`."""
    response = await client.post("/api/v1/checks", json=body, headers=admin_headers)
    assert response.json() == {"message": message, "field": field, "status": 400}


async def test_bad_updates_and_clashes(client, admin_headers, create_check):
    first = await create_check(name="one")
    await create_check(name="two")
    url = f"/api/v1/checks/{first['uuid']}"
    clash = await client.patch(url, json={"slug": "two"}, headers=admin_headers)
    assert clash.status_code == 409 and "slug `two`" in clash.json()["message"]
    again = await client.post("/api/v1/checks", json={"name": "one", "project": "ops"}, headers=admin_headers)
    assert again.status_code == 409
    control = await client.patch(url, json={"name": "one\nrm -rf"}, headers=admin_headers)
    assert control.status_code == 400 and control.json()["field"] == "name"
    both = await client.patch(url, json={"period": 60, "cron": "* * * * *"}, headers=admin_headers)
    assert both.status_code == 400
    bad_zone = await client.patch(url, json={"cron": "0 1 * * *", "tz": "Nowhere/City"}, headers=admin_headers)
    assert bad_zone.status_code == 400 and bad_zone.json()["field"] == "tz"
    limit = await client.get("/api/v1/checks?limit=500", headers=admin_headers)
    assert limit.status_code == 400 and "limit" in limit.json()["message"]
    cursor = await client.get("/api/v1/checks?cursor=nonsense", headers=admin_headers)
    assert cursor.status_code == 400 and cursor.json()["field"] == "cursor"


async def test_scopes_and_project_bound_keys(client, hub, admin_headers, create_check):
    ops = await create_check(name="ops job", project="ops")
    web = await create_check(name="web job", project="web")
    assert (await client.get("/api/v1/checks")).status_code == 401
    reader = bearer(await make_key(hub, "read"))
    assert (await client.get("/api/v1/checks", headers=reader)).status_code == 200
    refused = await client.post("/api/v1/checks", json={"name": "x", "project": "ops"}, headers=reader)
    assert refused.status_code == 403 and "`admin` scope" in refused.json()["message"]
    assert (await client.post(f"/api/v1/checks/{ops['uuid']}/pause", headers=reader)).status_code == 403

    ops_admin = bearer(await make_key(hub, "admin", project="ops"))
    listed = (await client.get("/api/v1/checks", headers=ops_admin)).json()["items"]
    assert [c["uuid"] for c in listed] == [ops["uuid"]]
    assert (await client.get(f"/api/v1/checks/{web['uuid']}", headers=ops_admin)).status_code == 404
    assert (await client.delete(f"/api/v1/checks/{web['uuid']}", headers=ops_admin)).status_code == 404
    assert (await client.get("/api/v1/checks?project=web", headers=ops_admin)).status_code == 403
    other = await client.post("/api/v1/checks", json={"name": "x", "project": "web"}, headers=ops_admin)
    assert other.status_code == 403
    assert (await client.get("/api/v1/check-projects/web", headers=ops_admin)).status_code == 403
    assert (await client.get("/api/v1/check-projects/ops", headers=ops_admin)).status_code == 200


async def test_read_only_callers_get_the_unique_key_and_never_what_pings_a_check(
    client, hub, admin_headers, clock, create_check, stored_events
):
    """A UUID is a ping URL, and a ping marks a check up or down: read keys, members and viewers name a check by its
    `unique_key` instead, and the events a check sends (which every reader of the feed sees) do the same."""
    check = await create_check(period=60, grace=30)
    key = check["unique_key"]
    assert len(key) == 32 and check["uuid"] not in key and key not in check["uuid"]
    await client.get(f"/ping/{check['uuid']}/fail")
    reader = bearer(await make_key(hub, "read"))

    [listed] = (await client.get("/api/v1/checks", headers=reader)).json()["items"]
    one = (await client.get(f"/api/v1/checks/{key}", headers=reader)).json()
    full = (await client.get(f"/api/v1/checks/{key}", headers=admin_headers)).json()
    assert listed == one == {**full, "uuid": None, "ping_url": None}
    assert full["uuid"] == check["uuid"] and full["ping_url"].endswith(f"/ping/{check['uuid']}")
    for history in ("pings", "flips"):
        by_key = (await client.get(f"/api/v1/checks/{key}/{history}", headers=reader)).json()
        assert by_key == (await client.get(f"/api/v1/checks/{check['uuid']}/{history}", headers=reader)).json()
        assert len(by_key["items"]) == 1
    assert (await client.post(f"/api/v1/checks/{key}/pause", headers=reader)).status_code == 403
    assert (await client.post(f"/api/v1/checks/{key}/pause", headers=admin_headers)).json()["status"] == "paused"
    assert (await client.get(f"/ping/{key}")).status_code == 404  # the key pings nothing

    [failed] = await stored_events()
    assert failed["content"]["check"] == key
    assert check["uuid"] not in str(failed)


async def test_a_check_an_older_process_made_is_given_a_key(client, hub, admin_headers, create_check):
    """During a rolling upgrade, a process of the version before `unique_key` makes checks without one after the
    migration gave every check a key: the hourly job (and a start) keys them, or nobody could name them."""
    from hub_plugins.heartbeat import tables
    from hub_plugins.heartbeat.store import give_keys
    from sqlalchemy import update

    check = await create_check()
    async with hub.db.writer.begin() as conn:
        await conn.execute(update(tables.checks).values(unique_key=None))
    assert await give_keys(hub.context) == 1
    [listed] = (await client.get("/api/v1/checks", headers=admin_headers)).json()["items"]
    assert len(listed["unique_key"]) == 32 and listed["unique_key"] != check["unique_key"]
    assert (await client.get(f"/api/v1/checks/{listed['unique_key']}", headers=admin_headers)).json() == listed
    assert await give_keys(hub.context) == 0


async def test_pause_resume_and_history(client, hub, admin_headers, clock, create_check):
    check = await create_check(period=60, grace=30)
    url = f"/api/v1/checks/{check['uuid']}"
    for _ in range(3):
        await client.get(f"/ping/{check['uuid']}")
        clock.advance(10)
    paused = await client.post(f"{url}/pause", headers=admin_headers)
    assert paused.json()["status"] == "paused" and paused.json()["down_at"] is None
    clock.advance(3600)
    assert await scan(hub.context) == 0
    resumed = (await client.post(f"{url}/resume", headers=admin_headers)).json()
    assert resumed["status"] == "new"

    first = (await client.get(f"{url}/pings?limit=2", headers=admin_headers)).json()
    rest = (await client.get(f"{url}/pings?limit=2&cursor={first['next_cursor']}", headers=admin_headers)).json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    flips = (await client.get(f"{url}/flips", headers=admin_headers)).json()["items"]
    assert [(f["old_status"], f["new_status"]) for f in reversed(flips)] == [
        ("new", "up"),
        ("up", "paused"),
        ("paused", "new"),
    ]


async def test_a_post_only_check_keeps_other_requests_as_ignored(client, hub, admin_headers, clock, create_check):
    """Healthchecks' `methods: "POST"`: a chat app unfurling the ping URL (GET, HEAD) must not say the job ran, nor
    that it failed or started; such pings are stored as `ign`, answered OK, and change nothing."""
    check = await create_check(period=60, grace=30, methods="POST")
    assert check["methods"] == "POST"
    url = f"/api/v1/checks/{check['uuid']}"
    for action in ("", "/start", "/fail"):
        assert (await client.get(f"/ping/{check['uuid']}{action}")).text == "OK"
    assert (await client.head(f"/ping/{check['uuid']}")).status_code == 200
    untouched = (await client.get(url, headers=admin_headers)).json()
    assert (untouched["status"], untouched["running"], untouched["last_ping_at"]) == ("new", False, None)
    pings = (await client.get(f"{url}/pings", headers=admin_headers)).json()["items"]
    assert [(p["kind"], p["method"]) for p in pings] == [("ign", "HEAD"), *[("ign", "GET")] * 3]

    assert (await client.post(f"/ping/{check['uuid']}", content=b"done")).text == "OK"
    assert (await client.get(url, headers=admin_headers)).json()["status"] == "up"
    changed = await client.patch(url, json={"methods": ""}, headers=admin_headers)
    assert changed.json()["methods"] == ""
    await client.get(f"/ping/{check['uuid']}/fail")
    assert (await client.get(url, headers=admin_headers)).json()["status"] == "down"


async def test_manual_resume_keeps_a_paused_check_paused_when_pinged(client, hub, admin_headers, clock, create_check):
    """Healthchecks' `manual_resume`: pings to the paused check are stored as `ign` and change nothing."""
    check = await create_check(period=60, grace=30, manual_resume=True)
    assert check["manual_resume"] is True
    url = f"/api/v1/checks/{check['uuid']}"
    await client.post(f"{url}/pause", headers=admin_headers)
    for action in ("", "/start", "/fail", "/0"):
        assert (await client.get(f"/ping/{check['uuid']}{action}")).text == "OK"
    paused = (await client.get(url, headers=admin_headers)).json()
    assert (paused["status"], paused["running"], paused["last_ping_at"], paused["down_at"]) == (
        "paused",
        False,
        None,
        None,
    )
    clock.advance(3600)
    assert await scan(hub.context) == 0
    pings = (await client.get(f"{url}/pings", headers=admin_headers)).json()["items"]
    assert [p["kind"] for p in pings] == ["ign"] * 4
    assert (await client.post(f"{url}/resume", headers=admin_headers)).json()["status"] == "new"
    await client.get(f"/ping/{check['uuid']}")
    assert (await client.get(url, headers=admin_headers)).json()["status"] == "up"

    changed = await client.patch(url, json={"manual_resume": False}, headers=admin_headers)
    assert changed.json()["manual_resume"] is False
    await client.post(f"{url}/pause", headers=admin_headers)
    await client.get(f"/ping/{check['uuid']}")
    assert (await client.get(url, headers=admin_headers)).json()["status"] == "up"  # the default: a ping resumes


async def test_badges(client, hub, admin_headers, clock, create_check):
    check = await create_check(period=60, grace=30, name="Backup")
    await create_check(name="Report", period=60, grace=30)
    keys = (await client.get("/api/v1/check-projects/ops", headers=admin_headers)).json()
    assert keys["ping_url"].endswith(f"/ping/{keys['ping_key']}/{{slug}}")

    async def badge(name: str) -> str:
        response = await client.get(f"/badge/{keys['badge_key']}/{name}.svg")
        assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
        return response.text

    await client.get(f"/ping/{check['uuid']}")
    assert ">up<" in await badge("backup") and ">up<" in await badge("ops")
    clock.advance(61)
    assert ">late<" in await badge("backup") and ">late<" in await badge("ops")
    # Healthchecks' other formats: counts as JSON, shields.io's endpoint badge, and two states (late shows as up).
    counts = await client.get(f"/badge/{keys['badge_key']}/ops.json")
    assert counts.json() == {"status": "late", "total": 2, "grace": 1, "down": 0}
    shield = await client.get(f"/badge/{keys['badge_key']}/backup.shields")
    assert shield.json() == {"schemaVersion": 1, "label": "backup", "message": "late", "color": "important"}
    assert ">up<" in (await client.get(f"/badge/{keys['badge_key']}/backup.svg?states=2")).text
    assert (await client.get(f"/badge/{keys['badge_key']}/backup.svg?states=4")).status_code == 400
    clock.advance(30)
    await scan(hub.context)
    assert ">down<" in await badge("backup") and ">down<" in await badge("ops")
    assert ">up<" in await badge("report")  # a new check shows up, as in Healthchecks
    two_states = await client.get(f"/badge/{keys['badge_key']}/ops.json?states=2")
    assert two_states.json() == {"status": "down", "total": 2, "grace": 0, "down": 1}
    assert (await client.get(f"/badge/{keys['badge_key']}/backup.png")).status_code == 404
    assert (await client.get(f"/badge/{keys['badge_key']}/nothing.svg")).status_code == 404
    assert (await client.get(f"/badge/{keys['badge_key']}/backup")).status_code == 404
    assert (await client.get("/badge/wrong-key/backup.svg")).status_code == 404
    head = await client.head(f"/badge/{keys['badge_key']}/ops.svg")
    assert (head.status_code, head.headers["content-type"]) == (200, "image/svg+xml")


async def test_run_that_never_finishes_is_flagged(client, hub, admin_headers, clock, create_check, stored_events):
    check = await create_check(period=3600, grace=60)
    await client.get(f"/ping/{check['uuid']}")
    await client.get(f"/ping/{check['uuid']}/start")
    assert (await client.get(f"/api/v1/checks/{check['uuid']}", headers=admin_headers)).json()["running"] is True
    clock.advance(61)
    assert await scan(hub.context) == 1
    [event] = await stored_events()
    assert event["tags"]["reason"] == "run_timeout" and "not finished" in event["description"]


async def test_failure_output_reaches_the_missed_event(client, hub, clock, create_check, stored_events):
    check = await create_check(period=60, grace=30)
    await client.post(f"/ping/{check['uuid']}", content=b"disk 91% full")
    clock.advance(91)
    await scan(hub.context)
    [event] = await stored_events()
    assert event["content"]["last_output"] == "disk 91% full"
    assert event["notify"] is True


async def test_missed_event_found_late_still_notifies(client, hub, clock, create_check, stored_events):
    """A hub that was down finds the deadline long past: the event keeps the deadline and still notifies."""
    check = await create_check(period=60, grace=30)
    start = clock.now()
    await client.get(f"/ping/{check['uuid']}")
    clock.advance(3 * 3600)
    assert await scan(hub.context) == 1
    [event] = await stored_events()
    assert event["created_at"] == (start + timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    assert event["notify"] is True


async def test_old_pings_are_pruned_and_flips_kept(client, hub, admin_headers, clock, create_check, monkeypatch):
    pruning = importlib.import_module("hub_plugins.heartbeat.prune")  # the module: the package exports the function
    monkeypatch.setattr(pruning, "PINGS_AT_ONCE", 2)  # several batches
    check = await create_check(period=60, grace=30)
    for _ in range(5):
        await client.get(f"/ping/{check['uuid']}")
    clock.advance(91 * 24 * 3600)
    await client.get(f"/ping/{check['uuid']}")
    assert await pruning.prune(hub.context) == 5
    url = f"/api/v1/checks/{check['uuid']}"
    assert len((await client.get(f"{url}/pings", headers=admin_headers)).json()["items"]) == 1
    assert len((await client.get(f"{url}/flips", headers=admin_headers)).json()["items"]) == 1


async def test_the_checks_api_is_in_the_openapi_schema(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"/api/v1/checks", "/api/v1/checks/{check_id}/flips", "/badge/{key}/{name}"} <= set(paths)


@pytest.mark.parametrize("change", ["patch", "pause"])
async def test_a_change_racing_a_ping_does_not_undo_it(
    client, hub, admin_headers, clock, create_check, stored_events, monkeypatch, change
):
    """A ping landing between a change's read and its write was overwritten on PostgreSQL: the check went back to
    `down`, and the next ping stored a second `recovered`. The change now locks the row it read."""
    import asyncio

    from hub_plugins.heartbeat import store
    from hub_plugins.heartbeat.scan import scan

    check = await create_check(period=60, grace=0)
    uuid = check["uuid"]
    await client.get(f"/ping/{uuid}")
    clock.advance(61)
    assert await scan(hub.context) == 1  # down

    real_find = store.find_check

    async def slow_find(conn, check_uuid, **options):
        row = await real_find(conn, check_uuid, **options)
        await asyncio.sleep(0.5)  # the change has read the row; a ping comes in now
        return row

    monkeypatch.setattr(store, "find_check", slow_find)

    async def ping_meanwhile():
        await asyncio.sleep(0.1)
        return await client.get(f"/ping/{uuid}")

    if change == "patch":
        changing = client.patch(f"/api/v1/checks/{uuid}", json={"name": "Nightly backup"}, headers=admin_headers)
    else:
        changing = client.post(f"/api/v1/checks/{uuid}/pause", headers=admin_headers)
    changed, pinged = await asyncio.gather(changing, ping_meanwhile())
    monkeypatch.setattr(store, "find_check", real_find)
    assert changed.status_code == 200 and pinged.text == "OK"
    shown = (await client.get(f"/api/v1/checks/{uuid}", headers=admin_headers)).json()
    assert shown["status"] == "up"
    # A ping after a pause brings the check up without a `recovered` event, as on Healthchecks.
    expected = ["missed", "recovered"] if change == "patch" else ["missed"]
    assert [e["event"].rsplit(" ", 1)[1] for e in await stored_events()] == expected


async def test_a_failure_alert_shows_the_end_of_the_jobs_output(client, admin_headers, create_check):
    """The text said only "The job reported a failure.": the job's output was in the JSON content alone, where an
    email puts it last, under the facts."""
    check = await create_check(period=60, grace=30)
    assert (await client.get(f"/ping/{check['uuid']}")).text == "OK"
    output = "\n".join(f"step {n}" for n in range(1, 16)) + "\npg_dump: error: ```connection``` refused\n\n"
    assert (await client.post(f"/ping/{check['uuid']}/2", content=output.encode())).text == "OK"
    assert (await client.get(f"/ping/{check['uuid']}")).text == "OK"
    assert (await client.post(f"/ping/{check['uuid']}/fail", content=b"")).text == "OK"
    events = (await client.get("/api/v1/events?project=ops", headers=admin_headers)).json()["items"]
    failures = [e for e in reversed(events) if e["event"].endswith("failed")]
    shown = "\n".join([*(f"step {n}" for n in range(7, 16)), "pg_dump: error: ```connection``` refused"])
    assert (failures[0]["description"], failures[0]["parser"]) == (
        f"The job reported a failure with exit status 2.\n\nThe end of its output:\n\n````\n{shown}\n````",
        "markdown",
    )
    assert (failures[1]["description"], failures[1]["parser"]) == ("The job reported a failure.", "text")
