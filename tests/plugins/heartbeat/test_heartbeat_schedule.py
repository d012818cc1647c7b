"""Expected ping times: periods, cron in a time zone across DST changes, and cron's own rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hub_plugins.heartbeat.schedule import CronSchedule, ScheduleError, next_expected
from hypothesis import given
from hypothesis import strategies as st


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def runs(expression: str, tz: str, after: datetime, count: int) -> list[datetime]:
    schedule, found = CronSchedule(expression, tz), []
    for _ in range(count):
        after = schedule.next_after(after)
        found.append(after)
    return found


def test_weekdays_at_nine_in_berlin_across_the_october_2026_change():
    # Clocks go back on Sunday 2026-10-25 (CEST, UTC+2 -> CET, UTC+1).
    assert runs("0 9 * * 1-5", "Europe/Berlin", utc(2026, 10, 21, 7, 0, 5), 5) == [
        utc(2026, 10, 22, 7),  # Thursday 09:00 CEST
        utc(2026, 10, 23, 7),  # Friday 09:00 CEST
        utc(2026, 10, 26, 8),  # Monday 09:00 CET: no weekend run, an hour later in UTC
        utc(2026, 10, 27, 8),
        utc(2026, 10, 28, 8),
    ]


def test_a_time_skipped_by_spring_forward_is_expected_when_the_gap_ends():
    """2026-03-29 in Berlin goes from 02:00 straight to 03:00: there is no 02:30 that day. Debian's cron runs the
    job at 03:00, and Healthchecks expects it then; the hub expected nothing until Monday."""
    assert runs("30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 1, 30, 5), 3) == [
        utc(2026, 3, 29, 1),  # 03:00 CEST on Sunday
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST on Monday
        utc(2026, 3, 31, 0, 30),
    ]
    # Lord Howe Island goes from 02:00 to 02:30 (a half-hour change): 02:15 is expected at 02:30.
    assert runs("15 2 * * *", "Australia/Lord_Howe", utc(2026, 10, 2, 16), 2) == [
        utc(2026, 10, 3, 15, 30), utc(2026, 10, 4, 15, 15)
    ]  # fmt: skip


def test_a_skipped_time_of_a_job_run_every_so_often_is_not_expected():
    # `*` starts the minute field: the job runs every 20 minutes in that hour, and its next run is near.
    assert runs("*/20 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 1, 30, 5), 2) == [
        utc(2026, 3, 28, 1, 40), utc(2026, 3, 30, 0)
    ]  # fmt: skip


def test_a_skipped_day_is_not_made_up_for():
    # Samoa went from 2011-12-29 23:59 to 2011-12-31 00:00; Debian's cron runs nothing a jump of 3 hours or more
    # skipped.
    assert runs("0 12 * * *", "Pacific/Apia", utc(2011, 12, 29), 2) == [utc(2011, 12, 29, 22), utc(2011, 12, 30, 22)]
    # 23:00 on the 30th is an hour before the first time that exists: still not made up for (a 24-hour jump).
    assert runs("0 23 * * *", "Pacific/Apia", utc(2011, 12, 30, 8), 2) == [utc(2011, 12, 30, 9), utc(2011, 12, 31, 9)]


def test_a_day_field_that_never_matches_leaves_the_other_one():
    """`0 0 31 2 mon` runs on February's Mondays (there is no 31 February); APScheduler looked for that day up to
    the year 9999 on every call."""
    schedule = CronSchedule("0 0 31 2 mon", "UTC")
    assert len(schedule._triggers) == 1
    assert runs("0 0 31 2 mon", "UTC", utc(2026, 12, 1), 2) == [utc(2027, 2, 1), utc(2027, 2, 8)]


def test_a_time_repeated_by_fall_back_is_expected_once():
    # 2026-10-25 in Berlin has 02:30 twice; the job is expected at the first one only.
    assert runs("30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 0, 30, 5), 2) == [
        utc(2026, 10, 25, 0, 30),  # 02:30 CEST
        utc(2026, 10, 26, 1, 30),  # next day 02:30 CET, not 02:30 CET on the 25th
    ]


def test_a_ping_in_the_repeated_hour_expects_the_first_time_after_it():
    """01:00 UTC on 2026-10-25 is the second 02:00 in Berlin (CET). 02:15, 02:30 and 02:45 were expected at their
    first occurrence (00:15-00:45 UTC, before the ping), so the next one is 03:00 CET; it used to be 00:15 UTC."""
    ping = utc(2026, 10, 25, 1)
    assert next_expected(ping, period=None, cron="*/15 * * * *", tz="Europe/Berlin") == utc(2026, 10, 25, 2)
    assert next_expected(ping, period=None, cron="30 2 * * *", tz="Europe/Berlin") == utc(2026, 10, 26, 1, 30)


def test_day_of_week_numbers_are_cron_numbers():
    # 0 and 7 are Sunday; 1 is Monday (APScheduler's own numbering would make 1 a Tuesday).
    sunday, monday = utc(2026, 11, 22, 12), utc(2026, 11, 23, 12)
    assert runs("0 12 * * 0", "UTC", utc(2026, 11, 20), 1) == [sunday]
    assert runs("0 12 * * 7", "UTC", utc(2026, 11, 20), 1) == [sunday]
    assert runs("0 12 * * 1", "UTC", utc(2026, 11, 20), 1) == [monday]
    assert runs("0 12 * * sun-mon", "UTC", utc(2026, 11, 20), 2) == [sunday, monday]
    assert runs("0 12 * * 5-7", "UTC", utc(2026, 11, 20, 13), 2) == [utc(2026, 11, 21, 12), sunday]
    assert runs("0 12 * * 7-7", "UTC", utc(2026, 11, 20), 2) == [sunday, utc(2026, 11, 29, 12)]  # was every day
    assert runs("0 12 * * sat-7", "UTC", utc(2026, 11, 20), 2) == [utc(2026, 11, 21, 12), sunday]
    # A day with a step runs to the field's end (7), as a minute with a step does, and as cronsim reads it: it was
    # that day alone.
    assert runs("0 12 * * 5/2", "UTC", utc(2026, 11, 20, 13), 2) == [sunday, utc(2026, 11, 27, 12)]
    assert runs("0 12 * * 1/3", "UTC", utc(2026, 11, 20), 3) == [utc(2026, 11, 22, 12), monday, utc(2026, 11, 26, 12)]


def test_day_of_month_and_day_of_week_are_either_or():
    # Cron runs `0 0 13 * 5` on every 13th and on every Friday.
    assert runs("0 0 13 * 5", "UTC", utc(2026, 11, 1), 3) == [utc(2026, 11, 6), utc(2026, 11, 13), utc(2026, 11, 20)]


def test_last_day_and_days_by_their_place_in_the_month_as_healthchecks_reads_them():
    """`L`, `5#2` and `5L` (cronsim's extensions) were refused, so a crontab moved from Healthchecks failed."""
    assert runs("0 0 L * *", "UTC", utc(2027, 1, 15), 3) == [utc(2027, 1, 31), utc(2027, 2, 28), utc(2027, 3, 31)]
    assert runs("0 0 1,l * *", "UTC", utc(2027, 1, 15), 3) == [utc(2027, 1, 31), utc(2027, 2, 1), utc(2027, 2, 28)]
    # The first Monday; the second Friday, or any Sunday; the last Friday.
    assert runs("0 9 * * 1#1", "UTC", utc(2026, 12, 7, 12), 2) == [utc(2027, 1, 4, 9), utc(2027, 2, 1, 9)]
    assert runs("0 9 * * fri#2,SUN", "UTC", utc(2026, 12, 7), 3) == [
        utc(2026, 12, 11, 9), utc(2026, 12, 13, 9), utc(2026, 12, 20, 9)
    ]  # fmt: skip
    assert runs("0 9 * * 5L", "UTC", utc(2026, 12, 1), 2) == [utc(2026, 12, 25, 9), utc(2027, 1, 29, 9)]
    assert runs("0 9 * * 7l", "UTC", utc(2026, 12, 1), 1) == [utc(2026, 12, 27, 9)]
    # With a day of month too, either one is enough, as with any day of week.
    assert runs("0 9 15 * 1#1", "UTC", utc(2026, 12, 7, 12), 3) == [
        utc(2026, 12, 15, 9), utc(2027, 1, 4, 9), utc(2027, 1, 15, 9)
    ]  # fmt: skip
    # A fifth Monday in February: cronsim's own example.
    assert runs("0 0 * 2 MON#5", "UTC", utc(2026, 1, 1), 2) == [utc(2044, 2, 29), utc(2072, 2, 29)]
    # On the wall clock of the zone, as other expressions are.
    assert runs("30 8 * * 1#1", "Europe/Berlin", utc(2027, 6, 1), 1) == [utc(2027, 6, 7, 6, 30)]


def test_the_months_last_weekday_as_healthchecks_reads_it():
    """`LW` (cronsim 2.5): the last day of the month, or the Friday before it when it is a Saturday or Sunday."""
    assert runs("0 18 LW * *", "UTC", utc(2026, 1, 1), 4) == [
        utc(2026, 1, 30, 18), utc(2026, 2, 27, 18), utc(2026, 3, 31, 18), utc(2026, 4, 30, 18)
    ]  # fmt: skip
    assert runs("0 18 1,lw * *", "UTC", utc(2026, 1, 2), 2) == [utc(2026, 1, 30, 18), utc(2026, 2, 1, 18)]
    # With a day of week: either one (`1` is Monday), or both when one field starts with `*`.
    assert runs("0 18 LW * 1", "UTC", utc(2026, 1, 27), 3) == [
        utc(2026, 1, 30, 18), utc(2026, 2, 2, 18), utc(2026, 2, 9, 18)
    ]  # fmt: skip
    assert runs("0 18 LW * */2", "UTC", utc(2026, 1, 1), 2) == [utc(2026, 3, 31, 18), utc(2026, 4, 30, 18)]
    assert runs("0 9 LW * *", "Europe/Berlin", utc(2026, 5, 1), 1) == [utc(2026, 5, 29, 7)]


def test_aliases_and_intervals():
    assert runs("@daily", "UTC", utc(2026, 1, 1, 5), 1) == [utc(2026, 1, 2)]
    assert runs("*/15 * * * *", "UTC", utc(2026, 1, 1, 5, 15), 2) == [utc(2026, 1, 1, 5, 30), utc(2026, 1, 1, 5, 45)]
    assert next_expected(utc(2026, 1, 1), period=90, cron=None, tz="UTC") == utc(2026, 1, 1, 0, 1, 30)


@pytest.mark.parametrize(
    ("expression", "tz", "message"),
    [
        ("* * *", "UTC", "5 fields"),
        ("61 * * * *", "UTC", "59"),
        ("0 0 * * 8", "UTC", "day-of-week"),
        ("0 0 * * 5-1", "UTC", "runs backwards"),
        ("0 0 * * 7-1", "UTC", "runs backwards"),  # was Sunday and Monday; crontab refuses it
        ("0 0 30 2 *", "UTC", "never fires"),
        ("0 0 * * 1#6", "UTC", r"`1#6`: a day's place in the month \(after `#`\) is 1 to 5"),
        ("0 0 * * 1#0", "UTC", "is 1 to 5"),
        ("0 0 * * 8#1", "UTC", "`8#1` is not a valid day-of-week term"),
        ("0 0 * * 1#1-2", "UTC", "not a valid day-of-week term"),
        ("0 0 */2 * 1#1", "UTC", "takes day-of-month `\\*`"),
        # Both day fields would have to match (one starts with `*`): cron reads the 13th on every other weekday.
        ("0 0 13 * */2,5L", "UTC", "takes day-of-month `\\*`"),
        ("0 0 L * *,5L", "UTC", "takes day-of-month `\\*`"),
        ("0 0 LW/2 * *", "UTC", "invalid cron expression"),
        ("0 0 LW * */7", "UTC", "never fires"),  # the last weekday on a Sunday
        ("0 0 * * *", "Mars/Olympus", "IANA time zone"),
        # Files in the zoneinfo directory that ZoneInfo opens but that are no IANA zone: they used to be taken.
        ("0 0 * * *", "localtime", "IANA time zone"),
        ("0 0 * * *", "posixrules", "IANA time zone"),
        ("0 0 * * *", "posix/Europe/Berlin", "IANA time zone"),
        ("0 0 * * *", "Factory", "IANA time zone"),  # the zone of a device not set up yet: its clock shows "-00"
    ],
)
def test_bad_expressions_say_why(expression, tz, message):
    with pytest.raises(ScheduleError, match=message):
        CronSchedule(expression, tz)


@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
)
def test_next_run_is_later_within_two_days_and_on_the_wall_clock(minute, hour, start, tz):
    schedule = CronSchedule(f"{minute} {hour} * * *", tz)
    found = schedule.next_after(start)
    assert start < found <= start + timedelta(days=2, hours=1)
    local = found.astimezone(schedule.zone)
    if (local.hour, local.minute) != (hour, minute):  # only when clocks jumped over that time: at the jump
        wall = local.replace(hour=hour, minute=minute, tzinfo=None)
        assert wall < local.replace(tzinfo=None)
        assert wall.replace(tzinfo=schedule.zone).astimezone(UTC).astimezone(schedule.zone).replace(tzinfo=None) != wall
        assert (found - timedelta(minutes=1)).astimezone(schedule.zone).utcoffset() != local.utcoffset()


def test_weekdays_at_nine_in_berlin_across_the_march_2026_change():
    # Clocks go forward on Sunday 2026-03-29 (CET, UTC+1 -> CEST, UTC+2).
    assert runs("0 9 * * 1-5", "Europe/Berlin", utc(2026, 3, 26, 8, 0, 5), 4) == [
        utc(2026, 3, 27, 8),  # Friday 09:00 CET
        utc(2026, 3, 30, 7),  # Monday 09:00 CEST: an hour earlier in UTC
        utc(2026, 3, 31, 7),
        utc(2026, 4, 1, 7),
    ]
