"""The outbox across real operating-system processes, on SQLite and PostgreSQL: two hub processes draining one
outbox deliver each notification once; a hub process killed (SIGKILL) mid-delivery loses nothing, and after a
restart only the deliveries of the round in flight when it died are sent again, with the same delivery id."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from peers import LoopbackServer, Received

WORKER = """
import asyncio, os, sys
from hub.config import load_settings
from hub.core import Hub

async def main():
    hub = Hub(load_settings(environ=dict(os.environ)))
    await hub.start(run_migrations=False, run_jobs=False)
    print("ready", flush=True)
    idle, limit = 0, float(sys.argv[1])
    while idle < limit:
        n = await hub.outbox.run_once()
        idle = 0 if n else idle + 1
        await asyncio.sleep(0.05)
    await hub.stop()

asyncio.run(main())
"""

TOTAL = 40


@pytest.fixture
def settings_overrides():
    return {"HUB_OUTBOUND_ALLOW": '["127.0.0.1"]', "HUB_PLUGINS": "{slack = {min_interval_seconds = 0}}"}


def spawn(settings, idle_rounds: float, **env: str) -> subprocess.Popen[str]:
    environ = {
        **os.environ,
        "HUB_CONFIG": "",
        "HUB_DATABASE_URL": settings.database.url,
        "HUB_OUTBOUND_ALLOW": '["127.0.0.1"]',
        "HUB_PLUGINS": "{slack = {min_interval_seconds = 0}}",
        "HUB_SERVER_RUN_JOBS": "false",
        "HUB_DELIVERY_BATCH_SIZE": "4",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(idle_rounds)],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


async def seed(client, headers, url: str) -> list[str]:
    rule = {"name": "to-slack", "targets": [{"slack": url}]}
    assert (await client.put("/api/v1/routes/to-slack", json=rule, headers=headers)).status_code == 200
    events = [{"project": "shop", "event": f"e{i}"} for i in range(TOTAL)]
    response = await client.post("/api/v1/events/batch", json={"events": events}, headers=headers)
    assert response.status_code in (200, 201), response.text
    return [d["id"] for d in await all_deliveries(client, headers)]


async def all_deliveries(client, headers) -> list[dict]:
    response = await client.get("/api/v1/deliveries", params={"limit": 200}, headers=headers)
    return response.json()["items"]


async def wait(proc: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the worker process did not finish"
        await asyncio.sleep(0.1)


async def test_two_hub_processes_deliver_each_notification_once(client, admin_headers, settings):
    seen: list[str] = []
    lock = threading.Lock()

    def handler(received: Received):
        time.sleep(0.01)  # slow enough that both processes have work at once
        with lock:
            seen.append(received.headers["x-hub-delivery"])
        return 200, {}, b"ok"

    with LoopbackServer(handler) as server:
        ids = await seed(client, admin_headers, server.url + "/hook")
        assert len(ids) == TOTAL
        a, b = spawn(settings, 10), spawn(settings, 10)
        await wait(a)
        await wait(b)
    assert a.returncode == 0 and b.returncode == 0
    assert sorted(seen) == sorted(ids)  # every one, none twice
    assert {d["state"] for d in await all_deliveries(client, admin_headers)} == {"delivered"}


async def test_a_killed_process_loses_nothing_and_a_restart_resends_only_what_was_in_flight(
    client, admin_headers, settings
):
    seen: list[str] = []
    lock = threading.Lock()
    stuck, release = threading.Event(), threading.Event()

    def handler(received: Received):
        delivery = received.headers["x-hub-delivery"]
        with lock:
            seen.append(delivery)
            count = len(seen)
        if count == 6:  # the sixth request hangs: the process is killed while it waits for the answer
            stuck.set()
            release.wait(30)
        return 200, {}, b"ok"

    with LoopbackServer(handler) as server:
        ids = await seed(client, admin_headers, server.url + "/hook")
        doomed = spawn(settings, 1000, HUB_DELIVERY_LEASE_SECONDS="10")
        assert await asyncio.to_thread(stuck.wait, 60)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        release.set()
        in_flight = [d["id"] for d in await all_deliveries(client, admin_headers) if d["state"] == "sending"]
        assert 1 <= len(in_flight) <= 4  # at most the claimed batch
        # A restart resumes: pending rows at once, the dead process's claimed rows when their lease runs out.
        restarted = spawn(settings, 300, HUB_DELIVERY_LEASE_SECONDS="10")
        deadline = time.monotonic() + 60
        while len(set(seen)) < TOTAL or any(
            d["state"] != "delivered" for d in await all_deliveries(client, admin_headers)
        ):
            assert time.monotonic() < deadline, "the restarted hub did not finish the outbox"
            await asyncio.sleep(0.2)
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(10)
    counts = Counter(seen)
    assert set(counts) == set(ids)  # nothing lost
    repeated = {delivery for delivery, n in counts.items() if n > 1}
    assert repeated <= set(in_flight)  # only an unanswered request is sent again (same id: receivers drop it)
    assert all(n <= 2 for n in counts.values())
