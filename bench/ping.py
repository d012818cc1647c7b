"""Ping throughput: `hub serve` on SQLite, driven over loopback by other processes with keep-alive GET pings.

The hub runs as users run it (`hub serve`, a fresh SQLite file, default settings); uvicorn uses httptools
and uvloop when they are installed (`uvicorn[standard]`), h11 and asyncio otherwise, and the run says which.
Checks are created through the API; then client processes each hold `--connections` keep-alive connections and send
`GET /ping/{uuid}` (random checks) as fast as the answers come. The client is a minimal HTTP/1.1 loop on
raw asyncio streams, so the client's own CPU cost stays small next to the server's; both are printed. At
the end the pings stored in the database are counted, so every `OK` is checked to have been committed.

    python bench/ping.py                              # 1 worker, 2 client procs x 32 connections, 15 s
    python bench/ping.py --workers 2 --duration 30
    python bench/ping.py --profile /tmp/ping.prof      # then: python -m pstats /tmp/ping.prof
    PYTHONPATH=/path/with/httptools-and-uvloop python bench/ping.py
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HUB = str(Path(sys.executable).with_name("hub"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def _drive(port: int, uuids: list[str], connections: int, until: float, warm_until: float) -> tuple:
    latencies: list[float] = []
    counts = {"ok": 0, "other": 0}

    async def connection(seed: int) -> None:
        rng = random.Random(seed)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (now := time.perf_counter()) < until:
            request = f"GET /ping/{rng.choice(uuids)} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
            body = await reader.readexactly(length)
            if now >= warm_until:
                latencies.append(time.perf_counter() - now)
                counts["ok" if body == b"OK" else "other"] += 1
        writer.close()

    await asyncio.gather(*[connection(i) for i in range(connections)])
    return counts["ok"], counts["other"], latencies


def client(port: int, uuids: list[str], connections: int, until: float, warm_until: float, out: mp.Queue) -> None:
    ok, other, latencies = asyncio.run(_drive(port, uuids, connections, until, warm_until))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put((ok, other, latencies, usage.ru_utime + usage.ru_stime))


def uvicorn_stack(environment: dict[str, str]) -> str:
    """What uvicorn's `auto` settings pick in the server's environment: httptools/uvloop when installed."""
    probe = (
        "import importlib.util as u; print(*[m for m in ('httptools', 'uvloop') if u.find_spec(m)] or ['h11/asyncio'])"
    )
    return subprocess.run([sys.executable, "-c", probe], env=environment, capture_output=True, text=True).stdout.strip()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn workers), from /proc."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for task in [pid, *_children(pid)]:
        with open(f"/proc/{task}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        path = f"/proc/{pid}/task/{task}/children"
        if os.path.exists(path):
            found += [int(c) for c in open(path).read().split()]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of `hub serve`")
    parser.add_argument("--client-procs", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections per client process")
    parser.add_argument("--duration", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument(
        "--profile", metavar="FILE", help="run the server under cProfile (its main thread), stats to FILE"
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="hub-ping-bench-"))
    database = folder / "hub.db"
    port = free_port()
    environment = {
        **os.environ,
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "HUB_SERVER_PORT": str(port),
        "HUB_SERVER_WORKERS": str(args.workers),
    }
    admin = subprocess.run(
        [HUB, "keys", "create", "--scope", "admin", "--name", "bench"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    profiler = [sys.executable, "-m", "cProfile", "-o", args.profile] if args.profile else []
    server = subprocess.Popen([*profiler, HUB, "serve"], env=environment, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as api:
            for _ in range(200):
                try:
                    api.get("/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            uuids = [
                api.post("/api/v1/checks", json={"name": f"job {i}", "project": "bench", "period": 3600}).json()["uuid"]
                for i in range(args.checks)
            ]
        cpu_before = cpu_seconds(server.pid)
        start = time.perf_counter()
        warm_until, until = start + args.warmup, start + args.warmup + args.duration
        results: mp.Queue = mp.Queue()
        clients = [
            mp.Process(target=client, args=(port, uuids, args.connections, until, warm_until, results))
            for _ in range(args.client_procs)
        ]
        for process in clients:
            process.start()
        gathered = [results.get() for _ in clients]
        for process in clients:
            process.join()
        server_cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        # uvicorn re-raises the signal it stopped on; SIGINT ends as KeyboardInterrupt, so cProfile still saves.
        server.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
        server.wait(timeout=30)

    ok = sum(g[0] for g in gathered)
    other = sum(g[1] for g in gathered)
    latencies = sorted(x for g in gathered for x in g[2])
    client_cpu = sum(g[3] for g in gathered)
    with sqlite3.connect(database) as db:
        stored = db.execute("SELECT count(*) FROM heartbeat_pings").fetchone()[0]
    total_answered = ok + other
    print(
        f"checks: {args.checks}, hub workers: {args.workers}, clients: {args.client_procs} x {args.connections}, "
        f"uvicorn picks: {uvicorn_stack(environment)}"
    )
    print(
        f"pings answered OK in {args.duration:.0f} s: {ok} ({ok / args.duration:,.0f} pings/s); other answers: {other}"
    )
    print(
        f"latency p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.1f} ms"
    )
    print(f"CPU over the whole run incl. warm-up: server {server_cpu:.1f} s, clients {client_cpu:.1f} s")
    print(f"pings stored: {stored} (answered during warm-up and window: >= {total_answered})")


if __name__ == "__main__":
    main()
