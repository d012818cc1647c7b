"""Settings: the example file is complete and valid, so are the README's examples, env overrides reach every key,
errors say where."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec
import pytest

from hub.config import ConfigError, Settings, load_settings
from hub.plugins import PluginError, Plugins

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
README = EXAMPLE.with_name("README.md")


def section_fields() -> dict[str, list[str]]:
    return {
        field.name: [f.name for f in msgspec.structs.fields(field.type)]
        for field in msgspec.structs.fields(Settings)
        if isinstance(field.type, type) and issubclass(field.type, msgspec.Struct)
    }


def test_example_config_lists_every_setting_with_its_default():
    data = tomllib.loads(EXAMPLE.read_text())
    defaults = msgspec.to_builtins(Settings())
    for section, names in section_fields().items():
        for name in names:
            assert name in data[section], f"[{section}] {name} is missing from config.example.toml"
            assert data[section][name] == defaults[section][name], f"[{section}] {name} default differs"
    assert load_settings(EXAMPLE, environ={}) == Settings()


def commented_table(name: str) -> dict:
    """The commented-out `[plugins.NAME]` table of config.example.toml, uncommented and parsed."""
    lines = EXAMPLE.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"# [plugins.{name}]")))
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("# ") or line.startswith("# ["):
            break
        block.append(line[2:])
    return tomllib.loads("\n".join(block))


def test_example_config_lists_every_plugin_setting_with_its_default():
    """`[plugins.stripe] dashboard_url` was missing: the file says every key is shown."""
    plugins = Plugins(Settings())
    builtin = [name for name in plugins.settings if plugins.versions[name][1]]
    assert {"stripe", "email", "webpush", "slack", "heartbeat"} <= set(builtin)
    for name in builtin:
        table = commented_table(name)
        for field, default in msgspec.to_builtins(plugins.settings[name]).items():
            assert field in table, f"[plugins.{name}] {field} is missing from config.example.toml"
            if field != "checks":  # the example declares two heartbeat checks; the default is none
                assert table[field] == default, f"[plugins.{name}] {field} default differs"
        msgspec.convert(table, type(plugins.settings[name]))  # and the example is valid (the heartbeat checks)


@pytest.mark.parametrize("block", re.findall(r"^```toml\n(.*?)^```", README.read_text(), re.S | re.M))
def test_readme_toml_examples_are_valid_settings(tmp_path, block):
    """A reader copies these into hub.toml; the `[[routes]]` one was not TOML (an inline table over two lines)."""
    path = tmp_path / "hub.toml"
    path.write_text(block)
    Plugins(load_settings(path, environ={}))  # the plugins validate their own tables


def _changed(value):
    """A valid value different from a default, spelled as it would be in the environment."""
    if isinstance(value, bool):
        return str(not value).lower(), not value
    if isinstance(value, int | float):
        return str(value + 1), value + 1
    if isinstance(value, dict):
        return "{shop = 30}", {"shop": 30}
    if isinstance(value, list):
        return '["10.0.0.0/8"]', ["10.0.0.0/8"]
    return "sqlite+aiosqlite:///./other.db", "sqlite+aiosqlite:///./other.db"


def test_every_key_can_be_overridden_from_the_environment():
    defaults = msgspec.to_builtins(Settings())
    for section, names in section_fields().items():
        for name in names:
            raw, expected = _changed(defaults[section][name])
            settings = load_settings(environ={f"HUB_{section}_{name}".upper(): raw})
            assert msgspec.to_builtins(settings)[section][name] == expected, f"HUB_{section}_{name}".upper()


def test_environment_values_are_typed():
    settings = load_settings(
        environ={
            "HUB_SERVER_PORT": "9001",
            "HUB_SERVER_RUN_JOBS": "false",
            "HUB_DATABASE_URL": "postgresql+asyncpg://db/hub",
            "HUB_RETENTION_PROJECTS": "{shop = 30}",
        }
    )
    assert settings.server.port == 9001
    assert settings.server.run_jobs is False
    assert settings.database.url == "postgresql+asyncpg://db/hub"
    assert settings.retention.projects == {"shop": 30}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nport = 70000\n", "server.port"),
        ("[server]\nprot = 1\n", "unknown field `prot`"),
        ("[nope]\n", "unknown field `nope`"),
        ("[server\n", "not valid TOML"),
        ('[[sources]]\nplugin = "github"\nname = "Bad Name"\nproject = "p"\nsecrets = ["x"]\n', "sources[0].name"),
        (
            '[[routes]]\nname = "ops"\ntargets = [{slack = "https://hooks.slack.com:99999/services/T/B/x"}]\n',
            "routes[0].targets[0].slack: `slack` cannot be requested: Port out of range",
        ),
        # Routing took the fallback's place for such a rule: `hub routes test` showed it matching, nothing was sent.
        ('[[routes]]\nname = "default"\ntargets = [{email = "a@b.c"}]\n', "routes[0].name: `default` is the built-in"),
        (
            '[[routes]]\nname = "ops"\ntargets = [{email = "a@b.c"}]\n'
            '[[routes]]\nname = "ops"\ntargets = [{email = "x@b.c"}]\n',
            "routes[1].name: `ops` is used by an earlier rule",
        ),
        # The API finds a self-service action by project and name: both were out of reach (400 naming shop twice).
        (
            '[[self_service_actions]]\nname = "rollback"\nlabel = "A"\nproject = "shop"\nurl = "https://x.example"\n'
            '[[self_service_actions]]\nname = "rollback"\nlabel = "B"\nproject = "Shop"\nurl = "https://y.example"\n',
            "self_service_actions[1].name: `rollback` is used by an earlier action of project shop",
        ),
    ],
)
def test_bad_files_name_the_setting(tmp_path, text, message):
    path = tmp_path / "hub.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file_and_missing_secret_variable(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", environ={})
    path = tmp_path / "hub.toml"
    path.write_text('[[sources]]\nplugin = "github"\nname = "main"\nproject = "p"\nsecrets = ["${GH_SECRET}"]\n')
    with pytest.raises(ConfigError, match="GH_SECRET is not set"):
        load_settings(path, environ={})
    assert load_settings(path, environ={"GH_SECRET": "s3cret"}).sources[0].secrets == ["s3cret"]


def test_hub_config_variable_names_the_file(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text("[server]\nport = 9100\n")
    assert load_settings(environ={"HUB_CONFIG": str(path)}).server.port == 9100


def test_a_python_whose_sqlite_is_too_old_is_refused_with_what_to_do():
    from hub.db.engine import require_sqlite

    require_sqlite((3, 35, 0))
    with pytest.raises(ConfigError, match=r"needs SQLite 3\.35\.0 or newer, and this Python uses SQLite 3\.31\.1"):
        require_sqlite((3, 31, 1))


# Text settings of plugins take a URL, but for these (a pattern, a choice).
PLUGIN_VALUES = {
    "vapid_subject": "mailto:ops@example.com",
    "security": "tls",
    "not_found": "404",
    "from_address": "ops@example.com",
}


SMTP_AUTH = {"username": "password", "password": "username"}


def test_every_plugin_key_can_be_overridden_from_the_environment():
    """Plugin settings had no variables of their own: a secret such as the SMTP password had to sit in the file
    or in HUB_PLUGINS, which replaced every plugin's table at once."""
    defaults = Plugins(Settings()).settings
    for plugin, struct in defaults.items():
        for name, default in msgspec.to_builtins(struct).items():
            if name == "checks":
                continue  # a list of tables: covered below
            raw, expected = _changed(default)
            if isinstance(default, str):
                raw = expected = PLUGIN_VALUES.get(name, "https://other.example.com")
            if isinstance(default, dict):  # Slack's users
                raw, expected = '{U024BE7LH = "ada@example.com"}', {"U024BE7LH": "ada@example.com"}
            environ = {f"HUB_PLUGINS_{plugin}_{name}".upper(): raw}
            if plugin == "email" and name in SMTP_AUTH:  # one of the two alone stops the hub
                environ[f"HUB_PLUGINS_EMAIL_{SMTP_AUTH[name]}".upper()] = "the-other-half"
            settings = load_settings(environ=environ)
            assert msgspec.to_builtins(Plugins(settings).settings[plugin])[name] == expected, (plugin, name)
    checks = '[{ name = "Backup", project = "ops", period = 300 }]'
    settings = load_settings(environ={"HUB_PLUGINS_HEARTBEAT_CHECKS": checks})
    assert [check.name for check in Plugins(settings).settings["heartbeat"].checks] == ["Backup"]
    assert "stripe" not in Plugins(load_settings(environ={"HUB_PLUGINS_STRIPE_ENABLED": "false"})).settings


def test_a_plugin_variable_is_laid_over_the_file_key_by_key(tmp_path):
    path = tmp_path / "hub.toml"
    path.write_text('[plugins.email]\nhost = "smtp.example.com"\nport = 465\nusername = "hub"\n')
    settings = Plugins(load_settings(path, environ={"HUB_PLUGINS_EMAIL_PASSWORD": "s3cret"})).settings["email"]
    assert (settings.host, settings.port, settings.password) == ("smtp.example.com", 465, "s3cret")


def test_the_outbound_allowlist_takes_host_names_addresses_and_networks():
    allow = ["127.0.0.1", "10.1.0.0/16", "fd00::/8", "::1", "intranet.example.com", "my_service", "host."]
    assert load_settings(environ={"HUB_OUTBOUND_ALLOW": msgspec.json.encode(allow).decode()}).outbound.allow == allow


def test_text_settings_keep_values_that_read_as_numbers_dates_or_booleans():
    """`HUB_INGEST_DEFAULT_PROJECT=2024` was read as TOML, an integer, and refused: `Expected str, got int`."""
    settings = load_settings(
        environ={
            "HUB_INGEST_DEFAULT_PROJECT": "2024",
            "HUB_SERVER_HOST": "2026-01-01",
            "HUB_PLUGINS_EMAIL_USERNAME": "hub",
            "HUB_PLUGINS_EMAIL_PASSWORD": "12345678",
            "HUB_PLUGINS_SLACK_SIGNING_SECRET": "true",
            "HUB_SERVER_BASE_URL": '"https://hub.example.com"',  # quoted as in TOML: the quotes go
        }
    )
    assert (settings.ingest.default_project, settings.server.host) == ("2024", "2026-01-01")
    assert settings.server.base_url == "https://hub.example.com"
    plugins = Plugins(settings).settings
    assert (plugins["email"].password, plugins["slack"].signing_secret) == ("12345678", "true")


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        # Each of these was taken in silence: a typo'd name, or a value the hub never read.
        ({"HUB_SERVER_PROT": "9000"}, "HUB_SERVER_PROT is no setting: [server] has host, port,"),
        ({"HUB_SERVER": "{port = 9000}"}, "HUB_SERVER: a section is set key by key"),
        ({"HUB_PLUGINS_STRIPEY_KEY": "1"}, "HUB_PLUGINS_STRIPEY_KEY names no installed plugin"),
        ({"HUB_PLUGINS_STRIPE_ENABLED": "nah"}, "(HUB_PLUGINS_STRIPE_ENABLED): Expected `bool`, got `str`"),
        # The variable that set a bad value is named, not only the setting.
        ({"HUB_SERVER_PORT": "[1, 2]"}, "(HUB_SERVER_PORT): Expected `int`, got `array` - at `server.port`"),
        ({"HUB_SERVER_PORT": "abc"}, "(HUB_SERVER_PORT): Expected `int`, got `str` - at `server.port`"),
        ({"HUB_RETENTION_PROJECTS": "{shop = 'x'}"}, "(HUB_RETENTION_PROJECTS): Expected `int`, got `str`"),
        ({"HUB_SOURCES": "{plugin = 'github'}"}, "(HUB_SOURCES): Expected `array`, got `object` - at `sources`"),
        # A mistyped network was taken for a host name: the network stayed closed in silence.
        ({"HUB_OUTBOUND_ALLOW": '["10.1.0.0/33"]'}, "`allow` takes host names, addresses and networks (`10.1.0.0/16`)"),
        ({"HUB_OUTBOUND_ALLOW": '["10.1.2.300"]'}, "'10.1.2.300' is none of them"),
        ({"HUB_OUTBOUND_ALLOW": '["https://intranet"]'}, "'https://intranet' is none of them"),
    ],
)
def test_bad_variables_name_the_variable(environ, message):
    with pytest.raises(ConfigError) as caught:
        Plugins(load_settings(environ=environ))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"HUB_PLUGINS_EMAIL_PORT": "abc"},
            "[plugins.email]: Expected `int`, got `str` - at `port` (HUB_PLUGINS_EMAIL_PORT)",
        ),
        (
            {"HUB_PLUGINS_EXAMPLE_COLOUR": "red"},
            "[plugins.example]: Object contains unknown field `colour` (HUB_PLUGINS_EXAMPLE_COLOUR)",
        ),
        (
            {"HUB_PLUGINS_HEARTBEAT_CHECKS": "[{name = 'Backup'}]"},
            "[plugins.heartbeat]: Object missing required field `project` - at `checks[0]` "
            "(HUB_PLUGINS_HEARTBEAT_CHECKS)",
        ),
        (
            {"HUB_PLUGINS": "{email = {port = 'x'}}"},
            "[plugins.email]: Expected `int`, got `str` - at `port` (HUB_PLUGINS)",
        ),
    ],
)
def test_bad_plugin_variables_name_the_variable(environ, message):
    """A core setting's error named its variable (HUB_SERVER_PORT); a plugin's named only the key, so a bad value
    from the environment was looked for in a config file that did not hold it."""
    with pytest.raises(PluginError) as caught:
        Plugins(load_settings(environ=environ))
    assert message in str(caught.value)


def test_a_plugin_rule_over_its_table_names_the_variable_of_the_key_it_names():
    """The email plugin refuses a From of two addresses as a fault of the table (no `- at` path)."""
    environ = {"HUB_PLUGINS_EMAIL_FROM_ADDRESS": "a@example.com, b@example.com", "HUB_PLUGINS_EMAIL_PORT": "465"}
    with pytest.raises(PluginError) as caught:
        Plugins(load_settings(environ=environ))
    assert str(caught.value).startswith("invalid setting in [plugins.email]: `from_address` ")
    assert str(caught.value).endswith(" (HUB_PLUGINS_EMAIL_FROM_ADDRESS)")


def test_a_bad_plugin_value_from_the_file_names_the_file(tmp_path):
    """A variable set for another key of the table is not named; the file is, as for a core setting."""
    path = tmp_path / "hub.toml"
    path.write_text('[plugins.email]\nport = "x"\n')
    with pytest.raises(PluginError) as caught:
        Plugins(load_settings(path, environ={"HUB_PLUGINS_EMAIL_HOST": "smtp.example.com"}))
    assert str(caught.value) == f"invalid setting in [plugins.email] of {path}: Expected `int`, got `str` - at `port`"


def test_other_hub_variables_are_not_settings():
    """HUB_KEY, HUB_URL, HUB_CONFIG and the test suite's own are read elsewhere: not refused as typos."""
    environ = {"HUB_KEY": "k", "HUB_URL": "http://x", "HUB_COMMAND_NAME": "./run", "HUB_TEST_PG_URL": "postgresql://"}
    assert load_settings(environ=environ) == Settings()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'[plugins.stripe]\nenabled = "no"\n', "Expected `bool`, got `str` - at `plugins.stripe.enabled`"),
        (b"[plugins]\nstripe = 3\n", "[plugins.stripe] must be a table"),
        (b"\xff\xfe[server]\n", "is not UTF-8 text"),
    ],
)
def test_bad_plugin_tables_and_unreadable_files_are_named(tmp_path, content, message):
    """`enabled = "no"` left the plugin on; a non-UTF-8 file or a folder given as the file was a traceback."""
    path = tmp_path / "hub.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        Plugins(load_settings(path, environ={}))
    assert message in str(caught.value)
    with pytest.raises(ConfigError, match="cannot be read: Is a directory"):
        load_settings(tmp_path, environ={})
