"""Two hub processes on one database scan and ping the same checks at the same moment: each outage is
reported once, with one `missed` and one `recovered` event per check."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

HUB_PROCESS = Path(__file__).with_name("hub_process.py")
CHECKS = 40
PROCESSES = 2


async def start_hub_process(database_url: str, scan_at: str, ping_at: str) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HUB_PROCESS),
        database_url,
        scan_at,
        ping_at,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    assert line == b"ready\n", line
    return process


async def release(processes: list[asyncio.subprocess.Process], line: bytes) -> list[dict]:
    """Send every process the line at once (they all wait for it), then read each one's JSON report."""
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(line)
    await asyncio.gather(*[p.stdin.drain() for p in processes if p.stdin is not None])
    reports = []
    for process in processes:
        assert process.stdout is not None
        reports.append(json.loads(await asyncio.wait_for(process.stdout.readline(), timeout=120)))
    return reports


async def test_two_hub_processes_report_each_outage_once(client, admin_headers, clock, settings, stored_events):
    checks = []
    for i in range(CHECKS):
        body = {"name": f"job {i}", "project": "ops", "period": 60, "grace": 30}
        checks.append((await client.post("/api/v1/checks", json=body, headers=admin_headers)).json())
    uuids = [check["uuid"] for check in checks]
    start = clock.now()
    for uuid in uuids:
        assert (await client.get(f"/ping/{uuid}")).text == "OK"

    scan_at, ping_at = (start + timedelta(seconds=s) for s in (91, 120))
    processes = [
        await start_hub_process(settings.database.url, scan_at.isoformat(), ping_at.isoformat())
        for _ in range(PROCESSES)
    ]
    scans = await release(processes, (json.dumps(uuids) + "\n").encode())
    assert sum(r["flipped"] for r in scans) == CHECKS  # every check flipped down by exactly one process
    pings = await release(processes, b"ping\n")
    assert all(r["found"] == CHECKS for r in pings)
    for process in processes:
        assert await asyncio.wait_for(process.wait(), timeout=60) == 0

    stored = await stored_events()
    kinds = Counter((e["content"]["check"], e["event"].rsplit(" ", 1)[1]) for e in stored)
    keys = [check["unique_key"] for check in checks]  # events name a check by its key, not its ping UUID
    assert kinds == Counter({(key, kind): 1 for key in keys for kind in ("missed", "recovered")})
    for event in stored:
        if event["event"].endswith("recovered"):
            assert event["content"]["outage_seconds"] == 30
        else:
            assert event["created_at"] == (start + timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    flips = (await client.get(f"/api/v1/checks/{uuids[0]}/flips", headers=admin_headers)).json()["items"]
    assert [(f["old_status"], f["new_status"]) for f in reversed(flips)] == [
        ("new", "up"),
        ("up", "down"),
        ("down", "up"),
    ]
