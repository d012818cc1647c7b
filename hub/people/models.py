"""People on the wire: users, teams and push subscriptions as the admin API takes and returns them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from hub.models import SLUG_PATTERN, time_zone, url_problem
from hub.routing.rules import HHMM

Role = Literal["admin", "member", "viewer"]
Email = Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z", max_length=254)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
TeamSlug = Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]
MAX_SUBSCRIPTIONS_PER_USER = 20


class Quiet(msgspec.Struct, forbid_unknown_fields=True):
    """A person's quiet hours in their own time zone; non-critical notifications wait until `end`."""

    start: Annotated[str, msgspec.Meta(pattern=HHMM)]
    end: Annotated[str, msgspec.Meta(pattern=HHMM)]

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("`quiet_hours.start` and `quiet_hours.end` must differ")


class UserIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Email
    name: Name
    role: Role = "member"
    timezone: Annotated[str, msgspec.Meta(max_length=64)] = "UTC"
    quiet_hours: Quiet | None = None
    # Projects whose "everyone" notifications this person receives.
    projects: list[Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]] = []
    teams: list[TeamSlug] = []

    def __post_init__(self) -> None:
        self.email = self.email.lower()
        time_zone(self.timezone, "timezone")


class UserPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields given change; `quiet_hours: null` clears them."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    email: Email | msgspec.UnsetType = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    timezone: Annotated[str, msgspec.Meta(max_length=64)] | msgspec.UnsetType = msgspec.UNSET
    quiet_hours: Quiet | msgspec.UnsetType | None = msgspec.UNSET
    projects: list[Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]] | msgspec.UnsetType = msgspec.UNSET

    def __post_init__(self) -> None:
        if isinstance(self.email, str):
            self.email = self.email.lower()
        if isinstance(self.timezone, str):
            time_zone(self.timezone, "timezone")


class UserOut(msgspec.Struct, kw_only=True):
    id: str
    email: str
    name: str
    role: str
    timezone: str
    quiet_hours: Quiet | None
    projects: list[str]
    teams: list[str]
    created_at: datetime
    updated_at: datetime


class TeamIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    slug: TeamSlug
    name: Name
    # Users by id or email.
    members: Annotated[list[str], msgspec.Meta(max_length=1000)] = []

    def __post_init__(self) -> None:
        self.slug = self.slug.lower()


class TeamPatch(msgspec.Struct, forbid_unknown_fields=True):
    name: Name


class TeamOut(msgspec.Struct, kw_only=True):
    id: str
    slug: str
    name: str
    members: list[str]  # emails
    created_at: datetime
    updated_at: datetime


class PushKeys(msgspec.Struct):
    p256dh: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{80,100}={0,2}\Z")]
    auth: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{16,32}={0,2}\Z")]


class SubscriptionIn(msgspec.Struct, kw_only=True):
    """What the browser's `PushSubscription.toJSON()` gives (unknown fields such as expirationTime ignored)."""

    endpoint: Annotated[str, msgspec.Meta(pattern=r"^https?://\S+\Z", max_length=2048)]
    keys: PushKeys
    user_agent: Annotated[str, msgspec.Meta(max_length=256)] | None = None

    def __post_init__(self) -> None:
        if problem := url_problem(self.endpoint):
            raise ValueError(f"`endpoint` cannot be requested: {problem}")


class SubscriptionOut(msgspec.Struct, kw_only=True):
    id: str
    user_id: str
    endpoint: str
    user_agent: str | None
    created_at: datetime
