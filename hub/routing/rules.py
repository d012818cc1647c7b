"""What a routing rule says, as the config file (`[[routes]]`) and the admin API spell it, with its limits.

Kept free of database code so the settings can import it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import time
from typing import Annotated, Literal

import msgspec

from hub.models import NAME_PATTERN, SLUG_PATTERN, TAG_KEY_PATTERN, Severity, shown_address, time_zone, url_problem

GROUP_FIELDS = ("project", "channel", "event", "source", "severity", "user_id")
MAX_TARGETS = 20
MAX_WINDOW_SECONDS = 86_400
# The built-in rule for `notify: true` events no rule matched; no other rule may take its name.
FALLBACK_RULE = "default"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]\Z"
# Web push or email for targets that are people (a user, a team, everyone in the project).
Via = Literal["push", "email"]


class Strict(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


class QuietHours(Strict):
    """A daily span (local time) during which non-critical notifications wait, then go out as one digest."""

    start: Annotated[str, msgspec.Meta(pattern=HHMM)]
    end: Annotated[str, msgspec.Meta(pattern=HHMM)]
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        time_zone(self.timezone, "quiet_hours.timezone")
        if self.start == self.end:
            raise ValueError("`quiet_hours.start` and `quiet_hours.end` must differ")

    def span(self) -> tuple[time, time]:
        return time.fromisoformat(self.start), time.fromisoformat(self.end)


class Match(Strict):
    """Every given condition must hold; an empty Match matches every event."""

    projects: list[Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]] = []
    channels: list[Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]] = []
    # The plugin or route that stored the event: "api", "stripe", "github", "heartbeat"...
    sources: list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]] = []
    min_severity: Severity | None = None
    # key -> glob (`*`, `?`, `[abc]`) on the tag's text ("true", "42", "pro*")
    tags: Annotated[
        dict[Annotated[str, msgspec.Meta(pattern=TAG_KEY_PATTERN)], Annotated[str, msgspec.Meta(max_length=256)]],
        msgspec.Meta(max_length=16),
    ] = {}
    # glob on the event's title
    event: Annotated[str, msgspec.Meta(min_length=1, max_length=250)] | None = None


class Target(Strict):
    """Exactly one of `team`, `user`, `email`, `slack`, `notifier` (with its `address`) or `everyone`."""

    team: Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)] | None = None
    user: Annotated[str, msgspec.Meta(min_length=3, max_length=254)] | None = None  # the user's email
    email: Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\Z", max_length=254)] | None = None
    slack: Annotated[str, msgspec.Meta(pattern=r"^https?://\S+\Z", max_length=2048)] | None = None
    # Any notifier a plugin registers, by its name, and what it sends to (its own kind of address).
    notifier: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{0,31}\Z")] | None = None
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)] | None = None
    everyone: bool = False
    via: Via = "push"

    def __post_init__(self) -> None:
        given = [n for n in ("team", "user", "email", "slack", "notifier") if getattr(self, n)] + (
            ["everyone"] if self.everyone else []
        )
        if len(given) != 1:
            raise ValueError("a target names exactly one of `team`, `user`, `email`, `slack`, `notifier` or `everyone`")
        if bool(self.notifier) != bool(self.address):
            raise ValueError("`notifier` and `address` go together: the plugin's notifier and where it sends")
        if self.user:
            if "@" not in self.user:
                raise ValueError("`user` names a hub user by their email (a user's id is not kept in rules)")
            self.user = self.user.lower()
        if self.team:
            self.team = self.team.lower()  # as teams are stored: the guard against deleting it compares them

    def describe(self) -> str:
        """What `routes test` shows (API and CLI): never a webhook URL's secret part, which the rule list hides."""
        if self.notifier:
            return f"{self.notifier} {shown_address(self.notifier, self.address or '')}"
        if self.slack:
            return "slack webhook"
        if self.email:
            return f"email {self.email}"
        if self.everyone:
            return f"everyone in the project ({self.via})"
        return f"{'team' if self.team else 'user'} {self.team or self.user} ({self.via})"


def unreachable_targets(targets: list[Target]) -> Iterator[tuple[str, str]]:
    """(field, problem) for each Slack webhook no request can be sent to (a port out of range, say).

    Checked where rules come in, the admin API and the config file, rather than in Target itself: a rule stored
    before this check must still load, or all its targets would stop notifying.
    """
    for index, target in enumerate(targets):
        if target.slack and (problem := url_problem(target.slack)):
            yield f"targets[{index}].slack", f"`slack` cannot be requested: {problem}"


class Rule(Strict, kw_only=True):
    name: Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
    match: Match = msgspec.field(default_factory=Match)
    targets: Annotated[list[Target], msgspec.Meta(min_length=1, max_length=MAX_TARGETS)]
    # Keep evaluating later rules after this one matched.
    continue_: bool = msgspec.field(default=False, name="continue")
    # Fields whose values make events "the same" for grouping: project, channel, event, source, severity,
    # user_id, or tags.<key>. With a window, the first matching event is sent at once and the later ones in its
    # window as one follow-up with a count (a window without `group_by` groups every event the rule matches).
    group_by: Annotated[list[str], msgspec.Meta(max_length=8)] = []
    group_window_seconds: Annotated[int, msgspec.Meta(ge=0, le=MAX_WINDOW_SECONDS)] = 0
    # An identical event (same project, channel, title, description, tags and severity) within this many seconds of
    # one already notified is dropped.
    dedupe_seconds: Annotated[int, msgspec.Meta(ge=0, le=MAX_WINDOW_SECONDS)] = 0
    # At most this many notifications per recipient (a push device, an address, a webhook) per
    # `rate_period_seconds` (0: no limit); the rest are recorded as suppressed. Critical events count, but pass.
    rate_limit: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 0
    rate_period_seconds: Annotated[int, msgspec.Meta(ge=1, le=MAX_WINDOW_SECONDS)] = 3600
    quiet_hours: QuietHours | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        for field in self.group_by:
            if field not in GROUP_FIELDS and not re.fullmatch(r"tags\.[a-z0-9_-]{1,64}", field):
                raise ValueError(f"`group_by` entries must be one of {', '.join(GROUP_FIELDS)} or tags.<key>")
