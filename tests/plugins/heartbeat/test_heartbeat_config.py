"""Checks declared in the config file, and a hub that was down catching up on start."""

from __future__ import annotations

import asyncio

import pytest
from hub_plugins.heartbeat.service import service

from hub.config import load_settings
from hub.core import Hub

DECLARED = (
    '{heartbeat = {checks = [{name = "Backup", project = "ops", cron = "0 3 * * *", tz = "Europe/Berlin", '
    'grace = 600}, {name = "Queue worker", project = "ops", period = 300}]}}'
)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"HUB_PLUGINS": DECLARED}


async def test_declared_checks_are_created_and_kept_in_step(client, admin_headers, settings):
    checks = (await client.get("/api/v1/checks", headers=admin_headers)).json()["items"]
    by_slug = {c["slug"]: c for c in checks}
    assert set(by_slug) == {"backup", "queue-worker"}
    assert by_slug["backup"]["origin"] == "config"
    assert (by_slug["backup"]["cron"], by_slug["backup"]["tz"]) == ("0 3 * * *", "Europe/Berlin")

    changed = load_settings(
        environ={
            "HUB_DATABASE_URL": settings.database.url,
            "HUB_SERVER_RUN_JOBS": "false",
            "HUB_PLUGINS": DECLARED.replace(
                'cron = "0 3 * * *"', 'cron = "0 4 * * *", manual_resume = true, methods = "POST"'
            ),
        }
    )
    restarted = Hub(changed)
    await restarted.start()
    await restarted.stop()
    again = (await client.get(f"/api/v1/checks/{by_slug['backup']['uuid']}", headers=admin_headers)).json()
    # The same check, with the same UUID, and the file's new settings.
    assert (again["cron"], again["manual_resume"], again["methods"]) == ("0 4 * * *", True, "POST")


def test_a_bad_declared_check_stops_the_hub_with_a_message():
    from hub.plugins import PluginError, Plugins

    bad = '{heartbeat = {checks = [{name = "x", project = "ops", period = 60, cron = "* * * * *"}]}}'
    with pytest.raises(PluginError, match=r"\[plugins.heartbeat\].*`cron` and `period` exclude each other"):
        Plugins(load_settings(environ={"HUB_PLUGINS": bad}))


def test_a_declared_check_whose_name_has_a_control_character_stops_the_hub():
    from hub.plugins import PluginError, Plugins

    bad = '{heartbeat = {checks = [{name = "a\\u0000b", project = "ops"}]}}'
    with pytest.raises(PluginError, match=r"\[plugins.heartbeat\].*regex.*checks\[0\]\.name"):
        Plugins(load_settings(environ={"HUB_PLUGINS": bad}))


def test_two_declared_checks_with_one_slug_stop_the_hub():
    """Else the second silently replaced the first on every start."""
    from hub.plugins import PluginError, Plugins

    twice = '{heartbeat = {checks = [{name = "Dup", project = "ops", period = 60}, {name = "dup", project = "OPS"}]}}'
    with pytest.raises(PluginError, match="two checks in project `ops` have the slug `dup`"):
        Plugins(load_settings(environ={"HUB_PLUGINS": twice}))


async def test_processes_starting_together_create_a_newly_declared_check_once(client, admin_headers, settings):
    """Both found no row and inserted one: the second process failed to start on the unique slug."""
    export = '{name = "Nightly export", project = "ops", period = 60}'
    declared = DECLARED.replace("period = 300}", f"period = 300}}, {export}")
    environ = {"HUB_DATABASE_URL": settings.database.url, "HUB_SERVER_RUN_JOBS": "false", "HUB_PLUGINS": declared}
    hubs = [Hub(load_settings(environ=environ)) for _ in range(2)]
    await asyncio.gather(*(each.start() for each in hubs))
    for each in hubs:
        await each.stop()
    checks = (await client.get("/api/v1/checks", headers=admin_headers)).json()["items"]
    assert sorted(c["slug"] for c in checks) == ["backup", "nightly-export", "queue-worker"]


async def test_a_hub_that_was_down_catches_up_once_on_start(client, hub, admin_headers, clock, settings, stored_events):
    """Deadlines pass while no hub runs; the next hub to start flags them at once, and only once."""
    check = (
        await client.post(
            "/api/v1/checks", json={"name": "Sync", "project": "ops", "period": 60, "grace": 30}, headers=admin_headers
        )
    ).json()
    await client.get(f"/ping/{check['uuid']}")
    clock.advance(3600)  # an hour with no hub scanning
    with_jobs = load_settings(
        environ={"HUB_DATABASE_URL": settings.database.url, "HUB_PLUGINS": DECLARED, "HUB_SERVER_RUN_JOBS": "true"}
    )
    for _ in range(2):  # two restarts: the second finds nothing left to flag
        started = Hub(with_jobs)
        service(started.context).clock = clock
        await started.start()
        try:
            for _ in range(100):
                if any(e["event"] == "Sync missed" for e in await stored_events()):
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
        finally:
            await started.stop()
    assert [e["event"] for e in await stored_events()] == ["Sync missed"]
