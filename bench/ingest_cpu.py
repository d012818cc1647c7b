"""Where a single event's CPU goes: the hub's app driven in one process, without a network, thread by thread.

bench/ingest.py measures the hub as users run it, but on a small machine its figures swing with whatever else
runs, and its client shares the cores. This calls the ASGI app directly from 32 concurrent tasks, so nothing but
the hub's own work is counted, and prints the CPU microseconds per request of each thread, for three apps:

  bare     a Litestar endpoint that only decodes the body into EventIn (bench/ingest.py's ceiling)
  handled  the hub's POST /api/v1/events with storing left out: key check, limits, validation, the answer
  hub      the hub as it is: the ingest writer's groups committed to SQLite (default settings, a fresh file)

and the events per group the writer committed. Run it twice and compare runs of the same code back to back.

    python bench/ingest_cpu.py
    python bench/ingest_cpu.py --requests 50000
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
from ingest import make_event  # the events bench/ingest.py sends (this folder is on sys.path when run as a script)
from litestar import Litestar, Request, Response, post

from hub.app import create_app
from hub.config import load_settings
from hub.ingest import Draft, Ingestor, _event_out
from hub.models import EventIn, StoredResult
from hub.testing import make_key

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
CONCURRENCY = 32


def bare_app() -> Litestar:
    @post("/api/v1/events", status_code=201)
    async def create(request: Request) -> Response[bytes]:
        msgspec.json.decode(await request.body(), type=EventIn)
        return Response(b'{"id":"0"}', status_code=201, media_type="application/json")

    return Litestar([create], debug=False, signature_namespace={"Request": Request, "Response": Response})


async def post_event(app: ASGIApp, body: bytes, key: str, statuses: dict[int, int]) -> None:
    """One request as uvicorn would hand it over: the whole body at once."""
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received:  # asked again only to watch for a disconnect, which never comes
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses[message["status"]] = statuses.get(message["status"], 0) + 1

    headers = [
        (b"host", b"bench"),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"authorization", f"Bearer {key}".encode()),
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/events",
        "raw_path": b"/api/v1/events",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    await app(scope, receive, send)


async def drive(app: ASGIApp, bodies: Sequence[bytes], key: str, requests: int) -> dict[int, int]:
    statuses: dict[int, int] = {}

    async def connection(first: int) -> None:
        for number in range(first, requests, CONCURRENCY):
            await post_event(app, bodies[number % len(bodies)], key, statuses)

    await asyncio.gather(*(connection(first) for first in range(CONCURRENCY)))
    return statuses


def thread_cpu() -> dict[str, float]:
    """CPU seconds (user + system) of each of this process's threads, by thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for tid in os.listdir("/proc/self/task"):
        fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        seconds[tid] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


class Lifespan:
    """The app's startup and shutdown, through the ASGI lifespan protocol as a server runs them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        self.outbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()

    async def __aenter__(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self.task = asyncio.create_task(self.app(scope, self.inbox.get, self.outbox.put))
        await self.inbox.put({"type": "lifespan.startup"})
        if (answer := await self.outbox.get())["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the app did not start: {answer}")

    async def __aexit__(self, *_: object) -> None:
        await self.inbox.put({"type": "lifespan.shutdown"})
        await self.outbox.get()
        await self.task


def count_groups(ingestor: Ingestor, groups: list[int]) -> None:
    write = ingestor._write

    async def counted(conn: Any, drafts: list[Draft], **kwargs: Any) -> list[StoredResult]:
        groups.append(len(drafts))
        return await write(conn, drafts, **kwargs)

    ingestor._write = counted  # type: ignore[method-assign]


def leave_out_storing(ingestor: Ingestor) -> None:
    """store() answers as if the events were written, so only the request's own handling is counted."""

    async def answered(drafts: Sequence[Draft]) -> list[StoredResult]:
        return [StoredResult(_event_out(1, draft, None), created=True) for draft in drafts]

    ingestor.store = answered  # type: ignore[method-assign]


async def measure(variant: str, bodies: Sequence[bytes], requests: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hub-bench-cpu-"))
    # No periodic jobs (outbox, scans): only the requests' own work is counted.
    environ = {"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'hub.db'}", "HUB_SERVER_RUN_JOBS": "false"}
    settings = load_settings(environ=environ)
    hub_app = create_app(settings, freeze_garbage=True)  # as `hub serve` makes it
    hub = hub_app.state.hub
    groups: list[int] = []
    async with Lifespan(hub_app):
        key = await make_key(hub, "ingest")
        app: ASGIApp = bare_app() if variant == "bare" else hub_app
        if variant == "handled":
            leave_out_storing(hub.ingestor)
        await drive(app, bodies, key, min(requests, 5_000))  # warm-up: caches, the first projects and channels
        count_groups(hub.ingestor, groups)
        before, started = thread_cpu(), time.perf_counter()
        statuses = await drive(app, bodies, key, requests)
        after, elapsed = thread_cpu(), time.perf_counter() - started
    per_thread = sorted(((after[t] - before.get(t, 0.0)) * 1e6 / requests for t in after), reverse=True)
    busy = [f"{us:.0f}" for us in per_thread if us >= 1]
    group = f"{sum(groups) / len(groups):.1f} events per group" if groups else "no groups"
    print(
        f"{variant:8} {requests / elapsed:>8,.0f} req/s  {sum(per_thread):6.0f} us/req of CPU "
        f"(by thread: {' + '.join(busy)})  {group}  answers {statuses}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=20_000, help="measured requests per app (default 20,000)")
    args = parser.parse_args()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the migrations of each fresh database
    rng = random.Random(1)
    bodies = [msgspec.json.encode(make_event(rng)) for _ in range(2_000)]
    print(f"{args.requests:,} single-event requests per app, {CONCURRENCY} at once, in one process, no network")
    for variant in ("bare", "handled", "hub"):
        asyncio.run(measure(variant, bodies, args.requests))


if __name__ == "__main__":
    main()
