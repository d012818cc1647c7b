"""Turning query parameters into an EventFilter, within what the caller's key may read."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec
from litestar import Request
from litestar.exceptions import PermissionDeniedException

from hub.auth import ApiKey
from hub.core import Hub
from hub.db.events import EventFilter, required_terms
from hub.models import (
    MAX_TAG_TEXT,
    MAX_TAGS,
    SEVERITIES,
    SLUG_PATTERN,
    SLUG_WORDS,
    TAG_KEY_PATTERN,
    ValidationProblem,
    unix_seconds,
)

TIME_FORMS = "Unix seconds or milliseconds, or RFC 3339 (without an offset, UTC)"
_UNIX_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


def parse_tags(tags: list[str] | None) -> list[tuple[str, str]]:
    """`key:value` pairs, split at the first colon (a value may hold more). A key or value no event can have is
    refused rather than answered with an empty page: `tag=Env name:prod` is a typo, not a question."""
    if len(tags or ()) > MAX_TAGS:
        raise ValidationProblem(f"at most {MAX_TAGS} `tag` filters (an event has at most {MAX_TAGS} tags)", "tag")
    pairs = []
    for item in tags or []:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise ValidationProblem("`tag` must look like key:value", "tag")
        if not re.fullmatch(TAG_KEY_PATTERN, key.lower()):
            raise ValidationProblem(f"`tag` keys are 1 to 64 characters of [a-z0-9_-]: {key!r} is not", "tag")
        if len(value) > MAX_TAG_TEXT:
            raise ValidationProblem(f"`tag` values are at most {MAX_TAG_TEXT:,} characters", "tag")
        pairs.append((key.lower(), value))
    return pairs


SEVERITY_FILTER = (
    "comma-separated: info,warning,critical; without `info`, events inside contexts are listed too (a failed step)"
)


def parse_severity(severity: str | None) -> list[str]:
    chosen = [s.strip() for s in (severity or "").split(",") if s.strip()]
    for s in chosen:
        if s not in SEVERITIES:
            raise ValidationProblem(f"`severity` must be one of {', '.join(SEVERITIES)}", "severity")
    return chosen


def check_slug(value: str | None, name: str) -> None:
    """A project or channel that no event can have is a mistake to report, not an empty page."""
    if value and not re.fullmatch(SLUG_PATTERN, value):  # empty: no filter, as before
        raise ValidationProblem(f"`{name}` must be a slug: {SLUG_WORDS}", name)


async def visible_projects(hub: Hub, key: ApiKey, project: str | None) -> list[int] | None:
    """Project ids the caller may read and asked for; None means every project."""
    check_slug(project, "project")
    if key.project and project and project.lower() != key.project:
        raise PermissionDeniedException(
            f"this API key may only read project `{key.project}`", extra={"field": "project"}
        )
    wanted = key.project or (project.lower() if project else None)
    if wanted is None:
        return None if key.project_ids is None else sorted(key.project_ids) or [-1]
    async with hub.db.reader.connect() as conn:
        project_id = await hub.projects.lookup(conn, wanted)
    if project_id is None and key.project_ids is None:
        return [-1]  # an empty page; a stream waits for the project's first event
    if project_id is None or not key.sees(project_id):
        # Alike for a project that does not exist, so a member cannot tell which names are taken.
        raise PermissionDeniedException(f"you are not a member of project `{wanted}`")
    return [project_id]


def refuse_unknown(request: Request, known: tuple[str, ...], repeatable: tuple[str, ...] = ("tag",)) -> None:
    """A misspelt parameter (`tags=`, `severty=`) would otherwise be ignored, and the whole feed answer it; one
    given twice (`severity=warning&severity=critical`) would answer for its last value alone. `repeatable`: those
    that may be given more than once (every `tag` filter must match)."""
    for name in request.query_params:
        if name not in known:
            raise ValidationProblem(f"`{name}` is not a parameter here; the ones taken are {', '.join(known)}", name)
        if name not in repeatable and len(request.query_params.getall(name)) > 1:
            hint = " (list severities as `severity=warning,critical`)" if name == "severity" else ""
            raise ValidationProblem(f"`{name}` is given more than once; it takes one value{hint}", name)


def query_time(value: str | None, name: str) -> datetime | None:
    """A time in the query, read as an event's `timestamp` is: a client that sends `Date.now()` (milliseconds) finds
    what it asked for, and anything else is refused naming the forms taken."""
    if value is None:
        return None
    try:
        if _UNIX_NUMBER.fullmatch(value):
            return datetime.fromtimestamp(unix_seconds(float(value)), UTC)
        return as_utc(msgspec.convert(value, datetime))
    except (OverflowError, ValueError, OSError):  # msgspec's ValidationError is a ValueError
        example = "such as 2026-01-15T09:00:00Z"
        raise ValidationProblem(f"`{name}` must be {TIME_FORMS} within years 1 to 9999, {example}", name) from None


def as_utc(value: datetime | None) -> datetime | None:
    """The time in UTC; one given without an offset is UTC, as an event's `timestamp` is. A time that lies past
    the ends of the calendar in UTC (9999-12-31T23:00-05:00) stands for that end: every event lies within."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
    except OverflowError:
        return (datetime.max if value.year == datetime.max.year else datetime.min).replace(tzinfo=UTC)


async def build_filter(
    hub: Hub,
    key: ApiKey,
    *,
    project: str | None,
    channel: str | None,
    tag: list[str] | None,
    user_id: str | None,
    severity: str | None,
    since: str | None,
    until: str | None,
    test: bool,
    q: str | None,
) -> EventFilter:
    check_slug(channel, "channel")
    since_time, until_time = query_time(since, "since"), query_time(until, "until")
    if since_time and until_time and since_time >= until_time:
        raise ValidationProblem("`until` must be later than `since`", "until")
    if q:
        required_terms(q)
    return EventFilter(
        project_ids=await visible_projects(hub, key, project),
        project=key.project or (project.lower() if project else None),
        visible=await hub.context.projects_of(key),
        channel=channel.lower() if channel else None,
        tags=parse_tags(tag),
        user_id=user_id,
        severity=parse_severity(severity),
        since=since_time,
        until=until_time,
        test=test,
        q=q or None,
    )
