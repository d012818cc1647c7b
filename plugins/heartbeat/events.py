"""The events a check emits (`missed`, `recovered`, `failed`), stored through the hub like any other event.

They carry the check's project and channel, so routing rules treat them like events from any source. They are
written in the same transaction as the state change behind them, so a crash can never leave a check down
without its `missed` event, or store the event of a change that rolled back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.pluginapi import EventIn, HubContext, StoredResult, truncate

SOURCE = "heartbeat"
# The tail of a ping body copied into an event (events cap their content at 64 KiB of JSON).
OUTPUT_TAIL = 8 * 1024


# The end of a failed job's output shown in the alert's text, as Healthchecks does: the first thing on-call reads.
# Short enough that a notification (1,000 characters of description) keeps the whole block.
SHOWN_LINES = 10
SHOWN_CHARACTERS = 600


def _tail(text: str | None) -> str | None:
    return text if text is None or len(text) <= OUTPUT_TAIL else "…" + text[-OUTPUT_TAIL:]


def _output_block(output: str | None) -> str:
    """The output's last lines as a markdown code block, fenced longer than any run of backticks in them."""
    lines = (output or "").rstrip().splitlines()[-SHOWN_LINES:]
    text = "\n".join(lines)[-SHOWN_CHARACTERS:]
    if not text.strip():
        return ""
    fence = "`" * max(3, 1 + max(map(len, re.findall(r"`+", text)), default=0))
    return f"\n\nThe end of its output:\n\n{fence}\n{text}\n{fence}"


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def _seconds(span: timedelta) -> str:
    total = int(span.total_seconds())
    if total == 0:
        return "under a second"
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes}m {seconds}s" if hours else f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


def _base(check: Any) -> dict[str, Any]:
    return {"check": check["unique_key"], "name": check["name"], "slug": check["slug"]}


def missed(check: Any, *, deadline: datetime, expected_at: datetime | None, reason: str, output: str | None) -> EventIn:
    """The check went down at `deadline`: no ping in time, or a started run that never finished."""
    if reason == "run_timeout":
        text = f"Started {_when(check['last_start_at'])} and not finished within {check['grace']} s grace."
    else:
        last, due = _when(check["last_ping_at"]), _when(expected_at)
        text = f"No ping since {last}; expected by {due} (+{check['grace']} s grace)."
    return EventIn(
        event=truncate(f"{check['name']} missed", 250) or "missed",
        description=text,
        icon="⏰",
        notify=True,
        severity="critical",
        timestamp=deadline,
        tags={"check": check["slug"], "status": "down", "reason": reason},
        content={
            **_base(check),
            "reason": reason,
            "last_ping_at": check["last_ping_at"],
            "last_start_at": check["last_start_at"],
            "expected_at": expected_at,
            "grace": check["grace"],
            "deadline": deadline,
            "last_output": _tail(output),
        },
    )


def recovered(check: Any, *, at: datetime, outage: timedelta) -> EventIn:
    return EventIn(
        event=truncate(f"{check['name']} recovered", 250) or "recovered",
        description=f"Up again after {_seconds(outage)} down.",
        icon="✅",
        notify=True,
        severity="info",
        timestamp=at,
        tags={"check": check["slug"], "status": "up"},
        content={**_base(check), "outage_seconds": outage.total_seconds(), "down_since": at - outage},
    )


def failed(check: Any, *, at: datetime, exit_status: int | None, output: str | None) -> EventIn:
    status = f" with exit status {exit_status}" if exit_status is not None else ""
    shown = _output_block(output)
    return EventIn(
        event=truncate(f"{check['name']} failed", 250) or "failed",
        description=f"The job reported a failure{status}.{shown}",
        parser="markdown" if shown else "text",
        icon="❌",
        notify=True,
        severity="critical",
        timestamp=at,
        tags={"check": check["slug"], "status": "down"},
        content={**_base(check), "exit_status": exit_status, "output": _tail(output)},
    )


async def store(
    hub: HubContext, conn: AsyncConnection, items: Sequence[tuple[Any, EventIn]], now: datetime
) -> list[StoredResult]:
    """Store events inside the caller's transaction, with the state change that caused them; each event goes
    to its check's project and channel. Announce the results once that transaction has committed.

    A `missed` event is stamped with its deadline, which a hub catching up after downtime finds long past;
    it still notifies (`notify_backfilled`): an outage found late is still an outage.
    """
    for check, event in items:
        event.project, event.channel = check["project"], check["channel"]
    return await hub.ingest_within(conn, [e for _, e in items], source=SOURCE, received_at=now, notify_backfilled=True)
