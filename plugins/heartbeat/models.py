"""The plugin's wire contract: check definitions (API, CLI, config file) and what the API answers.

One Struct validates a check wherever it is declared, so the API, `hub checks create` and the config file
give the same messages for the same mistakes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from hub.pluginapi import SLUG_PATTERN, ValidationProblem, slug_or_hash

from .schedule import ScheduleError, validate, zone

SLUG = r"^[a-z0-9][a-z0-9_.-]{0,63}\Z"
YEAR = 366 * 24 * 3600
DEFAULT_PERIOD = 24 * 3600
DEFAULT_GRACE = 3600
DEFAULT_CHANNEL = "heartbeat"

Slug = Annotated[str, msgspec.Meta(pattern=SLUG, description="lower-case letters, digits, `_ . -`; 1 to 64")]
ProjectSlug = Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]


def check_project(project: str) -> None:
    """For a project named outside a validated body: a URL's path, the CLI's argument."""
    if not re.match(SLUG_PATTERN, project):
        raise ValidationProblem("`project` must be letters, digits, `_ . -`; 1 to 64 characters", "project")


# No control characters: PostgreSQL text cannot hold NUL, and a tab or newline would break `hub checks list`.
Name = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f-\x9f]*\Z", description="no control characters"
    ),
]
Period = Annotated[int, msgspec.Meta(ge=1, le=YEAR, description="seconds between pings")]
Grace = Annotated[int, msgspec.Meta(ge=0, le=YEAR, description="seconds a ping may be late before the check is down")]
Cron = Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="five-field cron expression")]
Tz = Annotated[str, msgspec.Meta(min_length=1, max_length=64, description="IANA time zone of the cron expression")]
ManualResume = Annotated[
    bool, msgspec.Meta(description="a paused check stays paused when pinged, until resumed (as in Healthchecks)")
]
Methods = Annotated[
    Literal["", "POST"],
    msgspec.Meta(
        description="`POST`: only POST requests count as pings, others are stored as ignored (as in Healthchecks)"
    ),
]


def default_slug(name: str) -> str:
    """A check's default slug, from its name: `Nightly DB backup` -> `nightly-db-backup`. A name with no Latin
    letters or digits gets `check-` and a hash of the name, so two such checks do not collide."""
    return slug_or_hash(name, "check")


def check_schedule(period: int | None, cron: str | None, tz: str) -> None:
    """Raise ValueError naming the field when the schedule is contradictory or unusable."""
    if period is not None and cron is not None:
        raise ValueError("`cron` and `period` exclude each other: give one, not both")
    zone(tz)  # its error names `tz`
    try:
        validate(cron, tz)
    except ScheduleError as exc:
        raise ValueError(f"`cron`: {exc}") from None


class CheckSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A check as it is created: without `period` or `cron` it expects a ping a day."""

    name: Name
    project: ProjectSlug
    slug: Slug | None = None
    channel: Slug = DEFAULT_CHANNEL
    period: Period | None = None
    cron: Cron | None = None
    tz: Tz = "UTC"
    grace: Grace = DEFAULT_GRACE
    manual_resume: ManualResume = False
    methods: Methods = ""

    def __post_init__(self) -> None:
        check_schedule(self.period, self.cron, self.tz)
        self.project = self.project.lower()
        if self.slug is None:
            self.slug = default_slug(self.name)
        if self.period is None and self.cron is None:
            self.period = DEFAULT_PERIOD


class CheckPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A partial update; setting `period` clears `cron` and the other way round."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    slug: Slug | msgspec.UnsetType = msgspec.UNSET
    channel: Slug | msgspec.UnsetType = msgspec.UNSET
    period: Period | msgspec.UnsetType = msgspec.UNSET
    cron: Cron | msgspec.UnsetType = msgspec.UNSET
    tz: Tz | msgspec.UnsetType = msgspec.UNSET
    grace: Grace | msgspec.UnsetType = msgspec.UNSET
    manual_resume: ManualResume | msgspec.UnsetType = msgspec.UNSET
    methods: Methods | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.period is not msgspec.UNSET and self.cron is not msgspec.UNSET:
            raise ValueError("`cron` and `period` exclude each other: give one, not both")

    def changes(self) -> dict[str, object]:
        values = {f: getattr(self, f) for f in self.__struct_fields__ if getattr(self, f) is not msgspec.UNSET}
        if self.period is not msgspec.UNSET:
            values["cron"] = None
        elif self.cron is not msgspec.UNSET:
            values["period"] = None
        return values


class CheckOut(msgspec.Struct, kw_only=True):
    """A check as the API shows it; `status` is as of the moment of the answer (so it can read `late`).

    `uuid` and `ping_url` are null for a caller that may only read checks: anyone who has them can ping the check,
    and so change its state. `unique_key` names the check in the API to every caller, as in Healthchecks.
    """

    uuid: str | None
    unique_key: str
    name: str
    slug: str
    project: str
    channel: str
    period: int | None
    cron: str | None
    tz: str
    grace: int
    manual_resume: bool
    methods: str
    status: Literal["new", "up", "late", "down", "paused"]
    running: bool
    last_ping_at: datetime | None
    last_start_at: datetime | None
    expected_at: datetime | None
    down_at: datetime | None
    down_since: datetime | None
    n_pings: int  # every ping received, as in Healthchecks (the stored history keeps `ping_retention_days`)
    last_duration: float | None  # seconds the last measured run took (a start ping, then its finish)
    origin: str
    created_at: datetime
    ping_url: str | None


class PingOut(msgspec.Struct, kw_only=True):
    id: str
    created_at: datetime
    kind: str
    exit_status: int | None
    rid: str | None
    method: str
    remote_addr: str | None
    user_agent: str | None
    body: str | None
    body_size: int
    body_truncated: bool
    duration: float | None


class FlipOut(msgspec.Struct, kw_only=True):
    id: str
    created_at: datetime
    old_status: str
    new_status: str
    reason: str
    outage: float | None


class ProjectKeysOut(msgspec.Struct, kw_only=True):
    """Where a project's checks are pinged by slug and its badges are served."""

    project: str
    ping_key: str
    badge_key: str
    ping_url: str
    badge_url: str
