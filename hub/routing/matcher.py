"""Does a rule match an event, and why (or why not): the reasons feed `hub routes test`."""

from __future__ import annotations

from fnmatch import fnmatchcase

from hub.models import EventOut, severity_rank, tag_text
from hub.routing.rules import Match


def explain(match: Match, event: EventOut) -> tuple[bool, list[str]]:
    """Every condition checked in order; the first one that fails decides, with its reason."""
    reasons: list[str] = []

    def check(ok: bool, yes: str, no: str) -> bool:
        reasons.append(yes if ok else no)
        return ok

    if match.projects and not check(
        event.project in {p.lower() for p in match.projects},
        f"project {event.project} is listed",
        f"project {event.project} is not one of {', '.join(match.projects)}",
    ):
        return False, reasons
    if match.channels and not check(
        event.channel in {c.lower() for c in match.channels},
        f"channel {event.channel} is listed",
        f"channel {event.channel} is not one of {', '.join(match.channels)}",
    ):
        return False, reasons
    if match.sources and not check(
        event.source.lower() in {s.lower() for s in match.sources},
        f"source {event.source} is listed",
        f"source {event.source} is not one of {', '.join(match.sources)}",
    ):
        return False, reasons
    if match.min_severity and not check(
        severity_rank(event.severity) >= severity_rank(match.min_severity),
        f"severity {event.severity} is at least {match.min_severity}",
        f"severity {event.severity} is below {match.min_severity}",
    ):
        return False, reasons
    for key, pattern in match.tags.items():
        value = tag_text(event.tags[key]) if key in event.tags else None
        if not check(
            value is not None and fnmatchcase(value, pattern),
            f"tag {key}={value} matches {pattern}",
            f"tag {key} is missing" if value is None else f"tag {key}={value} does not match {pattern}",
        ):
            return False, reasons
    if match.event and not check(
        fnmatchcase(event.event, match.event),
        f"event {event.event!r} matches {match.event!r}",
        f"event {event.event!r} does not match {match.event!r}",
    ):
        return False, reasons
    if not reasons:
        reasons.append("the rule has no conditions")
    return True, reasons


def matches(match: Match, event: EventOut) -> bool:
    return explain(match, event)[0]
