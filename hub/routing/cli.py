"""`hub routes list` and `hub routes test EVENT.json`: the rules in order, and which of them an event meets."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import msgspec

from hub.people.cli import run_with_hub


def routes_list(args: argparse.Namespace, _: object = None) -> int:
    async def work(hub: Any) -> int:
        configured = hub.rules.configured
        stored = await hub.rules.stored()
        for origin, rules in (("config", configured), ("api", stored)):
            for rule in rules:
                targets = ", ".join(t.describe() for t in rule.targets)
                flags = " continue" if rule.continue_ else ""
                print(f"{rule.name}\t{origin}\t{targets}{flags}{'' if rule.enabled else ' (disabled)'}")
        return 0

    return run_with_hub(args, work)


def routes_test(args: argparse.Namespace, _: object = None) -> int:
    from hub.api.routes import explain_event
    from hub.models import EventIn

    try:
        event_in = msgspec.json.decode(Path(args.event).read_bytes(), type=EventIn)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        print(f"hub: {args.event}: {exc}", file=sys.stderr)
        return 2

    async def work(hub: Any) -> int:
        project = event_in.project or hub.settings.ingest.default_project
        async with hub.db.reader.connect() as conn:
            result = await explain_event(hub, conn, event_in, project, args.source)
        if args.json:
            print(msgspec.json.encode(result).decode())
            return 0
        if result.silent_reason:
            print(f"never notifies: {result.silent_reason}")
        for verdict in result.verdicts:
            mark = "MATCH" if verdict.matched else "no"
            print(f"{mark:5}  {verdict.rule}: {'; '.join(verdict.reasons)}")
            for target in verdict.targets:
                print(f"         -> {target}")
            for note in verdict.then:
                print(f"         then: {note}")
            if verdict.stops:
                print("         (stops here: no `continue`)")
        if not result.verdicts:
            print("no rule matches, and the event does not ask to notify")
        return 0

    return run_with_hub(args, work)


def add_routing_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    routes = commands.add_parser("routes", help="routing rules").add_subparsers(dest="routes_command", required=True)
    routes.add_parser("list", help="rules in evaluation order: name, origin (config or api), targets").set_defaults(
        func=routes_list, needs_hub=False
    )
    test = routes.add_parser("test", help="show which rules an event (a JSON file, as POSTed) matches and why")
    test.add_argument("event", help="path to the event JSON")
    test.add_argument("--source", default="api", help="as if this source stored it: stripe, github... (default: api)")
    test.add_argument("--json", action="store_true", help="print the verdicts as one JSON object")
    test.set_defaults(func=routes_test, needs_hub=False)
