"""The state machine and the ping URL grammar, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hub_plugins.heartbeat.pings import BadPing, parse_path
from hub_plugins.heartbeat.states import CheckState, Schedule, apply_ping, due_flip, pause, resume

T = datetime(2026, 11, 23, 12, tzinfo=UTC)
EVERY_MINUTE = Schedule(period=60, grace=30)
UUID = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_success_sets_deadlines_and_scan_flips_at_the_deadline():
    state, outcome = apply_ping(CheckState(), EVERY_MINUTE, "success", None, T)
    assert outcome.flip is not None and (outcome.flip.old, outcome.flip.new) == ("new", "up")
    assert (state.expected_at, state.alert_after) == (at(60), at(90))
    assert [state.status_at(at(s)) for s in (59, 60, 89)] == ["up", "late", "late"]
    assert due_flip(state, EVERY_MINUTE, at(89)) is None
    flip = due_flip(state, EVERY_MINUTE, at(500))
    assert flip is not None and (flip.new, flip.at, flip.reason) == ("down", at(90), "missed")


def test_recovery_reports_the_outage():
    down = CheckState(status="down", last_ping_at=T, down_since=at(90))
    state, outcome = apply_ping(down, EVERY_MINUTE, "success", None, at(120))
    assert state.status == "up"
    assert outcome.recovered_after == timedelta(seconds=30)
    _, second = apply_ping(state, EVERY_MINUTE, "success", None, at(130))
    assert second.recovered_after is None and second.flip is None


def test_fail_goes_down_at_once_and_alerts_once_until_the_check_is_up_again():
    up, _ = apply_ping(CheckState(), EVERY_MINUTE, "success", None, T)
    state, outcome = apply_ping(up, EVERY_MINUTE, "fail", None, at(10))
    assert (state.status, state.down_since, state.alert_after) == ("down", at(10), None)
    assert outcome.failed and outcome.flip is not None and outcome.flip.reason == "fail"
    _, again = apply_ping(state, EVERY_MINUTE, "fail", None, at(20))
    assert not again.failed and again.flip is None  # already down: no second alert, as in Healthchecks
    paused, _ = pause(up, at(30))
    _, from_paused = apply_ping(paused, EVERY_MINUTE, "fail", None, at(40))
    assert from_paused.failed and from_paused.flip is not None and from_paused.flip.old == "paused"


def test_start_and_finish_pair_by_rid_and_give_the_duration():
    up, _ = apply_ping(CheckState(), EVERY_MINUTE, "success", None, T)
    running, _ = apply_ping(up, EVERY_MINUTE, "start", "r1", at(40))
    assert running.running and running.alert_after == at(70)  # start + grace comes before expected + grace
    other, outcome = apply_ping(running, EVERY_MINUTE, "success", "r2", at(45))
    assert outcome.duration is None and other.running  # a different run finished; r1 still runs
    done, outcome = apply_ping(running, EVERY_MINUTE, "success", "r1", at(55))
    assert outcome.duration == timedelta(seconds=15) and not done.running


def test_a_finish_without_the_starts_rid_ends_the_run_as_in_healthchecks():
    up, _ = apply_ping(CheckState(), EVERY_MINUTE, "success", None, T)
    running, _ = apply_ping(up, EVERY_MINUTE, "start", "r1", at(40))
    done, outcome = apply_ping(running, EVERY_MINUTE, "success", None, at(50))
    assert not done.running and outcome.duration is None and done.alert_after == at(50 + 90)
    failed, outcome = apply_ping(running, EVERY_MINUTE, "fail", "r2", at(50))  # a failure ends it whatever its rid
    assert not failed.running and failed.status == "down"


def test_a_run_that_never_finishes_goes_down_as_run_timeout():
    running, _ = apply_ping(CheckState(), EVERY_MINUTE, "start", None, T)
    assert running.status == "new" and running.alert_after == at(30)
    flip = due_flip(running, EVERY_MINUTE, at(31))
    assert flip is not None and (flip.old, flip.new, flip.reason, flip.at) == ("new", "down", "run_timeout", at(30))


def test_log_pings_change_nothing():
    up, _ = apply_ping(CheckState(), EVERY_MINUTE, "success", None, T)
    state, outcome = apply_ping(up, EVERY_MINUTE, "log", None, at(50))
    assert state == up and outcome.flip is None and not outcome.failed


def test_pause_silences_and_a_ping_resumes():
    up, _ = apply_ping(CheckState(), EVERY_MINUTE, "success", None, T)
    paused, flip = pause(up, at(1))
    assert flip is not None and paused.alert_after is None and due_flip(paused, EVERY_MINUTE, at(10_000)) is None
    started, _ = apply_ping(paused, EVERY_MINUTE, "start", None, at(2))
    # A run started while paused must finish in time, as in Healthchecks (it stayed "running" for good).
    assert started.alert_after == at(32)
    flip = due_flip(started, EVERY_MINUTE, at(33))
    assert flip is not None and (flip.old, flip.new, flip.reason, flip.at) == ("paused", "down", "run_timeout", at(32))
    back, outcome = apply_ping(paused, EVERY_MINUTE, "success", None, at(3))
    assert back.status == "up" and outcome.flip is not None and outcome.flip.old == "paused"
    resumed, flip = resume(paused, at(4))
    assert resumed.status == "new" and flip is not None
    assert resume(up, at(5)) == (up, None)


def test_a_check_paused_with_manual_resume_ignores_pings():
    schedule = Schedule(period=60, grace=30, manual_resume=True)
    paused, _ = pause(apply_ping(CheckState(), schedule, "success", None, T)[0], at(1))
    for action in ("success", "fail", "start", "log"):
        state, outcome = apply_ping(paused, schedule, action, None, at(2))
        assert state == paused and outcome.ignored and outcome.flip is None and not outcome.failed
    up, outcome = apply_ping(resume(paused, at(3))[0], schedule, "success", None, at(4))
    assert up.status == "up" and not outcome.ignored


def test_cron_deadline_uses_the_schedule():
    weekdays = Schedule(cron="0 9 * * 1-5", tz="Europe/Berlin", grace=600)
    friday_ping = datetime(2026, 10, 23, 7, 0, 30, tzinfo=UTC)
    state, _ = apply_ping(CheckState(), weekdays, "success", None, friday_ping)
    assert state.expected_at == datetime(2026, 10, 26, 8, tzinfo=UTC)
    assert state.alert_after == datetime(2026, 10, 26, 8, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ([UUID], (UUID, None, None, "success", None)),
        ([UUID.upper()], (UUID, None, None, "success", None)),
        ([UUID, "start"], (UUID, None, None, "start", None)),
        ([UUID, "fail"], (UUID, None, None, "fail", None)),
        ([UUID, "log"], (UUID, None, None, "log", None)),
        ([UUID, "0"], (UUID, None, None, "success", 0)),
        ([UUID, "1"], (UUID, None, None, "fail", 1)),
        ([UUID, "255"], (UUID, None, None, "fail", 255)),
        ([UUID, "0007"], (UUID, None, None, "fail", 7)),
        (["key", "db-backup"], (None, "key", "db-backup", "success", None)),
        (["key", "db-backup", "start"], (None, "key", "db-backup", "start", None)),
        (["key", "db-backup", "3"], (None, "key", "db-backup", "fail", 3)),
    ],
)
def test_ping_paths(path, expected):
    target = parse_path(path)
    assert (target.uuid, target.ping_key, target.slug, target.action, target.exit_status) == expected


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ([UUID, "256"], 400, "invalid url format"),
        (["key", "slug", "999"], 400, "invalid url format"),
        ([UUID, "0256"], 400, "invalid url format"),
        ([UUID, "9" * 5000], 400, "invalid url format"),  # int() refuses more than 4300 digits: it was a 500
        ([UUID, "²"], 404, "not found"),  # str.isdigit() is true for it, int() refuses it: it was a 500
        ([UUID, "٣"], 404, "not found"),  # Arabic-Indic 3, which int() reads as 3: it was exit status 3
        ([UUID, "stop"], 404, "not found"),
        (["not-a-uuid"], 404, "not found"),
        (["key", "Bad Slug"], 404, "not found"),
        (["a\x00b", "slug"], 404, "not found"),
        (["key.with.dots", "slug"], 404, "not found"),
        (["k" * 33, "slug"], 404, "not found"),
    ],
)
def test_bad_ping_paths(path, status, text):
    with pytest.raises(BadPing) as caught:
        parse_path(path)
    assert (caught.value.status, caught.value.text) == (status, text)
