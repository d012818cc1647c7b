"""One hub process for the multi-process tests: `python hub_process.py DATABASE_URL SCAN_AT PING_AT`.

It starts a hub on the database (periodic jobs off), prints `ready`, and waits for a line on stdin so that
every process starts at the same moment. Then, with its clock at SCAN_AT, it runs the missed-ping scan a few
times at once and prints how many checks it flipped down; after a second line on stdin, with its clock at
PING_AT, it pings every check whose UUID was given on the first line, prints how many it found, and exits.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime

from hub_plugins.heartbeat.recorder import Ping
from hub_plugins.heartbeat.scan import scan
from hub_plugins.heartbeat.service import service

from hub.config import load_settings
from hub.core import Hub


class FixedClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


async def main(database_url: str, scan_at: datetime, ping_at: datetime) -> None:
    hub = Hub(load_settings(environ={"HUB_DATABASE_URL": database_url, "HUB_SERVER_RUN_JOBS": "false"}))
    clock = FixedClock(scan_at)
    service(hub.context).clock = clock
    await hub.start()
    try:
        print("ready", flush=True)
        uuids = json.loads(await asyncio.to_thread(sys.stdin.readline))
        flipped = sum(await asyncio.gather(*[scan(hub.context) for _ in range(3)]))
        print(json.dumps({"flipped": flipped}), flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # and again before pinging
        clock.moment = ping_at
        recorder = service(hub.context).recorder
        answers = await asyncio.gather(*[recorder.record(Ping(uuid=u, action="success", method="GET")) for u in uuids])
        print(json.dumps({"found": sum(a.found for a in answers)}), flush=True)
    finally:
        await hub.stop()


if __name__ == "__main__":
    url, scan_at, ping_at = sys.argv[1:4]
    asyncio.run(main(url, datetime.fromisoformat(scan_at), datetime.fromisoformat(ping_at)))
