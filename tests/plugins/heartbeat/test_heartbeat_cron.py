"""Cron checks through the hub: pings expected at the right UTC instants across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub_plugins.heartbeat.scan import scan


def berlin(*parts: int) -> datetime:
    """A Berlin wall-clock time given as its UTC instant (tests spell out the offsets)."""
    return datetime(*parts, tzinfo=UTC)


async def test_weekday_job_across_the_october_change(client, hub, admin_headers, clock, create_check, stored_events):
    check = await create_check(cron="0 9 * * 1-5", tz="Europe/Berlin", grace=600)
    url = f"/api/v1/checks/{check['uuid']}"
    clock.set(berlin(2026, 10, 23, 7, 0, 20))  # Friday 09:00:20 CEST
    await client.get(f"/ping/{check['uuid']}")
    shown = (await client.get(url, headers=admin_headers)).json()
    assert shown["expected_at"] == "2026-10-26T08:00:00Z"  # Monday 09:00 CET, after the change on Sunday
    assert shown["down_at"] == "2026-10-26T08:10:00Z"

    clock.set(berlin(2026, 10, 26, 7, 59))  # the weekend and Monday's 08:59 CET: nothing expected yet
    assert await scan(hub.context) == 0
    assert (await client.get(url, headers=admin_headers)).json()["status"] == "up"
    clock.set(berlin(2026, 10, 26, 8, 5))
    assert (await client.get(url, headers=admin_headers)).json()["status"] == "late"
    clock.set(berlin(2026, 10, 26, 8, 10, 1))
    assert await scan(hub.context) == 1
    [missed] = await stored_events()
    assert missed["created_at"] == "2026-10-26T08:10:00Z"
    assert missed["content"]["expected_at"] == "2026-10-26T08:00:00Z"


async def test_a_job_at_a_skipped_time_is_expected_when_the_gap_ends(
    client, hub, admin_headers, clock, create_check, stored_events
):
    """02:30 does not exist in Berlin on 2026-03-29; Debian's cron runs the job at 03:00 CEST instead, so the hub
    expects it then: a job that ran is not flagged, one that did not is flagged a grace time later."""
    check = await create_check(cron="30 2 * * *", tz="Europe/Berlin", grace=900)
    url = f"/api/v1/checks/{check['uuid']}"
    clock.set(berlin(2026, 3, 28, 1, 30, 5))  # Saturday 02:30 CET
    await client.get(f"/ping/{check['uuid']}")
    assert (await client.get(url, headers=admin_headers)).json()["expected_at"] == "2026-03-29T01:00:00Z"
    clock.set(berlin(2026, 3, 29, 1, 0, 20))  # Sunday 03:00:20 CEST: the job ran when the clocks had jumped
    await client.get(f"/ping/{check['uuid']}")
    assert (await client.get(url, headers=admin_headers)).json()["expected_at"] == "2026-03-30T00:30:00Z"
    clock.set(berlin(2026, 3, 30, 0, 45, 1))  # Monday 02:45:01 CEST, no ping: missed
    assert await scan(hub.context) == 1
    [missed] = await stored_events()
    assert missed["content"]["expected_at"] == "2026-03-30T00:30:00Z"


async def test_a_job_that_did_not_run_when_the_gap_ended_is_flagged(
    client, hub, admin_headers, clock, create_check, stored_events
):
    check = await create_check(cron="30 2 * * *", tz="Europe/Berlin", grace=900)
    clock.set(berlin(2026, 3, 28, 1, 30, 5))
    await client.get(f"/ping/{check['uuid']}")
    clock.set(berlin(2026, 3, 29, 1, 14, 59))  # 03:14:59 CEST: the grace time is not over yet
    assert await scan(hub.context) == 0
    clock.set(berlin(2026, 3, 29, 1, 15, 1))
    assert await scan(hub.context) == 1
    [missed] = await stored_events()
    assert missed["content"]["expected_at"] == "2026-03-29T01:00:00Z"


async def test_a_job_pinging_through_the_repeated_hour_is_not_flagged(
    client, hub, admin_headers, clock, create_check, stored_events
):
    """Every 15 minutes through the night Berlin's clocks go back (03:00 CEST -> 02:00 CET at 01:00 UTC).

    A ping in the second 02:xx used to expect the first one's next quarter, already past, and the next scan
    flagged the job. The repeated times are expected once, at their first occurrence (see README), so a ping in
    the second copy of the hour expects 03:00 CET (02:00 UTC).
    """
    check = await create_check(cron="*/15 * * * *", tz="Europe/Berlin", grace=60)
    url = f"/api/v1/checks/{check['uuid']}"
    start = berlin(2026, 10, 24, 23)
    for minutes in range(0, 181, 5):
        clock.set(start + timedelta(minutes=minutes))
        assert await scan(hub.context) == 0, clock.now()
        if minutes % 15 == 0:
            assert (await client.get(f"/ping/{check['uuid']}")).text == "OK"
        if clock.now() == berlin(2026, 10, 25, 1):
            assert (await client.get(url, headers=admin_headers)).json()["expected_at"] == "2026-10-25T02:00:00Z"
    assert [e["event"] for e in await stored_events()] == []
