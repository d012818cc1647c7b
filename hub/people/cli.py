"""`hub users ...` and `hub teams ...`: the admin API's people management from the shell.

The database code each command needs is imported when it runs, as in hub.cli: building the command line (every
`hub` command, `--help` too) does not load SQLAlchemy.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec

from hub.cli import JSON_HELP
from hub.models import plain_patterns
from hub.password_prompt import read_new_password
from hub.people.models import Quiet, TeamIn, UserIn, UserPatch

# `needs_hub=False` tells hub.cli to call these as they are: each opens the hub itself (`_run`).
Work = Callable[[Any], Coroutine[Any, Any, int]]


def run_with_hub(args: argparse.Namespace, work: Work) -> int:
    from hub.cli import _run_with_hub, _settings
    from hub.people.store import Conflict

    try:
        return _run_with_hub(_settings(args), work)
    except Conflict as exc:  # the input is fine, the database holds something in its way
        print(f"hub: {exc}", file=sys.stderr)
        return 1
    except (msgspec.ValidationError, ValueError) as exc:
        print(f"hub: {plain_patterns(str(exc))}", file=sys.stderr)
        return 2


def _quiet(text: str | None) -> Quiet | None:
    if not text:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"--quiet: quiet hours look like 22:00-07:00, not {text!r}")
    try:
        return msgspec.convert({"start": start, "end": end}, Quiet)
    except msgspec.ValidationError as exc:  # named after the option, not the API's `$.start`
        raise ValueError(f"--quiet {text!r}: {plain_patterns(str(exc))}") from None


def users_add(args: argparse.Namespace, _: object = None) -> int:
    try:
        password = None if args.no_password else read_new_password(args.password_stdin)
    except ValueError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2

    async def work(hub: Any) -> int:
        from hub.accounts import set_password

        data = msgspec.convert(
            {
                "email": args.email,
                "name": args.name or args.email.split("@")[0],
                "role": args.role,
                "timezone": args.timezone,
                "quiet_hours": msgspec.to_builtins(_quiet(args.quiet)),
                "projects": args.project,
                "teams": args.team,
            },
            UserIn,
        )
        user = await hub.people.create_user(data)
        if password is not None:
            await set_password(hub.db, user.id, password)
        print(user.id)
        if password is None:
            print(
                f"{data.email} cannot sign in yet: set a password with  "
                f"{os.environ.get('HUB_COMMAND_NAME', 'hub')} users password {data.email}",  # `./run` sets it
                file=sys.stderr,
            )
        return 0

    return run_with_hub(args, work)


def users_password(args: argparse.Namespace, _: object = None) -> int:
    """Set a user's web app password (an admin resetting it; people change their own in the app)."""
    try:
        password = read_new_password(args.password_stdin)
    except ValueError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return 2
    if password is None:
        print("hub: no terminal to ask for the password on; pipe it in with --password-stdin", file=sys.stderr)
        return 2

    async def work(hub: Any) -> int:
        from hub.accounts import find_login, set_password

        login = await find_login(hub.db, args.user)
        if login is None:
            print(f"hub: no user {args.user}", file=sys.stderr)
            return 1
        await set_password(hub.db, login.user_id, password)
        await hub.sessions.end_all(login.user_id)
        return 0

    return run_with_hub(args, work)


def users_update(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        changes: dict[str, Any] = {
            k: getattr(args, k) for k in ("name", "role", "timezone") if getattr(args, k) is not None
        }
        if args.quiet is not None:
            changes["quiet_hours"] = msgspec.to_builtins(_quiet(args.quiet))
        if args.project is not None:
            changes["projects"] = args.project
        user = await hub.people.update_user(args.user, msgspec.convert(changes, UserPatch))
        if user is None:
            print(f"hub: no user {args.user}", file=sys.stderr)
            return 1
        return 0

    return run_with_hub(args, work)


def users_list(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        users = await hub.people.list_users()
        if args.json:
            print(msgspec.json.encode(users).decode())
            return 0
        for u in users:
            quiet = f"{u.quiet_hours.start}-{u.quiet_hours.end}" if u.quiet_hours else "-"
            teams = ",".join(u.teams) or "-"
            print(f"{u.id}\t{u.email}\t{u.name}\t{u.role}\t{u.timezone}\tquiet {quiet}\tteams {teams}")
        return 0

    return run_with_hub(args, work)


def users_remove(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        found = await hub.people.get_user(args.user)
        if found is not None:
            async with hub.db.reader.connect() as conn:
                rule = await hub.rules.sending_to(conn, user_email=found.email)
            if rule:
                print(f"hub: routing rule {rule} sends to user {found.email}; change it first", file=sys.stderr)
                return 1
        if found is None or not await hub.people.delete_user(args.user):
            print(f"hub: no user {args.user}", file=sys.stderr)
            return 1
        return 0

    return run_with_hub(args, work)


def teams_add(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        team = await hub.people.create_team(
            msgspec.convert({"slug": args.slug, "name": args.name or args.slug, "members": args.member}, TeamIn)
        )
        print(team.id)
        return 0

    return run_with_hub(args, work)


def teams_list(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        teams = await hub.people.list_teams()
        if args.json:
            print(msgspec.json.encode(teams).decode())
            return 0
        for t in teams:
            print(f"{t.slug}\t{t.name}\t{', '.join(t.members) or '-'}")
        return 0

    return run_with_hub(args, work)


def teams_member(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        team = await hub.people.set_member(args.slug, args.user, member=args.teams_command == "add-member")
        if team is None:
            print(f"hub: no team {args.slug} or no user {args.user}", file=sys.stderr)
            return 1
        return 0

    return run_with_hub(args, work)


def teams_remove(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        async with hub.db.reader.connect() as conn:
            rule = await hub.rules.sending_to(conn, team=args.slug)
        if rule:
            print(f"hub: routing rule {rule} sends to team {args.slug}; change it first", file=sys.stderr)
            return 1
        if not await hub.people.delete_team(args.slug):
            print(f"hub: no team {args.slug}", file=sys.stderr)
            return 1
        return 0

    return run_with_hub(args, work)


def add_people_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    users = commands.add_parser("users", help="manage users").add_subparsers(dest="users_command", required=True)
    add = users.add_parser("add", aliases=["create"], help="create a user (asks for a web app password); prints its id")
    add.add_argument("email", help="the user's email, which they sign in with")
    add.add_argument("--name", help="default: the part of the email before @")
    add.add_argument(
        "--role", default="member", choices=["admin", "member", "viewer"], help="web app role (default: member)"
    )
    add.add_argument("--timezone", default="UTC", help="IANA zone, e.g. Europe/Berlin (default: UTC)")
    add.add_argument("--quiet", help="quiet hours in the user's zone, e.g. 22:00-07:00 (default: none)")
    add.add_argument("--project", action="append", default=[], help="receives this project's notifications; repeat")
    add.add_argument("--team", action="append", default=[], help="member of this team; repeat")
    add.add_argument("--password-stdin", action="store_true", help="read the web app password from stdin")
    add.add_argument("--no-password", action="store_true", help="notifications only: no web app sign-in")
    add.set_defaults(func=users_add, needs_hub=False)
    password = users.add_parser("password", help="set a user's web app password (signs them out everywhere)")
    password.add_argument("user", help="id or email")
    password.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    password.set_defaults(func=users_password, needs_hub=False)
    upd = users.add_parser("update", help="change a user (by id or email)")
    upd.add_argument("user", help="id or email")
    upd.add_argument("--name", help="an option left out keeps its value")
    upd.add_argument("--role", choices=["admin", "member", "viewer"], help="web app role")
    upd.add_argument("--timezone", help="IANA zone, e.g. Europe/Berlin")
    upd.add_argument("--quiet", help='22:00-07:00, or "" to clear')
    upd.add_argument("--project", action="append", help="replaces the user's projects; repeat")
    upd.set_defaults(func=users_update, needs_hub=False)
    listing = users.add_parser("list", help="list users: id, email, name, role, timezone, quiet hours, teams")
    listing.add_argument("--json", action="store_true", help=JSON_HELP)
    listing.set_defaults(func=users_list, needs_hub=False)
    remove = users.add_parser("remove", help="delete a user (by id or email)")
    remove.add_argument("user", help="id or email")
    remove.set_defaults(func=users_remove, needs_hub=False)

    teams = commands.add_parser("teams", help="manage teams").add_subparsers(dest="teams_command", required=True)
    add = teams.add_parser("add", help="create a team")
    add.add_argument("slug", help="the team's short name, used in routing rules")
    add.add_argument("--name", help="default: the slug")
    add.add_argument("--member", action="append", default=[], help="user id or email; repeat")
    add.set_defaults(func=teams_add, needs_hub=False)
    listing = teams.add_parser("list", help="list teams: slug, name, members")
    listing.add_argument("--json", action="store_true", help=JSON_HELP)
    listing.set_defaults(func=teams_list, needs_hub=False)
    for name in ("add-member", "remove-member"):
        member = teams.add_parser(name, help=f"{name.split('-')[0]} a user (id or email)")
        member.add_argument("slug", help="the team")
        member.add_argument("user", help="id or email")
        member.set_defaults(func=teams_member, needs_hub=False)
    remove = teams.add_parser("remove", help="delete a team")
    remove.add_argument("slug", help="the team")
    remove.set_defaults(func=teams_remove, needs_hub=False)
