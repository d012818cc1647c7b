"""When a check's next ping is expected: after a fixed period, or at the next cron instant in its time zone.

Cron instants are found on the check's wall clock, then placed in its zone and converted to UTC. A wall time
that does not exist that day (the hour skipped when clocks go forward) is expected when the gap ends (03:00
for 02:30 in Berlin) for a job at set times, which Debian's cron runs then (after a jump shorter than three
hours), as Healthchecks expects it; for a job every so many minutes or hours (`*` starts its minute or hour
field) it is not expected, the job's next time being near. A wall time that happens twice (clocks go back) is
expected once, at its first occurrence, so a ping during the repeated hour expects the first cron time after it.

APScheduler 3.x's cron fields do the calendar arithmetic, but its `from_crontab` reads day-of-week numbers
Monday-based (crontab's `1-5` would mean Tuesday to Saturday), and it ANDs day-of-month with day-of-week where
cron ORs them; both are translated here, as are the extensions Healthchecks reads: `L` in day-of-month (the
month's last day) and, in day-of-week, `5#2` (the month's second Friday) and `5L` (its last Friday). `LW` (the
month's last weekday), which APScheduler has no word for, is its days 26 to 31 kept to the one that is.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from hub.pluginapi import time_zone

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DOW_TERM = re.compile(r"^(\*|[0-7a-z]{1,3}(?:-[0-7a-z]{1,3})?)(?:/(\d{1,2}))?\Z")
# A day of week by its place in the month: `5#2` or `fri#2` (the second Friday), `5l` (the last Friday).
_DOW_PLACE = re.compile(r"^([0-7]|[a-z]{3})(?:#(\d{1,2})|l)\Z")
# APScheduler's day-of-month words for those places (`2nd fri`, `last fri`); its day names are cron's.
_ORDINALS = ("1st", "2nd", "3rd", "4th", "5th")
# Far enough to reach any valid expression's next instant (`0 0 29 2 *` needs up to eight years).
_MAX_STEPS = 500
# Months' last weekdays repeat with the calendar: a part with `LW` that finds none in 30 years has none.
_LAST_WEEKDAY_SEARCH = timedelta(days=366 * 30)
# Debian's cron runs the jobs a jump of the clock skipped when the jump is shorter than this (a DST change), and
# not after a longer one (Samoa skipped a day in 2011).
_MAX_GAP = timedelta(hours=3)


class ScheduleError(ValueError):
    """A cron expression or time zone that cannot be used; the message says which rule it breaks."""


def zone(name: str) -> ZoneInfo:
    """The hub's one rule for time zones: an IANA name (`posixrules`, `localtime` and the like are refused)."""
    try:
        return time_zone(name, "tz")
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None


def _day_number(text: str) -> int:
    """0-7 as written (7 is mapped to Sunday only once a range is expanded, so `7-7` is not `0-7`), names 0-6."""
    if text.isdigit():
        number = int(text)
        if number > 7:
            raise ScheduleError(f"day of week {number} is out of range 0-7")
        return number
    if text not in DAY_NAMES:
        raise ScheduleError(f"`{text}` is not a day of week (0-7 or sun-sat)")
    return DAY_NAMES.index(text)


def _days_of_week(field: str) -> tuple[list[int], list[str]]:
    """Cron's day-of-week field as Sunday-based day numbers (0 and 7 both Sunday), and its days named by their
    place in the month (`5#2`, `5L`) as APScheduler's day-of-month expressions (`2nd fri`, `last fri`)."""
    days: set[int] = set()
    places: list[str] = []
    for term in field.lower().split(","):
        if place := _DOW_PLACE.match(term):
            name = DAY_NAMES[_day_number(place.group(1)) % 7]
            if (nth := place.group(2)) is None:
                places.append(f"last {name}")
            elif 1 <= int(nth) <= len(_ORDINALS):
                places.append(f"{_ORDINALS[int(nth) - 1]} {name}")
            else:
                raise ScheduleError(f"`{term}`: a day's place in the month (after `#`) is 1 to 5")
            continue
        match = _DOW_TERM.match(term)
        if not match:
            raise ScheduleError(f"`{term}` is not a valid day-of-week term")
        span, step = match.group(1), int(match.group(2) or 1)
        if step < 1:
            raise ScheduleError("a step must be at least 1")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            start, end = span.split("-")
            first, last = _day_number(start), _day_number(end)  # `5-7` is Friday to Sunday
            if first > last:
                raise ScheduleError(f"day-of-week range `{span}` runs backwards")
        else:
            # With a step, a day runs to the field's end as in the minute field: `5/2` is Friday and Sunday (7).
            first = _day_number(span)
            last = 7 if match.group(2) else first
        days.update(d % 7 for d in range(first, last + 1, step))
    return sorted(days), places


def _days_of_month(field: str) -> tuple[str, bool]:
    """Cron's day-of-month field in APScheduler's words (`L`, the month's last day, is its `last`) but for `LW`,
    the month's last weekday, which it has no word for; and whether `LW` was there."""
    terms = field.split(",")
    spec = ["last" if term.lower() == "l" else term for term in terms if term.lower() != "lw"]
    return ",".join(spec), len(spec) < len(terms)


class _Trigger(Protocol):
    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None: ...


class _LastWeekday:
    """The times of `within` (a trigger on days 26 to 31, where a month's last weekday always is) that fall on
    the month's last weekday (Monday to Friday)."""

    def __init__(self, within: CronTrigger) -> None:
        self.within = within

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        start = now
        while (found := self.within.get_next_fire_time(previous_fire_time, now)) is not None:
            if found - start > _LAST_WEEKDAY_SEARCH:
                return None
            if found.date() == _last_weekday(found.year, found.month):
                return found
            now = datetime.combine(found.date() + timedelta(days=1), time(), tzinfo=found.tzinfo)
        return None


def _last_weekday(year: int, month: int) -> date:
    day = date(year, month, calendar.monthrange(year, month)[1])
    return day - timedelta(days=max(0, day.weekday() - 4))  # Saturday back 1, Sunday back 2


def _triggers(minute: str, hour: str, day: str, month: str, weekday: str) -> list[_Trigger]:
    """The triggers whose union is the expression, on a wall clock without DST (UTC)."""
    days, places = _days_of_week(weekday)
    names = ",".join(DAY_NAMES[d] for d in days)
    month_days, last_weekday = _days_of_month(day)
    # Cron fires when either the day of month or the day of week matches, once both are restricted (a field that
    # starts with `*` is not); otherwise both must match.
    either = not day.startswith("*") and not weekday.startswith("*")
    if places and not either and day != "*":
        # Both would have to match, and one APScheduler field cannot say both.
        raise ScheduleError(
            "a day of week by its place in the month (`5#2`, `5L`) takes day-of-month `*`, or one that either "
            "day field matching is enough for (neither field starting with `*`)"
        )

    def at(days_of_month: str, days_of_week: str) -> CronTrigger:
        return CronTrigger(
            minute=minute, hour=hour, day=days_of_month, month=month, day_of_week=days_of_week, timezone=UTC
        )

    triggers: list[_Trigger] = []
    if either and month_days:
        triggers.append(at(month_days, "*"))
    if names and (either or month_days):
        triggers.append(at("*" if either else month_days, names))
    if places:
        triggers.append(at(",".join(places), "*"))
    if last_weekday:
        triggers.append(_LastWeekday(at("26-31", "*" if either else names or "*")))
    return triggers


class CronSchedule:
    """A parsed five-field cron expression evaluated in one time zone."""

    def __init__(self, expression: str, tz: str = "UTC") -> None:
        self.expression = expression
        self.zone = zone(tz)
        fields = ALIASES.get(expression.strip().lower(), expression).split()
        if len(fields) != 5:
            raise ScheduleError(f"a cron expression has 5 fields (minute hour day month weekday), not {len(fields)}")
        minute, hour, day, month, weekday = fields
        self._at_set_times = not minute.startswith("*") and not hour.startswith("*")
        try:
            triggers = _triggers(minute, hour, day, month, weekday)
        except ScheduleError:
            raise
        except ValueError as exc:  # APScheduler's, for a field it cannot read
            raise ScheduleError(f"invalid cron expression: {exc}") from None
        # A part that never fires (`31 2` of `0 0 31 2 mon`) is dropped: APScheduler would look for it up to the
        # year 9999 on every call, 0.1 s each.
        self._triggers = [t for t in triggers if t.get_next_fire_time(None, datetime(2000, 1, 1, tzinfo=UTC))]
        if not self._triggers:
            raise ScheduleError("the cron expression never fires")

    def _next_wall(self, wall: datetime) -> datetime | None:
        """The first matching wall-clock time at or after `wall` (naive; computed as if in UTC, which has no DST)."""
        start = wall.replace(tzinfo=UTC)
        times = [t.get_next_fire_time(None, start) for t in self._triggers]
        found = [t for t in times if t is not None]
        return min(found).replace(tzinfo=None) if found else None

    def next_after(self, moment: datetime) -> datetime:
        """The first instant strictly after `moment` (aware) at which the job should run, in UTC."""
        wall = moment.astimezone(self.zone).replace(tzinfo=None, microsecond=0) + timedelta(seconds=1)
        for _ in range(_MAX_STEPS):
            candidate = self._next_wall(wall)
            if candidate is None:
                break
            # Not expected when its first occurrence is not after `moment` (a ping in the second copy of the hour
            # clocks went back), nor when it is skipped today and the job runs every so many minutes or hours.
            instant = self._instant(candidate)
            if instant is not None and instant > moment:
                return instant
            wall = candidate + timedelta(minutes=1)
        raise ScheduleError(f"`{self.expression}` has no next run after {moment.isoformat()}")

    def _instant(self, wall: datetime) -> datetime | None:
        """When `wall` happens in the zone, in UTC: its first occurrence (fold=0) when it happens twice; the end
        of the gap when clocks jump less than three hours over it, for a job at set times; else None."""
        instant = wall.replace(tzinfo=self.zone).astimezone(UTC)
        if instant.astimezone(self.zone).replace(tzinfo=None) == wall:
            return instant
        jump = self.zone.utcoffset(wall.replace(fold=1)) - self.zone.utcoffset(wall.replace(fold=0))
        if not self._at_set_times or jump >= _MAX_GAP:
            return None
        # The gap's end is the first whole minute after `wall` that exists (gaps start and end on one).
        end = wall + jump
        while wall < end:
            wall += timedelta(minutes=1)
            instant = wall.replace(tzinfo=self.zone).astimezone(UTC)
            if instant.astimezone(self.zone).replace(tzinfo=None) == wall:
                return instant
        return None


def validate(cron: str | None, tz: str) -> None:
    """Raise ScheduleError when the cron expression or the zone is unusable."""
    if cron is None:
        zone(tz)
    else:
        cron_schedule(cron, tz)


def next_expected(last: datetime, *, period: int | None, cron: str | None, tz: str) -> datetime:
    """When the ping after one received at `last` is due: `last + period`, or the next cron instant."""
    if cron is None:
        if period is None:
            raise ScheduleError("a check needs either a period or a cron expression")
        return last + timedelta(seconds=period)
    return cron_schedule(cron, tz).next_after(last)


@lru_cache(maxsize=4096)
def cron_schedule(expression: str, tz: str) -> CronSchedule:
    """Parsed schedules are reused: the scan and the ping path ask for the same few expressions again and again."""
    return CronSchedule(expression, tz)
