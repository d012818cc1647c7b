"""The heartbeat commands' options: `hub checks ...` (manage checks in the hub's database) and `hub run` (the cron
wrapper, over HTTP).

`hub run` wraps every monitored cron job: it starts without the database code of `hub checks` (.check_commands,
which loads SQLAlchemy and Litestar, about 0.4 s), imported only when one of those commands runs.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Awaitable, Callable

from hub.pluginapi import HubContext, hub_url_problem

from . import runner


def _check_command(name: str) -> Callable[[argparse.Namespace, HubContext], Awaitable[int]]:
    """The command `name` of .check_commands, imported when it runs."""

    async def command(args: argparse.Namespace, hub: HubContext) -> int:
        from . import check_commands

        return await getattr(check_commands, name)(args, hub)

    return command


def cmd_run(args: argparse.Namespace, _: None) -> int:
    command = args.command_line[1:] if args.command_line[:1] == ["--"] else args.command_line
    if not command:
        print("hub run: give the command after `--`", file=sys.stderr)
        return 2
    if not args.url:
        print("hub run: no hub URL; pass --url or set HUB_URL", file=sys.stderr)
        return 2
    if (problem := hub_url_problem(args.url)) is not None:
        print(f"hub run: --url (or HUB_URL): {problem}", file=sys.stderr)
        return 2
    return runner.run(args.url, args.check, command, tail_bytes=args.tail, ping_deadline=args.ping_timeout)


def _tail_bytes(text: str) -> int:
    """`--tail`: a count of bytes; a negative one is refused here rather than losing the job's output later."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number of bytes") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more (0 sends no output), not {count}")
    return count


def _seconds(text: str) -> float:
    """`--ping-timeout`: a ping needs some time; 0, a negative number or nan would skip every ping unsaid."""
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"`{text}` is not a number of seconds") from None
    if not 0 < seconds < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return seconds


def _true_or_false(text: str) -> bool:
    if text not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"give `true` or `false`, not `{text}`")
    return text == "true"


def _schedule_options(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    """The options of `create`, with their defaults, and of `update`, where an option left out keeps its value."""

    def default(value: str) -> str:
        return f" (default: {value})" if creating else ""

    parser.add_argument("--name", required=creating, help="what people see")
    parser.add_argument("--slug", help="the name in slug ping URLs" + default("made from the name"))
    parser.add_argument("--channel", help="channel of the check's events" + default("heartbeat"))
    parser.add_argument("--period", type=int, help="seconds between pings (give --period or --cron)")
    parser.add_argument("--cron", help="cron expression, e.g. '0 9 * * 1-5'")
    parser.add_argument("--tz", help="time zone of the cron expression" + default("UTC"))
    parser.add_argument("--grace", type=int, help="seconds a ping may be late" + default("3600"))
    parser.add_argument(
        "--manual-resume",
        type=_true_or_false,
        metavar="true|false",
        help="whether a paused check stays paused when pinged, until resumed" + default("false"),
    )
    parser.add_argument(
        "--methods",
        choices=["", "POST"],
        help="POST: only POST requests count as pings, so a link previewer's GET does not" + default("any method"),
    )


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    checks = commands.add_parser("checks", help="manage heartbeat checks").add_subparsers(
        dest="checks_command", required=True
    )
    create = checks.add_parser("create", help="create a check and print it (with its ping URL)")
    _schedule_options(create, creating=True)
    create.add_argument("--project", required=True, help="the project its events go to")
    create.set_defaults(func=_check_command("cmd_create"))
    listing = checks.add_parser("list", help="list checks: uuid, status, project/slug, name")
    listing.add_argument("--project", help="only this project's checks (default: every project)")
    listing.set_defaults(func=_check_command("cmd_list"))
    update = checks.add_parser("update", help="change a check's name, slug, channel or schedule")
    update.add_argument("uuid", help="the check's UUID or unique key")
    _schedule_options(update, creating=False)
    update.set_defaults(func=_check_command("cmd_update"))
    show = checks.add_parser("show", help="print one check as JSON")
    show.add_argument("uuid", help="the check's UUID or unique key")
    show.set_defaults(func=_check_command("cmd_show"))
    for name in ("pause", "resume", "delete"):
        sub = checks.add_parser(name, help=f"{name} a check")
        sub.add_argument("uuid", help="the check's UUID or unique key")
        sub.set_defaults(func=_check_command("cmd_change"))
    keys = checks.add_parser("keys", help="print a project's ping key and badge key (made on first use)")
    keys.add_argument("project", help="the checks' project")
    keys.set_defaults(func=_check_command("cmd_keys"))

    run = commands.add_parser(
        "run",
        help="run a command as a monitored cron job",
        description="Ping /start, run the command, ping its exit status with the output's tail; exit with its status."
        " SIGTERM, SIGINT and SIGHUP are passed on to the command.",
        epilog="exit status: the command's (128 + N if signal N ended it, 127 if it could not start), whether or not"
        " the pings got through; 2 for bad usage",
    )
    run.add_argument("--check", required=True, help="the check's UUID (or PING_KEY/SLUG)")
    run.add_argument("--url", default=os.environ.get("HUB_URL"), help="the hub's base URL (default: $HUB_URL)")
    run.add_argument(
        "--tail",
        type=_tail_bytes,
        default=runner.DEFAULT_TAIL,
        help=f"bytes of output sent with the ping, 0 for none (default: {runner.DEFAULT_TAIL})",
    )
    run.add_argument(
        "--ping-timeout",
        type=_seconds,
        default=runner.PING_DEADLINE_SECONDS,
        help=f"seconds each ping may take, retries included (default: {runner.PING_DEADLINE_SECONDS:g})",
    )
    run.add_argument("command_line", nargs=argparse.REMAINDER, metavar="-- command ...", help="the job to run")
    run.set_defaults(func=cmd_run, needs_hub=False)
