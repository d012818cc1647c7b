"""Delivery benchmark: notifications per second from `hub serve` to a loopback target.

1. Starts `hub serve` (SQLite in a temp dir, jobs off) and seeds it through the API: users in one project,
   each with push subscriptions holding real P-256 keys, or Slack webhook rules; then posts events with
   `notify: true`, so the outbox fills with pending deliveries (N events x M recipients).
2. Restarts `hub serve` with the periodic jobs on, as users run it, and times the outbox worker draining
   everything to a minimal HTTP/1.1 target in another process (it answers 201 at once and timestamps
   each request). Throughput is counted between the first and the last request the target saw.

    python bench/deliveries.py                         # web push: 1,000 subscriptions x 10 events
    python bench/deliveries.py --notifier slack --recipients 20 --events 500   # 20 webhooks x 500 events
    python bench/deliveries.py --workers 2             # two hub processes share the outbox
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing as mp
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

HUB = str(Path(sys.executable).with_name("hub"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the target


def serve_target(port: int, count: mp.Value, first: mp.Value, last: mp.Value, ready: mp.Event) -> None:
    """A keep-alive HTTP/1.1 server that answers every request with 201 and counts them."""

    class Target(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while True:
                head_end = self.buffer.find(b"\r\n\r\n")
                if head_end < 0:
                    return
                head = self.buffer[:head_end].lower()
                length = 0
                for line in head.split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if len(self.buffer) < head_end + 4 + length:
                    return
                self.buffer = self.buffer[head_end + 4 + length :]
                now = time.time()
                with count.get_lock():
                    if count.value == 0:
                        first.value = now
                    count.value += 1
                    last.value = now
                self.transport.write(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Target, "127.0.0.1", port, backlog=1024)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# ---------------------------------------------------------------- the hub


def start_hub(env: dict[str, str], port: int, workers: int = 1) -> subprocess.Popen:
    argv = [HUB, "serve", "--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the hub did not start")


def push_keys() -> dict[str, str]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return {
        "p256dh": base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "auth": base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="),
    }


def seed(base: str, admin: str, args: argparse.Namespace, target: str) -> int:
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        if args.notifier == "webpush":
            per_user = 10
            for u in range(args.recipients // per_user):
                user = client.post(
                    "/api/v1/users", json={"email": f"u{u}@bench.test", "name": f"u{u}", "projects": ["bench"]}
                ).json()
                for s in range(per_user):
                    sub = {"endpoint": f"{target}/push/{u}-{s}", "keys": push_keys()}
                    client.post(f"/api/v1/users/{user['id']}/push-subscriptions", json=sub).raise_for_status()
        else:
            targets = [{"slack": f"{target}/hook/{i}"} for i in range(args.recipients)]
            for start in range(0, len(targets), 20):  # a rule holds at most 20 targets
                rule = {"name": f"bench-{start}", "targets": targets[start : start + 20], "continue": True}
                client.put(f"/api/v1/routes/bench-{start}", json=rule).raise_for_status()
        batch = [{"project": "bench", "event": f"Event {i}", "notify": True} for i in range(args.events)]
        for start in range(0, len(batch), 1000):
            client.post("/api/v1/events/batch", json={"events": batch[start : start + 1000]}).raise_for_status()
    return args.events * args.recipients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifier", choices=["webpush", "slack"], default="webpush")
    parser.add_argument("--recipients", type=int, default=1000, help="subscriptions or Slack webhooks")
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--per-host", type=int, default=4, help="connections to the target")
    parser.add_argument("--workers", type=int, default=1, help="hub serve --workers")
    parser.add_argument("--timeout", type=float, default=300, help="give up waiting after this many seconds")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    db = tmp / "hub.db"
    target_port, hub_port = free_port(), free_port()
    count, first, last = mp.Value("l", 0), mp.Value("d", 0.0), mp.Value("d", 0.0)
    ready = mp.Event()
    target = mp.Process(target=serve_target, args=(target_port, count, first, last, ready), daemon=True)
    target.start()
    ready.wait(10)
    env = {
        **os.environ,
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "HUB_OUTBOUND_ALLOW": '["127.0.0.1"]',
        "HUB_PLUGINS": "{slack = {min_interval_seconds = 0}}",
        "HUB_DELIVERY_BATCH_SIZE": str(args.batch_size),
        "HUB_DELIVERY_CONCURRENCY": str(args.concurrency),
        "HUB_OUTBOUND_MAX_CONNECTIONS_PER_HOST": str(args.per_host),
        "HUB_DELIVERY_INTERVAL_SECONDS": "0.05",
        "HUB_SERVER_RUN_JOBS": "false",
    }
    admin = subprocess.run(
        [HUB, "keys", "create", "--scope", "admin", "--name", "bench"], env=env, capture_output=True, text=True
    ).stdout.strip()
    hub = start_hub(env, hub_port)
    try:
        started = time.perf_counter()
        total = seed(f"http://127.0.0.1:{hub_port}", admin, args, f"http://127.0.0.1:{target_port}")
        print(f"seeded {total} deliveries ({args.notifier}) in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        hub.terminate()
        hub.wait(30)

        hub = start_hub({**env, "HUB_SERVER_RUN_JOBS": "true"}, hub_port, args.workers)
        deadline = time.time() + args.timeout
        while count.value < total and time.time() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # let the last round record its results
    finally:
        hub.terminate()
        hub.wait(30)
        target.terminate()

    with sqlite3.connect(db) as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall())
    seconds = last.value - first.value
    print(f"notifier        {args.notifier}, {args.workers} hub process(es)")
    print(f"deliveries      {total} ({args.events} events x {args.recipients} recipients)")
    print(f"target received {count.value}")
    print(f"delivery states {states}")
    print(f"drain time      {seconds:.2f} s (first to last request at the target)")
    print(f"throughput      {count.value / seconds:,.0f} deliveries/s" if seconds > 0 else "throughput      n/a")


if __name__ == "__main__":
    main()
