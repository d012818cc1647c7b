"""The plugin manager: loading, configuration, errors that name the plugin, and every hook being called."""

from __future__ import annotations

import asyncio
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sample_full_plugin
from sqlalchemy import inspect as sql_inspect

from hub import cli, hookspecs
from hub.config import load_settings
from hub.core import Hub
from hub.models import now_utc
from hub.pluginapi import HubContext
from hub.plugins import PluginError, Plugins
from hub.testing import settled

ROOT = Path(__file__).resolve().parents[2]


def install_plugin(monkeypatch, folder: Path, name: str, module: str) -> None:
    """Leave the metadata pip leaves for a plugin's wheel, so the hub finds it as it finds an installed one."""
    info = folder / f"{name}-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0\n")
    (info / "entry_points.txt").write_text(f"[hub.plugins]\n{name} = {module}\n")
    monkeypatch.syspath_prepend(str(folder))


def hookspec_names() -> list[str]:
    return [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "hub_spec")]


def test_every_hookspec_is_documented_and_exercised():
    docs = (ROOT / "docs" / "plugins.md").read_text()
    sample = (Path(__file__).parent / "sample_full_plugin.py").read_text()
    names = hookspec_names()
    assert len(names) >= 9
    for name in names:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"hookspec {name} has no docstring"
        assert f"`{name}(" in docs, f"hookspec {name} is missing from docs/plugins.md"
        assert re.search(rf"def {name}\(", sample), f"hookspec {name} is not implemented by the sample plugin"


def test_third_party_plugin_is_loaded_through_its_entry_point():
    plugins = Plugins(load_settings(environ={}))
    info = {p.name: p for p in plugins.info()}
    assert "example" in info, "tests/example_plugin is not installed: run the README's test command"
    assert info["example"].version == "1.2.3"
    assert info["example"].builtin is False
    assert info["example"].hooks == ["register_settings", "register_sources"]
    assert "example" in plugins.sources


def test_the_hub_as_people_run_it_does_not_load_the_tests_plugin(tmp_path):
    """The example plugin is on the tests' path only: installed into .venv, `./run serve` loaded it after every
    test run, and `hub plugins` listed it."""
    listed = subprocess.run(
        [sys.executable, "-m", "hub", "plugins"], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
    )
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == [
        "email",
        "github",
        "heartbeat",
        "slack",
        "stripe",
        "webpush",
    ]


def test_a_plugin_can_be_disabled():
    plugins = Plugins(load_settings(environ={"HUB_PLUGINS": "{example = {enabled = false}}"}))
    assert "example" not in {p.name for p in plugins.info()}
    assert "example" not in plugins.sources


def test_bad_plugin_settings_name_the_plugin_and_field():
    with pytest.raises(PluginError, match=r"\[plugins\.example\].*icon"):
        Plugins(load_settings(environ={"HUB_PLUGINS": "{example = {icon = 5}}"}))
    with pytest.raises(PluginError, match=r"\[plugins\.example\].*unknown field `colour`"):
        Plugins(load_settings(environ={"HUB_PLUGINS": '{example = {colour = "red"}}'}))


def test_settings_for_a_missing_plugin_are_an_error():
    with pytest.raises(PluginError, match="not installed"):
        Plugins(load_settings(environ={"HUB_PLUGINS": "{nosuch = {x = 1}}"}))


def test_unknown_hook_names_the_plugin(monkeypatch, tmp_path):
    install_plugin(monkeypatch, tmp_path, "sample_bad_plugin", "tests.hub.sample_bad_plugin")
    monkeypatch.syspath_prepend(str(ROOT))
    with pytest.raises(PluginError, match=r"'sample_bad_plugin'.*register_wormholes"):
        Plugins(load_settings(environ={}))


def test_a_plugin_that_fails_to_import_is_named(monkeypatch, tmp_path):
    (tmp_path / "brokenpkg").mkdir()
    (tmp_path / "brokenpkg" / "__init__.py").write_text("")
    (tmp_path / "brokenpkg" / "broken.py").write_text("raise RuntimeError('half-installed')\n")
    install_plugin(monkeypatch, tmp_path, "broken", "brokenpkg.broken")
    with pytest.raises(PluginError, match=r"'broken'.*RuntimeError: half-installed"):
        Plugins(load_settings(environ={}))


@pytest.fixture
def with_sample_plugin(monkeypatch, tmp_path):
    install_plugin(monkeypatch, tmp_path, "sample_full_plugin", "tests.hub.sample_full_plugin")
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setitem(__import__("sys").modules, "tests.hub.sample_full_plugin", sample_full_plugin)
    sample_full_plugin.calls.clear()
    sample_full_plugin.stored.clear()
    sample_full_plugin.sent.clear()


@pytest.fixture
def database_url(private_database_url):
    """The sample plugin's migration must not stay behind in the database other tests share."""
    return private_database_url


@pytest.fixture
def settings_overrides(with_sample_plugin):
    return {"HUB_PLUGINS": '{sample = {greeting = "bonjour"}}'}


async def test_every_hook_is_called(client, hub, admin_headers):
    assert "startup" in sample_full_plugin.calls
    assert (await client.get("/sample/greeting")).json() == {"greeting": "bonjour"}
    async with hub.db.reader.connect() as conn:
        tables = await conn.run_sync(lambda sync: sql_inspect(sync).get_table_names())
    assert "sample_things" in tables
    assert "sample-tick" in [job.name for job in hub.scheduler.jobs]
    assert "sample" in hub.plugins.sources
    assert "sample" in hub.plugins.notifiers
    await client.post("/api/v1/events", json={"project": "p", "event": "seen by plugins"}, headers=admin_headers)
    assert sample_full_plugin.stored == ["seen by plugins"]
    assert "sample_full_plugin" in {p.name for p in hub.plugins.info()}


async def test_a_rule_routes_to_a_plugins_notifier(client, hub, admin_headers):
    """A notifier a plugin registers is reached by a `notifier` target; one no plugin registers is refused."""
    rule = {"targets": [{"notifier": "sample", "address": "ops-room"}]}
    assert (await client.put("/api/v1/routes/to-sample", json=rule, headers=admin_headers)).status_code == 200
    unknown = {"targets": [{"notifier": "pager", "address": "ops"}]}
    refused = await client.put("/api/v1/routes/to-pager", json=unknown, headers=admin_headers)
    assert refused.status_code == 400 and refused.json()["field"] == "targets[0].notifier", refused.text
    body = {"project": "p", "event": "Deploy failed", "notify": True}
    assert (await client.post("/api/v1/events", json=body, headers=admin_headers)).status_code == 201
    assert await hub.outbox.run_once(now_utc()) == 1
    assert sample_full_plugin.sent == [("ops-room", "Deploy failed")]


def test_a_config_rule_naming_a_notifier_no_plugin_registers_stops_the_hub(settings):
    routes = '[{name = "r", targets = [{notifier = "pager", address = "ops"}]}]'
    with pytest.raises(PluginError, match=r"\[\[routes\]\] r: targets\[0\]\.notifier: no notifier `pager`"):
        Hub(load_settings(environ={"HUB_DATABASE_URL": settings.database.url, "HUB_ROUTES": routes}))


async def test_turning_off_a_plugin_with_tables_names_its_revision(client, settings):
    """Its revisions stay in the database, where Alembic alone would stop with a traceback."""
    off = load_settings(
        environ={"HUB_DATABASE_URL": settings.database.url, "HUB_PLUGINS": "{sample_full_plugin = {enabled = false}}"}
    )
    hub = Hub(off)
    try:
        with pytest.raises(PluginError, match=r"plugin that is not loaded \(revision sample_0001\)"):
            await hub.migrate()
    finally:
        await hub.db.dispose()


async def test_plugin_tests_get_the_context_jobs_are_called_with(hub_context):
    assert isinstance(hub_context, HubContext)
    assert hub_context.plugin_settings("sample").greeting == "bonjour"
    await sample_full_plugin.tick(hub_context)
    assert sample_full_plugin.calls[-1] == "tick"


async def test_settled_waits_for_a_listener_that_is_still_running_after_the_answer(client, hub, admin_headers):
    """What a plugin's test uses before checking what its async `events_stored` wrote."""
    heard: list[str] = []

    async def slow_listener(events) -> None:
        await asyncio.sleep(0.3)  # a write of its own
        heard.extend(e.event for e in events)

    hub.ingestor.listeners.append(slow_listener)
    answer = await client.post("/api/v1/events", json={"project": "p", "event": "x"}, headers=admin_headers)
    assert answer.status_code == 201
    await settled(hub)
    assert heard == ["x"]


def test_built_in_plugins_import_only_the_plugin_contract():
    """docs/plugins.md says the built-in plugins use nothing else: whatever one needs, a third-party one can have."""
    for path in (ROOT / "plugins").rglob("*.py"):
        for module in re.findall(r"^\s*(?:from|import) (hub\b[\w.]*)", path.read_text(), re.M):
            assert module in ("hub.pluginapi", "hub.hookspecs"), f"{path.relative_to(ROOT)} imports {module}"


def test_every_name_of_the_plugin_contract_is_there_including_those_loaded_on_first_use():
    import hub.pluginapi

    for name in hub.pluginapi.__all__:
        assert getattr(hub.pluginapi, name) is not None, name
    assert hub.pluginapi.Database.__module__ == "hub.db.engine"
    with pytest.raises(AttributeError, match="has no attribute 'Databse'"):
        hub.pluginapi.Databse


def test_plugin_commands_run_with_a_started_hub(settings, monkeypatch):
    monkeypatch.setenv("HUB_DATABASE_URL", settings.database.url)
    monkeypatch.setenv("HUB_PLUGINS", '{sample = {greeting = "bonjour"}}')
    assert cli.main(["sample-count"]) == 0
    assert sample_full_plugin.calls[-2:] == ["count", "shutdown"]
    assert sample_full_plugin.stored == ["counted"]


def test_hub_plugins_command_lists_versions_and_hooks(capsys):
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^example\t1\.2\.3\tthird-party\tregister_settings, register_sources$", out, re.M)
