"""`hub checks ...` (manage checks in the hub's database) and `hub run` (the cron wrapper, over HTTP)."""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

import msgspec

from hub.pluginapi import HubContext, ValidationProblem, hub_url_problem, plain_patterns

from . import runner, store
from .api import project_keys_out
from .models import CheckPatch, CheckSpec, check_project
from .service import service
from .states import pause, resume


def _print(value: Any) -> None:
    print(msgspec.json.format(msgspec.json.encode(value)).decode())


def _fail(message: str, status: int = 1) -> int:
    print(f"hub: {plain_patterns(message)}", file=sys.stderr)
    return status


def _refuse(message: str) -> int:
    """Bad input exits 2, as a bad option does: the command line needs changing, not the database."""
    return _fail(message, 2)


def _spec_fields(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


async def cmd_create(args: argparse.Namespace, hub: HubContext) -> int:
    fields = _spec_fields(
        args, ("name", "project", "slug", "channel", "period", "cron", "tz", "grace", "manual_resume")
    )
    try:
        spec = msgspec.convert(fields, CheckSpec)
    except msgspec.ValidationError as exc:
        return _refuse(str(exc))
    try:
        async with hub.db.writer.begin() as conn:
            row = await store.create_check(hub.db, conn, spec, origin="api", now=service(hub).now())
    except store.Conflict as exc:
        return _fail(str(exc))
    _print(store.check_out(row, service(hub).now(), hub.public_url))
    return 0


async def cmd_list(args: argparse.Namespace, hub: HubContext) -> int:
    now = service(hub).now()
    cursor = None
    async with hub.db.reader.connect() as conn:
        while True:
            # Projects are stored lower-case; `--project OPS` means `ops`, as `?project=OPS` does in the API.
            rows, cursor = await store.list_checks(
                conn, [args.project.lower()] if args.project else None, cursor, store.MAX_PAGE
            )
            for row in rows:
                check = store.check_out(row, now, hub.public_url)
                print(f"{check.uuid}\t{check.status}\t{check.project}/{check.slug}\t{check.name}")
            if cursor is None:
                return 0


async def _with_check(hub: HubContext, check_uuid: str) -> store.Row | None:
    async with hub.db.reader.connect() as conn:
        return await store.find_check(conn, check_uuid.lower())


async def cmd_show(args: argparse.Namespace, hub: HubContext) -> int:
    row = await _with_check(hub, args.uuid)
    if row is None:
        return _fail(f"no check {args.uuid}")
    _print(store.check_out(row, service(hub).now(), hub.public_url))
    return 0


async def cmd_update(args: argparse.Namespace, hub: HubContext) -> int:
    try:
        patch = msgspec.convert(
            _spec_fields(args, ("name", "slug", "channel", "period", "cron", "tz", "grace", "manual_resume")),
            CheckPatch,
        )
    except msgspec.ValidationError as exc:
        return _refuse(str(exc))
    try:
        async with hub.db.writer.begin() as conn:
            row = await store.find_check(conn, args.uuid.lower(), lock=True)
            if row is None:
                return _fail(f"no check {args.uuid}")
            row = await store.update_check(conn, row, patch)
    except ValueError as exc:  # the patch with the check's own fields: a period and a cron, say
        return _refuse(str(exc))
    except store.Conflict as exc:
        return _fail(str(exc))
    _print(store.check_out(row, service(hub).now(), hub.public_url))
    return 0


async def cmd_change(args: argparse.Namespace, hub: HubContext) -> int:
    """pause, resume or delete."""
    async with hub.db.writer.begin() as conn:
        row = await store.find_check(conn, args.uuid.lower(), lock=True)
        if row is None:
            return _fail(f"no check {args.uuid}")
        if args.checks_command == "delete":
            await store.delete_check(conn, row["id"])
        else:
            change = pause if args.checks_command == "pause" else resume
            state, flip = change(store.state_of(row), service(hub).now())
            await store.save_state(conn, row["id"], state, flip)
    done = {"pause": "paused", "resume": "resumed", "delete": "deleted"}[args.checks_command]
    print(f"{done} {args.uuid}", file=sys.stderr)
    return 0


async def cmd_keys(args: argparse.Namespace, hub: HubContext) -> int:
    try:
        check_project(args.project)
    except ValidationProblem as exc:
        return _refuse(str(exc))
    async with hub.db.writer.begin() as conn:
        row = await store.project_keys(hub.db, conn, args.project.lower(), service(hub).now())
    _print(project_keys_out(hub, row))
    return 0


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


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    checks = commands.add_parser("checks", help="manage heartbeat checks").add_subparsers(
        dest="checks_command", required=True
    )
    create = checks.add_parser("create", help="create a check and print it (with its ping URL)")
    _schedule_options(create, creating=True)
    create.add_argument("--project", required=True, help="the project its events go to")
    create.set_defaults(func=cmd_create)
    listing = checks.add_parser("list", help="list checks: uuid, status, project/slug, name")
    listing.add_argument("--project", help="only this project's checks (default: every project)")
    listing.set_defaults(func=cmd_list)
    update = checks.add_parser("update", help="change a check's name, slug, channel or schedule")
    update.add_argument("uuid", help="the check's UUID")
    _schedule_options(update, creating=False)
    update.set_defaults(func=cmd_update)
    show = checks.add_parser("show", help="print one check as JSON")
    show.add_argument("uuid", help="the check's UUID")
    show.set_defaults(func=cmd_show)
    for name in ("pause", "resume", "delete"):
        sub = checks.add_parser(name, help=f"{name} a check")
        sub.add_argument("uuid", help="the check's UUID")
        sub.set_defaults(func=cmd_change)
    keys = checks.add_parser("keys", help="print a project's ping key and badge key (made on first use)")
    keys.add_argument("project", help="the checks' project")
    keys.set_defaults(func=cmd_keys)

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
