"""The check state machine, as pure functions of a check's stored fields and the time (after Healthchecks).

Stored statuses are `new` (never pinged), `up`, `down` and `paused`. `late` (past due, within grace) is read
from the stored `expected_at` at the moment of asking, as Healthchecks does: storing it would cost a write and
a flip per on-time-but-jittery ping. A check is "running" while a start ping waits for its finish.

Two stored instants drive everything: `expected_at` (the next ping is due) and `alert_after` (the check goes
down: `expected_at` + grace, or the running job's start + grace, whichever comes first). The scan only ever
compares `alert_after` with the time, so it never computes a schedule.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from .schedule import next_expected

Status = Literal["new", "up", "late", "down", "paused"]
Action = Literal["success", "fail", "start", "log"]


class Schedule(msgspec.Struct, frozen=True):
    """A check's timing: `period` seconds between pings, or a `cron` expression in `tz`; plus `grace`; and
    whether pings leave it paused (`manual_resume`)."""

    grace: int
    period: int | None = None
    cron: str | None = None
    tz: str = "UTC"
    manual_resume: bool = False


class CheckState(msgspec.Struct):
    """The fields of a check that pings and the scan change."""

    status: Status = "new"
    last_ping_at: datetime | None = None
    last_start_at: datetime | None = None
    last_start_rid: str | None = None
    down_since: datetime | None = None
    expected_at: datetime | None = None
    alert_after: datetime | None = None
    # As in Healthchecks: every ping this check received (ignored ones too), and how long its last measured run took.
    n_pings: int = 0
    last_duration: float | None = None  # seconds

    @property
    def running(self) -> bool:
        return self.last_start_at is not None

    def status_at(self, now: datetime) -> Status:
        """The status to show at `now`: the stored one, or `late` once an up check's ping is overdue."""
        if self.status == "up" and self.expected_at is not None and now >= self.expected_at:
            return "late"
        return self.status


class Flip(msgspec.Struct, frozen=True):
    """One recorded state change; `at` is when it happened (the deadline, for changes found by the scan)."""

    old: Status
    new: Status
    at: datetime
    reason: str


class PingOutcome(msgspec.Struct, frozen=True):
    """What one ping did: the flip it caused, the outage it ended, and the run it finished."""

    flip: Flip | None
    recovered_after: timedelta | None  # how long the check was down, when this ping brought it back up
    failed: bool  # this failure took the check down; one already down gets no new alert, as in Healthchecks
    duration: timedelta | None  # from the matching start ping to this finish
    ignored: bool = False  # the check is paused with `manual_resume`: the ping is stored (kind `ign`), nothing else


def with_deadlines(state: CheckState, schedule: Schedule) -> CheckState:
    """Recompute `expected_at` and `alert_after` from the state's pings and the schedule."""
    grace = timedelta(seconds=schedule.grace)
    expected = None
    if state.status == "up" and state.last_ping_at is not None:
        expected = next_expected(state.last_ping_at, period=schedule.period, cron=schedule.cron, tz=schedule.tz)
    limits = [expected + grace] if expected is not None else []
    # A run has its deadline whatever the status but down, paused included, as in Healthchecks: a paused check
    # that was started and never finished stayed "running" for good.
    if state.last_start_at is not None and state.status != "down":
        limits.append(state.last_start_at + grace)
    state.expected_at = expected
    state.alert_after = min(limits) if limits else None
    return state


def apply_ping(
    state: CheckState, schedule: Schedule, action: Action, rid: str | None, now: datetime
) -> tuple[CheckState, PingOutcome]:
    """A ping arrived at `now`. Returns the new state (a copy) and what happened.

    A start marks the check running; a success or failure sets the status (so it also resumes a paused check,
    as in Healthchecks) and ends the run, measured when the `rid`s match. As in Healthchecks, a success without
    `rid` or any failure also ends a run started with another `rid`: a job whose finish lacks its start's `rid`
    must not stay running into a false `run_timeout`. A log ping changes nothing, and neither does any ping
    to a check paused with `manual_resume`.
    """
    if state.status == "paused" and schedule.manual_resume:
        return state, PingOutcome(flip=None, recovered_after=None, failed=False, duration=None, ignored=True)
    new = msgspec.structs.replace(state)
    flip = recovered = duration = None
    if action == "start":
        new.last_start_at, new.last_start_rid = now, rid
    elif action in ("success", "fail"):
        new.last_ping_at = now
        if state.last_start_at is not None and rid == state.last_start_rid:
            duration = now - state.last_start_at
        if state.last_start_at is not None and (rid == state.last_start_rid or rid is None or action == "fail"):
            new.last_start_at = new.last_start_rid = None
        target: Status = "down" if action == "fail" else "up"
        if state.status != target:
            flip = Flip(old=state.status, new=target, at=now, reason="fail" if action == "fail" else "ping")
            if state.status == "down" and state.down_since is not None:
                recovered = now - state.down_since
            new.status = target
            new.down_since = now if target == "down" else None
    return with_deadlines(new, schedule), PingOutcome(
        flip=flip, recovered_after=recovered, failed=action == "fail" and flip is not None, duration=duration
    )


def due_flip(state: CheckState, schedule: Schedule, now: datetime) -> Flip | None:
    """The flip to down the scan makes once `alert_after` has passed, timestamped with that deadline."""
    if state.alert_after is None or state.alert_after > now or state.status == "down":
        return None
    run_deadline = state.last_start_at + timedelta(seconds=schedule.grace) if state.last_start_at else None
    reason = "run_timeout" if run_deadline == state.alert_after else "missed"
    return Flip(old=state.status, new="down", at=state.alert_after, reason=reason)


def pause(state: CheckState, now: datetime) -> tuple[CheckState, Flip | None]:
    """A paused check does not alert for missed pings; the run in progress, if any, is forgotten."""
    if state.status == "paused":
        return state, None
    new = CheckState(status="paused", **_history(state))
    return new, Flip(old=state.status, new="paused", at=now, reason="paused")


def resume(state: CheckState, now: datetime) -> tuple[CheckState, Flip | None]:
    """A resumed check waits, like a new one, for its next ping before any deadline applies."""
    if state.status != "paused":
        return state, None
    new = CheckState(status="new", **_history(state))
    return new, Flip(old="paused", new="new", at=now, reason="resumed")


def _history(state: CheckState) -> dict[str, Any]:
    """What pausing and resuming keep: what the check's pings were, not what they led it to expect."""
    return {"last_ping_at": state.last_ping_at, "n_pings": state.n_pings, "last_duration": state.last_duration}
