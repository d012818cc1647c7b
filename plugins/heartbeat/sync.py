"""Checks declared in `[plugins.heartbeat] checks` are created on start and kept in step with the file.

They are matched by project and slug, so a check keeps its UUID (and its history) across restarts and edits.
A check removed from the file is left in place: deleting history is for the API or `hub checks delete`.

Several hub processes start at once (`hub serve --workers`, or on PostgreSQL several machines): each locks the
check it brings in line, so none writes back a state read before another's scan or ping, and a process that
loses the race to create a new check finds it made and brings that one in line.
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from sqlalchemy.exc import IntegrityError

from hub.pluginapi import HubContext

from . import store
from .models import CheckPatch, CheckSpec
from .service import service

SYNCED = ("name", "channel", "period", "cron", "tz", "grace", "manual_resume", "methods")


def _patch(spec: CheckSpec, row: store.Row) -> CheckPatch | None:
    """The changes that bring the stored check in line with the file, or None when it already is."""
    if all(row[name] == getattr(spec, name) for name in SYNCED):
        return None
    values = {name: getattr(spec, name) for name in SYNCED if getattr(spec, name) is not None}
    return msgspec.convert(values, CheckPatch)


async def sync_config_checks(hub: HubContext) -> None:
    now = service(hub).now()
    for spec in service(hub).settings.checks:
        try:
            await _sync(hub, spec, now)
        except (IntegrityError, store.Conflict):  # another process created it meanwhile (and committed, or not yet)
            await _sync(hub, spec, now)


async def _sync(hub: HubContext, spec: CheckSpec, now: datetime) -> None:
    assert spec.slug is not None
    async with hub.db.writer.begin() as conn:
        row = await store.find_by_slug(conn, spec.project, spec.slug, lock=True)
        if row is None:
            await store.create_check(hub.db, conn, spec, origin="config", now=now)
        elif (patch := _patch(spec, row)) is not None:
            await store.update_check(conn, row, patch)
