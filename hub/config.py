"""Settings: a TOML file, then `HUB_*` environment variables, validated into Structs at start-up.

Every key of every section can be overridden from the environment: `[server] port` is `HUB_SERVER_PORT`,
`[database] url` is `HUB_DATABASE_URL`, `[plugins.email] password` is `HUB_PLUGINS_EMAIL_PASSWORD`. A value from the
environment that is a TOML array, inline table or quoted string (`["a"]`, `{shop = 30}`) is read as one; any other
is text the setting's type converts (`8000`, `true`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, ClassVar

import msgspec

from hub.actions.catalog import SelfServiceAction
from hub.installed import installed_plugins
from hub.models import NAME_PATTERN, SLUG_PATTERN, plain_patterns
from hub.routing.rules import FALLBACK_RULE, Rule, unreachable_targets

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./hub.db"
ENV_PREFIX = "HUB_"


class ConfigError(Exception):
    """A settings file or variable is wrong; the message says where and why."""


class Base(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class ServerSettings(Base):
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8000
    workers: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    # The URL people reach the hub at; used in links inside notifications. Defaults to http://host:port.
    base_url: str = ""
    # Run the periodic jobs (retention, plugin scans) in this process; every process may, the jobs claim rows.
    run_jobs: bool = True


class DatabaseSettings(Base):
    url: str = DEFAULT_DATABASE_URL
    # Connections per process (PostgreSQL only; SQLite uses one writer connection plus readers).
    pool_size: Annotated[int, msgspec.Meta(ge=1, le=200)] = 10


class IngestSettings(Base):
    # Largest accepted body for one event (bytes); bigger requests get 413.
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 256 * 1024
    # Largest accepted body for a batch (bytes).
    max_batch_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 16 * 1024 * 1024
    max_batch_events: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000
    # Requests per second allowed per API key (token bucket, burst = 2 s worth); 0 means unlimited.
    # A key's own limit (`hub keys create --rate-limit`) wins over this default.
    rate_limit_per_key: Annotated[float, msgspec.Meta(ge=0)] = 0
    # Most events one group commit writes in a transaction.
    max_rows_per_commit: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 5000
    # The project used by routes whose key names none (Operational.co-style clients).
    default_project: str = "default"


class StreamSettings(Base):
    # Event streams (GET /api/v1/stream) one API key or one signed-in person may hold open at once, per process;
    # one more is answered 429.
    max_per_caller: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 20


class RetentionSettings(Base):
    # Real events older than this are deleted; per-project overrides in `projects`. (A retention longer than the
    # calendar, 99999 for "keep them", keeps everything.)
    events_days: Annotated[int, msgspec.Meta(ge=1)] = 365
    # Test-mode events are deleted after this many hours.
    test_events_hours: Annotated[int, msgspec.Meta(ge=1)] = 72
    # Idempotency keys are honoured for this many hours.
    idempotency_hours: Annotated[int, msgspec.Meta(ge=1)] = 24
    # How often the pruning job runs (seconds).
    interval_seconds: Annotated[int, msgspec.Meta(ge=10)] = 3600
    # Per-project retention in days, e.g. { shop = 30 }; a project named in any case, as everywhere.
    projects: dict[str, Annotated[int, msgspec.Meta(ge=1)]] = {}

    def __post_init__(self) -> None:
        self.projects = {slug.lower(): days for slug, days in self.projects.items()}


class AuthSettings(Base):
    # Seconds a verified API key is trusted from memory before it is looked up again (revocation delay).
    key_cache_seconds: Annotated[float, msgspec.Meta(ge=0, le=300)] = 5.0
    # Web app sign-in: a session lasts this many days after its last use (at most 90 days in all).
    session_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 14
    # Failed sign-ins allowed per email in 15 minutes (four times as many per client address), then 429.
    login_attempts: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5


class WebhookSettings(Base):
    # Largest accepted webhook body (bytes); GitHub sends up to 25 MB, most senders far less.
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 5 * 1024 * 1024
    # A redelivery of the same delivery id within this many days stores nothing.
    dedupe_days: Annotated[int, msgspec.Meta(ge=1, le=90)] = 7


class SourceConfig(Base):
    """A webhook endpoint `POST /hooks/{plugin}/{name}` declared in the config file."""

    plugin: str
    name: Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
    project: Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]
    # Several secrets at once allow rotation; "${NAME}" reads the environment variable NAME.
    secrets: Annotated[list[Annotated[str, msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1)]
    # Overrides the channel the plugin picks for each event.
    channel: Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)] | None = None


# A DNS name: dot-separated labels of letters, digits, `-` and `_` (Docker's service names have them).
HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*\.?\Z")


class OutboundSettings(Base):
    """The guarded client for user-supplied URLs (action targets, Slack webhooks, push endpoints)."""

    # Hosts or networks that may be reached although private, loopback or link-local, e.g.
    # ["127.0.0.1", "10.1.0.0/16", "intranet.example.com"]. Everything else must resolve to public addresses.
    allow: list[str] = []
    # Connect, read and write timeout per request (seconds).
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    # Response bodies are read up to this many bytes; a bigger one fails the request.
    max_response_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024
    # Open connections per process, and per destination (origin): each origin has its own small pool.
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100
    max_connections_per_host: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 4

    def __post_init__(self) -> None:
        # A mistyped network (`10.1.0.0/33`) was taken for a host name and matched nothing: the network stayed
        # closed, and nothing said why.
        for entry in self.allow:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                if not HOST_NAME.match(entry) or entry.replace(".", "").isdigit():
                    raise ValueError(
                        f"`allow` takes host names, addresses and networks (`10.1.0.0/16`); {entry!r} is none of them"
                    ) from None


class DeliverySettings(Base):
    """The notification outbox: how often it is worked, retried and given up on."""

    # A delivery still failing this long after it was created is dead-lettered (it can be retried by hand).
    retry_budget_hours: Annotated[float, msgspec.Meta(gt=0)] = 24.0
    # Backoff after the n-th failure: base * 2^(n-1), capped at max, times a random factor in [0.5, 1].
    backoff_base_seconds: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    backoff_max_seconds: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    # How often each process looks for due deliveries (seconds).
    interval_seconds: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    # Deliveries claimed at most at a time, and sent at once per process.
    batch_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100
    # A claimed delivery whose process died is handed out again after this many seconds.
    lease_seconds: Annotated[int, msgspec.Meta(ge=10)] = 300
    # How often a process re-reads the routing rules stored through the admin API.
    rules_reload_seconds: Annotated[float, msgspec.Meta(ge=0)] = 5.0


class ActionSettings(Base):
    """Running action buttons and self-service actions."""

    # How long the hub waits for the action's server to answer (seconds).
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    # After a rotation the previous secret also signs requests for this many hours (0: not at all; at most a year).
    secret_grace_hours: Annotated[float, msgspec.Meta(ge=0, le=8760)] = 24.0


class EnvOverrides(msgspec.Struct):
    """What the HUB_* variables set: whole sections' keys and top-level values, each plugin's keys, and the
    variable behind each `section.key` (for the error message)."""

    values: dict[str, Any]
    plugin_keys: dict[str, dict[str, Any]]
    origins: dict[str, str]


class Settings(Base, dict=True):
    # Which variable set what, and the file (load_settings sets them): a plugin's table is validated after the
    # plugins load, and its error names where a value came from as the core settings' do.
    _env: ClassVar[EnvOverrides] = EnvOverrides({}, {}, {})
    _file: ClassVar[str] = ""

    server: ServerSettings = msgspec.field(default_factory=ServerSettings)
    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    ingest: IngestSettings = msgspec.field(default_factory=IngestSettings)
    stream: StreamSettings = msgspec.field(default_factory=StreamSettings)
    retention: RetentionSettings = msgspec.field(default_factory=RetentionSettings)
    auth: AuthSettings = msgspec.field(default_factory=AuthSettings)
    webhooks: WebhookSettings = msgspec.field(default_factory=WebhookSettings)
    sources: list[SourceConfig] = []
    outbound: OutboundSettings = msgspec.field(default_factory=OutboundSettings)
    delivery: DeliverySettings = msgspec.field(default_factory=DeliverySettings)
    actions: ActionSettings = msgspec.field(default_factory=ActionSettings)
    # Routing rules, evaluated in order for each stored event (see hub/routing/rules.py).
    routes: list[Rule] = []
    # Actions not tied to an event, listed at GET /api/v1/actions (see hub/actions/catalog.py).
    self_service_actions: list[SelfServiceAction] = []
    # One table per plugin, validated by the plugin's own Struct; `enabled = false` turns one off.
    plugins: dict[str, dict[str, Any]] = {}

    @property
    def public_url(self) -> str:
        return (self.server.base_url or f"http://{self.server.host}:{self.server.port}").rstrip("/")


def _parse_env_value(raw: str) -> Any:
    """A TOML array, inline table or quoted string is read as one; anything else stays the text itself, which the
    setting's type converts (`8000`, `true`, `2.5`). Read as TOML, `2024` became a number a text setting refused."""
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    return value if isinstance(value, list | dict | str) else raw


def _plugin_names() -> list[str]:
    """The installed plugins' names, longest first: `HUB_PLUGINS_MY_PLUGIN_KEY` is `my_plugin`'s before `my`'s."""
    names = {plugin.entry_point.name for plugin in installed_plugins()}
    return sorted(names, key=len, reverse=True)


def _env_overrides(environ: dict[str, str]) -> EnvOverrides:
    """Map HUB_SECTION_KEY variables onto the known sections and keys (keys may contain underscores), and
    HUB_PLUGINS_NAME_KEY onto a plugin's table.

    Top-level lists and tables (`sources`, `plugins`) can also be set whole: HUB_SOURCES='[{plugin = ...}]'.
    A variable under a section's prefix that names none of its keys is refused: that typo would change nothing.
    """
    found = EnvOverrides({}, {}, {})
    sections = _sections()
    for section, section_type in sections.items():
        prefix = f"{ENV_PREFIX}{section}".upper()
        keys = {f"{prefix}_{field.name}".upper(): field.name for field in msgspec.structs.fields(section_type)}
        for name in sorted(environ):
            if name == prefix:
                raise ConfigError(f"{name}: a section is set key by key, e.g. {next(iter(keys))}")
            if name.startswith(f"{prefix}_"):
                if name not in keys:
                    raise ConfigError(f"{name} is no setting: [{section}] has {', '.join(keys.values())}")
                found.values.setdefault(section, {})[keys[name]] = _parse_env_value(environ[name])
                found.origins[f"{section}.{keys[name]}"] = name
    for field in msgspec.structs.fields(Settings):
        name = f"{ENV_PREFIX}{field.name}".upper()
        if field.name not in sections and name in environ:
            found.values[field.name] = _parse_env_value(environ[name])
            found.origins[field.name] = name
    prefix = f"{ENV_PREFIX}PLUGINS_"
    plugin_variables = sorted(n for n in environ if n.startswith(prefix))
    plugins = _plugin_names() if plugin_variables else []
    for name in plugin_variables:
        plugin = next((p for p in plugins if name.startswith(f"{prefix}{p.upper()}_")), None)
        if plugin is None:
            raise ConfigError(f"{name} names no installed plugin (HUB_PLUGINS_<PLUGIN>_<KEY>)")
        key = name.removeprefix(f"{prefix}{plugin.upper()}_").lower()
        found.plugin_keys.setdefault(plugin, {})[key] = _parse_env_value(environ[name])
        found.origins[f"plugins.{plugin}.{key}"] = name
    return found


def _sections() -> dict[str, type[Base]]:
    return {
        f.name: f.type
        for f in msgspec.structs.fields(Settings)
        if isinstance(f.type, type) and issubclass(f.type, Base)
    }


def _read_file(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {file} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {file} is not UTF-8 text") from None
    except OSError as exc:  # a folder, or not readable by the hub's user
        raise ConfigError(f"config file {file} cannot be read: {exc.strerror or exc}") from None


def _apply(data: dict[str, Any], env: EnvOverrides, where: str) -> None:
    """Lay the environment's values over the file's, and check the plugins' `enabled`, which the hub reads
    itself (a plugin's Struct never sees it: `enabled = "no"` left the plugin on)."""
    for section, values in env.values.items():
        if not isinstance(values, dict) or section not in _sections():
            data[section] = values
            continue
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            raise ConfigError(f"invalid setting{where}: [{section}] must be a table")
        data[section].update(values)
    plugins = data.setdefault("plugins", {})
    if not isinstance(plugins, dict):
        return  # validation names it
    for name, values in env.plugin_keys.items():
        plugins.setdefault(name, {})
        if isinstance(plugins[name], dict):
            plugins[name].update(values)
    for name, table in plugins.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"invalid setting{_origin(f'plugins.{name}', env, where)}: [plugins.{name}] must be a table"
            )
        if "enabled" in table:
            table["enabled"] = _convert(table["enabled"], bool, env, where, at=f"plugins.{name}.enabled")


def _origin(setting: str, env: EnvOverrides, where: str) -> str:
    """` (HUB_SERVER_PORT)` when a variable set `setting` or what holds it, else where the file is."""
    variable = _variable(setting, env)
    return f" ({variable})" if variable else where


def _variable(setting: str, env: EnvOverrides) -> str | None:
    """The variable that set `setting` (`plugins.email.port`) or what holds it (`HUB_PLUGINS`), if one did."""
    for key, name in env.origins.items():
        if setting == key or setting.startswith((f"{key}.", f"{key}[")):
            return name
    return None


def _convert(value: Any, type_: Any, env: EnvOverrides, where: str, at: str = "") -> Any:
    """Validate into `type_`; the error names the setting as written in TOML, and the variable that set it."""
    try:
        return msgspec.convert(value, type_, strict=False)
    except msgspec.ValidationError as exc:
        message = _describe(exc)
        if at:
            message = message.replace(" - at `the file`", "") + f" - at `{at}`"
        setting = message.rpartition(" - at `")[2].rstrip("`")
        raise ConfigError(f"invalid setting{_origin(setting, env, where)}: {message}") from None


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the file (if any), apply environment overrides and validate; raise ConfigError on any fault."""
    environ = dict(os.environ) if environ is None else environ
    path = path or environ.get("HUB_CONFIG")
    data = _read_file(Path(path)) if path else {}
    where = f" in {path}" if path else ""
    env = _env_overrides(environ)
    _apply(data, env, where)
    settings = _convert(data, Settings, env, where)
    settings._env, settings._file = env, str(path or "")
    names: set[str] = set()
    for position, rule in enumerate(settings.routes):
        for field, problem in unreachable_targets(rule.targets):
            raise ConfigError(f"invalid setting{where}: routes[{position}].{field}: {problem}")
        # A rule's name is what deliveries, de-duplication, rate limits and the admin API know it by.
        if rule.name in names or rule.name == FALLBACK_RULE:
            problem = (
                "is the built-in fallback rule's name" if rule.name == FALLBACK_RULE else "is used by an earlier rule"
            )
            raise ConfigError(f"invalid setting{where}: routes[{position}].name: `{rule.name}` {problem}")
        names.add(rule.name)
    actions: set[tuple[str, str]] = set()
    for position, action in enumerate(settings.self_service_actions):
        # The API finds an action by its project and name: a second one of both could never be reached.
        if (action.project, action.name) in actions:
            raise ConfigError(
                f"invalid setting{where}: self_service_actions[{position}].name: `{action.name}` is used by an "
                f"earlier action of project {action.project}"
            )
        actions.add((action.project, action.name))
    for source in settings.sources:
        source.secrets = [
            _expand(secret, environ, f"source {source.plugin}/{source.name}") for secret in source.secrets
        ]
    return settings


def describe_plugin_error(settings: Settings, plugin: str, exc: msgspec.ValidationError) -> str:
    """A plugin's table its Struct refused, and where the value came from, as a core setting's error has it:
    the variable that set it (`HUB_PLUGINS_EMAIL_PORT`, or `HUB_PLUGINS` for all the tables), else the file."""
    shown = plain_patterns(str(exc))
    _, found, path = shown.partition(" - at `$")
    table = f"plugins.{plugin}"
    variable = _variable(f"{table}{path.rstrip('`')}" if found else table, settings._env)
    if variable is None and not found:
        # A fault of the table as a whole (`unknown field `colour``, `from_address` must be one address): the
        # variables that set a key it names.
        named = set(re.findall(r"`([^`]+)`", shown))
        origins = settings._env.origins.items()
        variable = ", ".join(name for key, name in origins if key.removeprefix(f"{table}.") in named) or None
    message = shown.replace("`$.", "`").replace("`$`", "the table")
    if variable:
        return f"invalid setting in [plugins.{plugin}]: {message} ({variable})"
    return f"invalid setting in [plugins.{plugin}]{f' of {settings._file}' if settings._file else ''}: {message}"


def _expand(value: str, environ: dict[str, str], where: str) -> str:
    """`${NAME}` is replaced by the environment variable NAME, so secrets need not sit in the file."""
    if value.startswith("${") and value.endswith("}"):
        name = value[2:-1]
        if name not in environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return environ[name]
    return value


def _describe(exc: msgspec.ValidationError) -> str:
    """Turn msgspec's `$.server.port` paths into the `server.port` spelling people write in TOML."""
    return plain_patterns(str(exc)).replace("`$.", "`").replace("`$`", "the file")
