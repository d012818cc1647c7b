"""Grouping keys, duplicate fingerprints and quiet hours: the per-rule decisions made at routing time."""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import msgspec

from hub.models import EventOut, tag_text

MAX_GROUP_KEY = 512


def group_key(fields: list[str], event: EventOut) -> str:
    """`field=value` pairs joined by `|`; long keys are hashed to fit the column."""
    parts = []
    for field in fields:
        if field.startswith("tags."):
            name = field[5:]
            value = tag_text(event.tags[name]) if name in event.tags else ""
        else:
            value = str(getattr(event, field) or "")
        parts.append(f"{field}={value}")
    key = "|".join(parts)
    if len(key) > MAX_GROUP_KEY:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def fingerprint(event: EventOut) -> str:
    """Identical events share it: same project, channel, title, description, tags and severity (a warning turning
    critical is news, not a repeat)."""
    body = msgspec.json.encode(
        [event.project, event.channel, event.event, event.description, sorted(event.tags.items()), event.severity]
    )
    return hashlib.sha256(body).hexdigest()


def quiet_until(start: str, end: str, zone: str, now: datetime) -> datetime | None:
    """When the quiet span containing `now` ends (UTC), or None when `now` is outside it.

    Spans may cross midnight (22:00-07:00). Computed in the zone's local time, so daylight saving shifts
    move the end with the wall clock; an end inside the hour skipped when clocks go forward is reached an hour
    later by the wall clock's count (02:30 on that night ends at 03:30).
    """
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    start_t, end_t = time.fromisoformat(start), time.fromisoformat(end)
    here = local.time()
    if start_t < end_t:
        inside = start_t <= here < end_t
        end_day = local.date()
    else:
        inside = here >= start_t or here < end_t
        end_day = local.date() + timedelta(days=1) if here >= start_t else local.date()
    if not inside:
        return None
    end = datetime.combine(end_day, end_t, tzinfo=tz)
    if end <= now:
        # The hour repeated when clocks go back: `now` is in its second pass, and so is the end.
        end = end.replace(fold=1)
    return end.astimezone(now.tzinfo)
