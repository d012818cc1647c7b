"""`hub actions secret PROJECT [--rotate]` and `hub actions list`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hub.people.cli import run_with_hub


def actions_secret(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        from hub.actions.secrets import UnknownProject  # loads SQLAlchemy: not for building the command line

        secrets = hub.action_secrets
        try:
            info = await (secrets.rotate(args.project) if args.rotate else secrets.info(args.project))
        except UnknownProject as exc:
            print(f"hub: {exc}", file=sys.stderr)
            return 1
        print(info.secret)
        if info.previous_valid_until:
            print(f"the previous secret also signs until {info.previous_valid_until.isoformat()}", file=sys.stderr)
        return 0

    return run_with_hub(args, work)


def actions_list(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        for action in hub.settings.self_service_actions:
            teams = ",".join(action.teams) or "anyone"
            print(f"{action.name}\t{action.project}\t{teams}\t{action.label}")
        return 0

    return run_with_hub(args, work)


def add_action_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = commands.add_parser("actions", help="action signing secrets and self-service actions")
    sub = actions.add_subparsers(dest="actions_command", required=True)
    secret = sub.add_parser("secret", help="print a project's action signing secret (whsec_...)")
    secret.add_argument("project", help="a project with events, or one a self-service action names")
    secret.add_argument("--rotate", action="store_true", help="make a new one; the old one signs for a grace period")
    secret.set_defaults(func=actions_secret, needs_hub=False)
    sub.add_parser("list", help="self-service actions from the config file: name, project, teams, label").set_defaults(
        func=actions_list, needs_hub=False
    )
