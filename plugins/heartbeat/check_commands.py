"""`hub checks ...`: the commands that manage checks in the hub's database (their options are in .cli)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from hub.pluginapi import HubContext, ValidationProblem, plain_patterns

from . import store
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


def _spec_fields(args: argparse.Namespace, struct: type[msgspec.Struct]) -> dict[str, Any]:
    """The options given (each option is named as the field it sets), as `struct`'s fields."""
    return {name: getattr(args, name) for name in struct.__struct_fields__ if getattr(args, name, None) is not None}


async def cmd_create(args: argparse.Namespace, hub: HubContext) -> int:
    try:
        spec = msgspec.convert(_spec_fields(args, CheckSpec), CheckSpec)
    except msgspec.ValidationError as exc:
        return _refuse(str(exc))
    try:
        async with hub.db.writer.begin() as conn:
            row = await store.create_check(hub.db, conn, spec, origin="api", now=service(hub).now())
    except store.Conflict as exc:
        return _fail(str(exc))
    _print(store.check_out(row, service(hub).now(), hub.public_url, may_ping=True))
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
                check = store.check_out(row, now, hub.public_url, may_ping=True)
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
    _print(store.check_out(row, service(hub).now(), hub.public_url, may_ping=True))
    return 0


async def cmd_update(args: argparse.Namespace, hub: HubContext) -> int:
    try:
        patch = msgspec.convert(_spec_fields(args, CheckPatch), CheckPatch)
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
    _print(store.check_out(row, service(hub).now(), hub.public_url, may_ping=True))
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
