"""The `hub` command: run the server, manage API keys, send events from scripts.

Commands that change the database (keys, migrate) open it directly from the same settings as `hub serve`;
`hub send` talks HTTP to a running hub, like any client.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import math
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import httpx
import msgspec

from hub import __version__
from hub.config import ConfigError, Settings, load_settings
from hub.models import hub_url_problem, plain_patterns


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _run_with_hub(settings: Settings, work: Callable[[Any], Coroutine[Any, Any, int]]) -> int:
    from hub.core import Hub

    async def main() -> int:
        hub = Hub(settings)
        await hub.start(run_jobs=False)
        try:
            return await work(hub)
        finally:
            await hub.stop()

    return asyncio.run(main())


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hub.core import Hub
    from hub.db.engine import safe_url

    # Worker processes read their settings from the environment (see create_app_from_environment).
    if args.config:
        os.environ["HUB_CONFIG"] = args.config
    for name, value in (("HOST", args.host), ("PORT", args.port), ("WORKERS", args.workers)):
        if value is not None:
            os.environ[f"HUB_SERVER_{name}"] = str(value)
    settings = _settings(args)
    if (problem := _cannot_listen(settings.server.host, settings.server.port)) is not None:
        print(f"hub: {problem}", file=sys.stderr)
        return 1

    async def prepare() -> tuple[int, int]:
        hub = Hub(settings)
        await hub.migrate()  # the plugins' tables too: the workers start with run_migrations=False
        keys = await hub.keys.list()
        users = await hub.people.list_users()
        await hub.db.dispose()
        return len(keys), len(users)

    key_count, user_count = asyncio.run(prepare())
    server = settings.server
    # The address it binds, which base_url (where people reach it, behind a proxy) does not say.
    host = f"[{server.host}]" if ":" in server.host else server.host
    public = f", reached at {server.base_url}" if server.base_url else ""
    print(
        f"hub {__version__} listening on http://{host}:{server.port}{public} "
        f"(database: {safe_url(settings.database.url)})",
        file=sys.stderr,
    )
    hub = os.environ.get("HUB_COMMAND_NAME", "hub")  # `./run` sets it: its users have no `hub` on their PATH
    if key_count == 0:
        print(f"No API keys yet. Create one with:  {hub} keys create --scope admin --name me", file=sys.stderr)
    if user_count == 0:
        print(
            f"No users yet. Create the first admin, then sign in at {settings.public_url}:\n"
            f"  {hub} users create you@example.com --role admin",
            file=sys.stderr,
        )
    # With one worker, uvicorn shuts down on SIGTERM and then raises the signal again so that the previous handler
    # runs: Python's default one would end the process by SIGTERM (status -15, 143 in a shell) after a clean
    # shutdown. Handled as SIGINT is (uvicorn.run takes the KeyboardInterrupt as a clean stop), a stop exits 0.
    previous = signal.signal(signal.SIGTERM, _stop_as_on_ctrl_c)
    try:
        uvicorn.run(
            "hub.app:create_app_from_environment",
            factory=True,
            host=server.host,
            port=server.port,
            workers=server.workers,
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=10,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _stop_as_on_ctrl_c(signum: int, frame: object) -> None:
    """SIGTERM (systemd, Docker, Kubernetes) is a request to stop, as Ctrl-C is, not a crash."""
    raise KeyboardInterrupt


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, found before the banner says it listens there (uvicorn's own
    message comes after it, and exits 3)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a port a hub stopped just now (in TIME_WAIT) is free to it, so not "in use" here either.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use (another hub?); choose another with --port or HUB_SERVER_PORT"
            return f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    return None


def cmd_migrate(args: argparse.Namespace) -> int:
    async def work(hub: Any) -> int:
        print(f"database is up to date ({hub.db.dialect})", file=sys.stderr)
        return 0

    return _run_with_hub(_settings(args), work)


def cmd_keys_create(args: argparse.Namespace) -> int:
    async def work(hub: Any) -> int:
        info, secret = await hub.keys.create(
            name=args.name, scopes=args.scope or ["ingest"], project=args.project, rate_limit=args.rate_limit
        )
        print(secret)
        print(
            f"created {info.id} ({', '.join(info.scopes)}{', project ' + info.project if info.project else ''}); "
            "the key is shown only once",
            file=sys.stderr,
        )
        return 0

    try:
        return _run_with_hub(_settings(args), work)
    except ValueError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2


def cmd_keys_list(args: argparse.Namespace) -> int:
    async def work(hub: Any) -> int:
        keys = await hub.keys.list()
        if args.json:
            print(msgspec.json.encode(keys).decode())
            return 0
        for k in keys:
            state = "revoked" if k.revoked_at else "active"
            print(f"{k.id}\t{k.prefix}…\t{','.join(k.scopes)}\t{k.project or '*'}\t{state}\t{k.name}")
        return 0

    return _run_with_hub(_settings(args), work)


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    async def work(hub: Any) -> int:
        if await hub.keys.revoke(args.id):
            print(f"revoked {args.id}", file=sys.stderr)
            return 0
        print(f"hub: no active key {args.id}", file=sys.stderr)
        return 1

    return _run_with_hub(_settings(args), work)


def cmd_plugins(args: argparse.Namespace) -> int:
    from hub.plugins import Plugins

    plugins = Plugins(_settings(args))
    if args.json:
        print(msgspec.json.encode(plugins.info()).decode())
        return 0
    for info in plugins.info():
        kind = "built-in" if info.builtin else "third-party"
        print(f"{info.name}\t{info.version}\t{kind}\t{', '.join(info.hooks)}")
    return 0


def cmd_sources_list(args: argparse.Namespace) -> int:
    async def work(hub: Any) -> int:
        from hub.api.sources import source_out

        sources = [source_out(hub, s) for s in await hub.sources.list()]
        if args.json:
            print(msgspec.json.encode(sources).decode())
            return 0
        for s in sources:
            print(
                f"{s.plugin}/{s.name}\t{s.project}\t{s.channel or '-'}\t{len(s.secret_hints)} secret(s)\t"
                f"{s.managed_by}\t{s.url}"
            )
        return 0

    return _run_with_hub(_settings(args), work)


def cmd_sources_add(args: argparse.Namespace) -> int:
    async def work(hub: Any) -> int:
        from hub.api.sources import SourceIn, source_out
        from hub.sources import SourceConflict

        if args.plugin not in hub.plugins.sources:
            print(f"hub: no loaded plugin provides source type {args.plugin!r}", file=sys.stderr)
            return 2
        existing = await hub.sources.get(args.plugin, args.name)
        secrets = list(args.secret)
        if existing and args.keep_old_secrets:
            secrets = [*secrets, *(s for s in existing.secrets if s not in secrets)]
        project = args.project or (existing.project if existing else None)
        if not project:
            print("hub: --project is required for a new source", file=sys.stderr)
            return 2
        # Options left out keep what the source has; the values are held to the admin API's rules.
        channel = args.channel if args.channel is not None else (existing.channel if existing else None)
        values = {"plugin": args.plugin, "name": args.name, "project": project, "secrets": secrets, "channel": channel}
        try:
            source = msgspec.convert(values, SourceIn)
        except msgspec.ValidationError as exc:
            print(f"hub: {plain_patterns(str(exc))}", file=sys.stderr)
            return 2
        try:
            stored = await hub.sources.save(
                plugin=source.plugin,
                name=source.name,
                project=source.project,
                secrets=source.secrets,
                channel=source.channel,
            )
        except SourceConflict as exc:
            print(f"hub: {exc}", file=sys.stderr)
            return 1
        print(source_out(hub, stored).url)
        return 0

    if not args.secret:
        print("hub: give at least one --secret", file=sys.stderr)
        return 2
    return _run_with_hub(_settings(args), work)


def cmd_sources_remove(args: argparse.Namespace) -> int:
    async def work(hub: Any) -> int:
        from hub.sources import SourceConflict

        try:
            removed = await hub.sources.delete(args.plugin, args.name)
        except SourceConflict as exc:
            print(f"hub: {exc}", file=sys.stderr)
            return 1
        if not removed:
            print(f"hub: no source {args.plugin}/{args.name}", file=sys.stderr)
            return 1
        return 0

    return _run_with_hub(_settings(args), work)


def _parse_tag(text: str) -> tuple[str, Any]:
    """`key=value`; a value is sent as a number only when the number reads back the same, so `version=1.10` and
    `build=007` stay text (as numbers they were 1.1 and 7), and `true`/`false` as booleans."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"tag {text!r} must look like key=value")
    for kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            continue
        if str(number) == value and math.isfinite(number):
            return key, number
    return key, {"true": True, "false": False}.get(value, value)


def _hub_url(settings: Settings) -> str:
    """Where the hub these settings describe answers: its `base_url`, else its host and port (a host that means
    every address is reached on loopback), so `hub send` finds a hub started with the same config or HUB_SERVER_*."""
    server = settings.server
    if server.base_url:
        return server.base_url.rstrip("/")
    host = "127.0.0.1" if server.host in ("", "0.0.0.0", "::") else server.host  # noqa: S104 (a host to connect to)
    return f"http://{f'[{host}]' if ':' in host else host}:{server.port}"


def cmd_send(args: argparse.Namespace) -> int:
    if not args.key:
        print("hub: no API key; pass --key or set HUB_KEY", file=sys.stderr)
        return 2
    body: dict[str, Any] = {"event": args.event, "channel": args.channel, "notify": args.notify}
    for name in ("project", "description", "icon", "user_id", "severity"):
        if getattr(args, name):
            body[name] = getattr(args, name)
    if args.tag:
        body["tags"] = dict(args.tag)
    if args.url and (problem := hub_url_problem(args.url)) is not None:
        print(f"hub: --url (or HUB_URL): {problem}", file=sys.stderr)
        return 2
    url = args.url or _hub_url(_settings(args))
    try:
        response = httpx.post(
            f"{url.rstrip('/')}/api/v1/events",
            json=body,
            timeout=10,
            headers={"Authorization": f"Bearer {args.key}"},
        )
    except httpx.HTTPError as exc:
        print(f"hub: could not reach {url}: {exc}", file=sys.stderr)
        return 1
    answer = _json_object(response)
    if response.is_success and isinstance(answer.get("id"), str):
        print(answer["id"])
        return 0
    message = answer.get("message") or " ".join(response.text.split())[:200] or response.reason_phrase
    if response.is_success:  # a proxy's page, or another server at that URL
        message = f"not an event id: {message}"
    print(f"hub: {response.status_code} from {url}: {message}", file=sys.stderr)
    return 1


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


JSON_HELP = "print one JSON array instead of tab-separated lines"
EXIT_STATUSES = (
    "exit status: 0 done, 1 it could not be done (not found, conflict, hub unreachable or refusing), 2 bad usage"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="A self-hosted observability hub.", epilog=EXIT_STATUSES)
    parser.add_argument("--version", action="version", version=f"hub {__version__}")
    parser.add_argument("--config", help="TOML settings file (default: $HUB_CONFIG, else built-in defaults)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the hub")
    serve.add_argument("--host", help="address to listen on (default: [server] host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: [server] port, 8000)")
    serve.add_argument("--workers", type=int, help="processes (default: [server] workers, 1)")
    serve.set_defaults(func=cmd_serve)

    commands.add_parser("migrate", help="create or upgrade the database schema").set_defaults(func=cmd_migrate)

    keys = commands.add_parser("keys", help="manage API keys").add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="create a key and print it (once) on stdout")
    create.add_argument(
        "--scope", action="append", choices=["ingest", "read", "act", "admin"], help="repeatable; default ingest"
    )
    create.add_argument("--project", help="bind the key to one project (default: every project)")
    create.add_argument("--name", default="unnamed", help="a label for people (default: unnamed)")
    create.add_argument(
        "--rate-limit", type=float, help="requests per second for this key (default: [ingest] rate_limit_per_key)"
    )
    create.set_defaults(func=cmd_keys_create)
    listing = keys.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--json", action="store_true", help=JSON_HELP)
    listing.set_defaults(func=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", help="the key's id, as `keys list` shows it")
    revoke.set_defaults(func=cmd_keys_revoke)

    plugins = commands.add_parser("plugins", help="list loaded plugins, their versions and hooks")
    plugins.add_argument("--json", action="store_true", help=JSON_HELP)
    plugins.set_defaults(func=cmd_plugins)

    sources = commands.add_parser("sources", help="manage webhook sources").add_subparsers(
        dest="sources_command", required=True
    )
    listing = sources.add_parser("list", help="list sources (never their secrets)")
    listing.add_argument("--json", action="store_true", help=JSON_HELP)
    listing.set_defaults(func=cmd_sources_list)
    add = sources.add_parser("add", help="create or update a source; prints its URL")
    add.add_argument("plugin", help="the source type, e.g. stripe or github")
    add.add_argument("name", help="the last part of the URL /hooks/PLUGIN/NAME")
    add.add_argument("--project", help="project its events go to (required for a new source)")
    add.add_argument("--channel", help="override the channel the plugin picks (default: the plugin's)")
    add.add_argument("--secret", action="append", default=[], help="signing secret (required); repeat for several")
    add.add_argument("--keep-old-secrets", action="store_true", help="rotate: add the new secret, keep the old ones")
    add.set_defaults(func=cmd_sources_add)
    remove = sources.add_parser("remove", help="delete a source")
    remove.add_argument("plugin", help="the source type")
    remove.add_argument("name", help="the source's name")
    remove.set_defaults(func=cmd_sources_remove)

    from hub.actions.cli import add_action_commands
    from hub.people.cli import add_people_commands
    from hub.routing.cli import add_routing_commands

    add_people_commands(commands)
    add_routing_commands(commands)
    add_action_commands(commands)

    send = commands.add_parser("send", help="post an event to a running hub")
    send.add_argument("--url", default=os.environ.get("HUB_URL"), help="default: $HUB_URL, else the configured hub")
    send.add_argument(
        "--key", default=os.environ.get("HUB_KEY"), help="an API key with ingest scope (default: $HUB_KEY)"
    )
    send.add_argument("--project", help="required unless the key is bound to a project")
    send.add_argument("--channel", default="general", help="default: general")
    send.add_argument("--event", required=True, help="what happened, e.g. 'Deploy finished'")
    send.add_argument("--description", help="longer text")
    send.add_argument("--icon", help="an emoji")
    send.add_argument("--user-id", dest="user_id", help="the user it happened to")
    send.add_argument("--severity", choices=["info", "warning", "critical"], help="default: info")
    send.add_argument("--tag", action="append", type=_parse_tag, help="key=value, repeatable")
    send.add_argument("--notify", action="store_true", help="ask the routing rules to notify people")
    send.set_defaults(func=cmd_send)
    return parser


def _add_plugin_commands(parser: argparse.ArgumentParser, argv: Sequence[str]) -> Exception | None:
    """Let plugins add sub-commands (`register_commands`); their `func(args, hub)` gets a started HubContext.

    Returns the error that kept the plugins from loading (a bad setting), if any: a plugin's command is then
    unknown, and that error, not "invalid choice", is what to tell the user."""
    from hub.plugins import PluginError, Plugins

    try:
        plugins = Plugins(load_settings(_config_option(argv)))
    except (ConfigError, PluginError) as exc:
        return exc  # a core command reports it properly when it loads the settings itself
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    plugins.hook.register_commands(commands=commands)
    for choice in commands.choices.values():
        func = choice.get_default("func")
        if func is not None and func.__module__ != __name__:
            choice.set_defaults(func=_plugin_command(func, choice.get_default("needs_hub")))
    for sub in commands.choices.values():
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                for leaf in action.choices.values():
                    func = leaf.get_default("func")
                    if func is not None and func.__module__ != __name__:
                        leaf.set_defaults(func=_plugin_command(func, leaf.get_default("needs_hub")))
    return None


def _config_option(argv: Sequence[str]) -> str | None:
    """`--config PATH` (or `--config=PATH`), read before argparse runs: plugins add commands from the settings.
    Not past `--`, where the options are another program's (`hub run ... -- job --config job.conf`)."""
    argv = list(argv)
    argv = argv[: argv.index("--")] if "--" in argv else argv
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def _take_config_after_commands(parser: argparse.ArgumentParser) -> None:
    """Let every command take `--config FILE` after its name too (`hub serve --config hub.toml`), as people write
    it; given there, it wins over one given before the command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                if "--config" not in command._option_string_actions:
                    command.add_argument("--config", default=argparse.SUPPRESS, help="TOML settings file")
                _take_config_after_commands(command)


def _command_word(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line (the first word that is neither an option nor its value)."""
    words = iter(argv)
    for arg in words:
        if arg == "--config":
            next(words, None)
        elif not arg.startswith("-"):
            return arg
    return None


def _plugin_command(func: Callable[..., Any], needs_hub: bool | None) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        if needs_hub is False:
            result = func(args, None)
            return asyncio.run(result) if asyncio.iscoroutine(result) else int(result or 0)

        async def work(hub: Any) -> int:
            result = func(args, hub.context)
            return int((await result) if asyncio.iscoroutine(result) else (result or 0))

        return _run_with_hub(_settings(args), work)

    return run


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # Ctrl-C while loading or at a prompt: the usual status, no traceback
        print(file=sys.stderr)
        return 128 + signal.SIGINT


def _main(argv: list[str]) -> int:
    parser = build_parser()
    if (error := _add_plugin_commands(parser, argv)) is not None:
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if (word := _command_word(argv)) is not None and word not in commands.choices:
            print(f"hub: {error}", file=sys.stderr)  # most likely a plugin's command, unknown as it did not load
            return 2
    _take_config_after_commands(parser)
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # here rather than at exit, so that a reader gone early is handled below
        return code
    except BrokenPipeError:
        # `hub keys list | head -1`: the reader took what it wanted. Exit as a command SIGPIPE ends, quietly
        # (stdout is pointed at /dev/null, or Python's own flush at exit would fail again).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except ConfigError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from hub.db.engine import DatabaseUnavailable
        from hub.plugins import PluginError

        if isinstance(exc, PluginError):
            print(f"hub: {exc}", file=sys.stderr)
            return 2
        if isinstance(exc, DatabaseUnavailable):
            print(f"hub: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
