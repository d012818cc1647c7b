"""Ingest benchmark: the hub as users run it, driven over loopback from other processes.

Phases, in one run:
  ceiling  a bare Litestar app (own process, same uvicorn settings as `hub serve`) whose
           POST /api/v1/events only decodes the body into hub.models.EventIn and answers 201
  single   POST /api/v1/events, one event per request, to `hub serve` (SQLite, default settings)
  batch    POST /api/v1/events/batch, --batch-size events per request (events/s counts events)
  durable  single events and batches at once; the hub is killed with SIGKILL mid-load and restarted,
           then every event id it had answered 2xx for is looked up in the database

Every phase warms up (--warmup seconds) before its measured window (--duration seconds). Latency is
measured per request in the client, from sending to the whole answer read.

The load generator costs CPU on the same machine: its processes' CPU use is printed next to the
server's, with everything else the machine did meanwhile ("other cpu": other people's work makes the
figures noisy), and the CPU microseconds per request of server and client, which other load disturbs far
less than throughput. CPU columns are in cores (100% = one core). `--client-procs 1,2` runs every phase
once per value, to see whether one client process is the bottleneck.

Client: aiohttp when it is installed, else httpx (a hub dependency). aiohttp is a bench-only dependency
(`pip install aiohttp`), never a runtime dependency of the hub: measured on a 2-core box, httpx's
AsyncClient spent about 20 times the client CPU per request with 32 concurrent connections, so with
httpx the client, not the hub, sets the pace. `--client httpx` to compare.

    python bench/ingest.py                      # 32 connections, 20 s per phase
    python bench/ingest.py --duration 5 --client-procs 1,2 --client aiohttp
    python bench/ingest.py --phases single,batch --hub-workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec

HUB = str(Path(sys.executable).with_name("hub"))
PROJECTS = ["shop", "auth", "billing", "infra", "mobile"]
CHANNELS = ["orders", "signups", "payments", "deploys", "errors", "cron", "alerts", "support"]
WORDS = (
    "order paid refund user signed upgraded plan cancelled deploy finished failed retry timeout queue "
    "worker invoice card declined coupon trial expired login password reset webhook backup restored"
).split()
ICONS = ["🛒", "💸", "🚀", "🔥", "👤", None]


# ---------------------------------------------------------------- bodies


def make_event(rng: random.Random, *, with_project: bool = True) -> dict[str, Any]:
    event: dict[str, Any] = {
        "channel": rng.choice(CHANNELS),
        "event": " ".join(rng.choices(WORDS, k=rng.randint(2, 4))).capitalize(),
        "description": " ".join(rng.choices(WORDS, k=rng.randint(5, 15))),
        "tags": {
            "plan": rng.choice(["free", "pro", "team"]),
            "region": rng.choice(["eu", "us", "ap"]),
            "order": rng.randint(1, 10_000_000),
        },
    }
    if with_project:
        event["project"] = rng.choice(PROJECTS)
    icon = rng.choice(ICONS)
    if icon:
        event["icon"] = icon
    if rng.random() < 0.3:
        event["user_id"] = f"user-{rng.randint(1, 50_000)}"
    return event


def make_bodies(kind: str, count: int, batch_size: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    if kind == "batch":
        return [msgspec.json.encode({"events": [make_event(rng) for _ in range(batch_size)]}) for _ in range(count)]
    return [msgspec.json.encode(make_event(rng)) for _ in range(count)]


# ---------------------------------------------------------------- client worker (own process)


class Job(msgspec.Struct):
    base_url: str
    key: str
    mix: list[tuple[str, int]]  # (kind, connections): kind is "single" or "batch"
    batch_size: int
    start_at: float  # time.time() at which the measured window opens (load starts `warmup` earlier)
    warmup: float
    duration: float
    stop_at: float  # time.time() after which no new request is sent
    client: str
    collect_ids: bool
    seed: int


class WorkerResult(msgspec.Struct):
    requests: dict[str, int]
    events: dict[str, int]
    latencies: dict[str, list[float]]
    errors: int
    first_error: str | None
    ids: list[str]
    cpu_seconds: float  # user + system time spent inside the measured window


PATHS = {"single": "/api/v1/events", "batch": "/api/v1/events/batch"}


def _ids_of(kind: str, body: bytes) -> list[str]:
    data = msgspec.json.decode(body)
    if kind == "single":
        return [data["id"]]
    return [item["event"]["id"] for item in data["results"] if item["status"] in (200, 201)]


async def _drive(job: Job) -> WorkerResult:
    bodies = {kind: make_bodies(kind, 200, job.batch_size, job.seed + i) for i, (kind, _) in enumerate(job.mix)}
    per_event = {"single": 1, "batch": job.batch_size}
    result = WorkerResult({}, {}, {}, 0, None, [], 0.0)
    for kind, _ in job.mix:
        result.requests[kind] = result.events[kind] = 0
        result.latencies[kind] = []
    window_start = job.start_at
    window_end = job.start_at + job.duration
    headers = {"authorization": f"Bearer {job.key}", "content-type": "application/json"}
    connections = sum(n for _, n in job.mix)

    if job.client == "aiohttp":
        import aiohttp

        session: Any = aiohttp.ClientSession(
            job.base_url,
            headers=headers,
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=60),
        )

        async def post(path: str, body: bytes) -> tuple[int, bytes]:
            async with session.post(path, data=body) as response:
                return response.status, await response.read()
    else:
        session = httpx.AsyncClient(
            base_url=job.base_url,
            headers=headers,
            timeout=60,
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        )

        async def post(path: str, body: bytes) -> tuple[int, bytes]:
            response = await session.post(path, content=body)
            return response.status_code, response.content

    async def connection(kind: str, number: int) -> None:
        path = PATHS[kind]
        pool = bodies[kind]
        index = number * 7
        while time.time() < job.stop_at:
            index = (index + 1) % len(pool)
            began = time.perf_counter()
            try:
                status, content = await post(path, pool[index])
            except Exception as exc:
                result.errors += 1
                result.first_error = result.first_error or f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.05)
                continue
            latency = time.perf_counter() - began
            if not 200 <= status < 300:
                result.errors += 1
                result.first_error = result.first_error or f"HTTP {status}: {content[:200]!r}"
                continue
            if job.collect_ids:
                result.ids.extend(_ids_of(kind, content))
            done = time.time()
            if window_start <= done < window_end:
                result.requests[kind] += 1
                result.events[kind] += per_event[kind]
                result.latencies[kind].append(latency)

    async def cpu_window() -> None:
        await asyncio.sleep(max(0.0, window_start - time.time()))
        before = os.times()
        await asyncio.sleep(max(0.0, window_end - time.time()))
        after = os.times()
        result.cpu_seconds = (after.user - before.user) + (after.system - before.system)

    await asyncio.sleep(max(0.0, job.start_at - job.warmup - time.time()))
    try:
        tasks = [connection(kind, i) for kind, n in job.mix for i in range(n)]
        await asyncio.gather(cpu_window(), *tasks)
    finally:
        await (session.close() if job.client == "aiohttp" else session.aclose())
    return result


def _worker(job_bytes: bytes, out: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and ends us
    job = msgspec.msgpack.decode(job_bytes, type=Job)
    out.put(msgspec.msgpack.encode(asyncio.run(_drive(job))))


# ---------------------------------------------------------------- the bare ceiling app (own process)


def serve_ceiling(port: int) -> None:
    import uvicorn
    from litestar import Litestar, Request, Response, get, post

    from hub.models import EventIn

    @post("/api/v1/events", status_code=201)
    async def create(request: Request) -> Response[bytes]:
        msgspec.json.decode(await request.body(), type=EventIn)
        return Response(b'{"id":"0"}', status_code=201, media_type="application/json")

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app = Litestar([create, health], debug=False, signature_namespace={"Request": Request, "Response": Response})
    # The same server settings `hub serve` uses (hub/cli.py), so only the handler differs.
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


# ---------------------------------------------------------------- processes


CHILDREN: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env() -> dict[str, str]:
    """The environment without HUB_* settings, so the hub runs with its defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}


def create_key(workdir: Path, scope: str) -> str:
    out = subprocess.run(
        [HUB, "keys", "create", "--scope", scope, "--name", f"bench-{scope}"],
        cwd=workdir,
        env=clean_env(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    return out.stdout.decode().strip().splitlines()[-1]


def start_process(argv: list[str], cwd: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        process = subprocess.Popen(argv, cwd=cwd, env=clean_env(), stdout=sink, stderr=subprocess.STDOUT)
    CHILDREN.append(process)
    return process


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}; its output:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server not ready after {timeout:.0f} s; its output:\n{log.read_text()[-3000:]}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process in CHILDREN:
        CHILDREN.remove(process)


def start_hub(workdir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    log = workdir / "hub.log"
    process = start_process([HUB, "serve", "--port", str(port), "--workers", str(workers)], workdir, log)
    wait_ready(process, f"http://127.0.0.1:{port}/health", log)
    return process


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live descendants (Linux /proc), threads included: with
    `--hub-workers`, uvicorn's worker processes are children of `hub serve`."""
    usage: dict[int, tuple[int, float]] = {}  # pid -> (parent pid, cpu seconds)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        usage[int(stat.parent.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        total += usage.get(current, (0, 0.0))[1]
        stack += [child for child, (parent, _) in usage.items() if parent == current]
    return total


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores; /proc/stat), steal included."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- running a phase


class PhaseResult(msgspec.Struct):
    name: str
    client_procs: int
    events_per_s: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    first_error: str | None
    server_cpu: float  # cores busy, averaged over the window
    client_cpu: float
    other_cpu: float  # everything else on the machine (other people's work): the figures are noisy when high
    ids: list[str]


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_load(
    args: argparse.Namespace,
    *,
    base_url: str,
    key: str,
    mix: list[tuple[str, int]],
    procs: int,
    server_pid: int,
    collect_ids: bool = False,
    stop_at: float | None = None,
    during: Any = None,
) -> tuple[list[WorkerResult], float, float]:
    """Start `procs` client processes sharing the connections of `mix`.

    Returns their results, the server's CPU use and the whole machine's (cores) over the measured window.
    `during(start_at)`
    runs in this process while the clients work (used to kill the server).
    """
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 2.0 + args.warmup  # spawn + imports take about a second
    stop_at = stop_at or start_at + args.duration
    shares = [split(n, procs) for _, n in mix]
    workers = []
    for p in range(procs):
        part = [(kind, shares[i][p]) for i, (kind, _) in enumerate(mix) if shares[i][p]]
        job = Job(
            base_url,
            key,
            part,
            args.batch_size,
            start_at,
            args.warmup,
            args.duration,
            stop_at,
            args.client,
            collect_ids,
            seed=1000 * p + 1,
        )
        worker = ctx.Process(target=_worker, args=(msgspec.msgpack.encode(job), out), daemon=True)
        worker.start()
        workers.append(worker)
    server_cpu = machine_cpu = 0.0
    try:
        if during is not None:
            during(start_at)
        else:
            time.sleep(max(0.0, start_at - time.time()))
            before, machine_before = cpu_seconds(server_pid), machine_busy()
            time.sleep(max(0.0, start_at + args.duration - time.time()))
            server_cpu = (cpu_seconds(server_pid) - before) / args.duration
            machine_cpu = (machine_busy() - machine_before) / args.duration
        results = [
            msgspec.msgpack.decode(out.get(timeout=stop_at - time.time() + 120), type=WorkerResult) for _ in workers
        ]
    finally:
        for worker in workers:
            worker.join(5)
            if worker.is_alive():
                worker.kill()
    return results, server_cpu, machine_cpu


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def summarise(
    name: str, procs: int, duration: float, results: list[WorkerResult], server_cpu: float, machine_cpu: float
) -> PhaseResult:
    client_cpu = sum(r.cpu_seconds for r in results) / duration
    latencies = sorted(x for r in results for values in r.latencies.values() for x in values)
    events = sum(sum(r.events.values()) for r in results)
    requests = sum(sum(r.requests.values()) for r in results)
    return PhaseResult(
        name=name,
        client_procs=procs,
        events_per_s=events / duration,
        requests_per_s=requests / duration,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        max_ms=(latencies[-1] if latencies else float("nan")) * 1000,
        errors=sum(r.errors for r in results),
        first_error=next((r.first_error for r in results if r.first_error), None),
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        other_cpu=max(0.0, machine_cpu - server_cpu - client_cpu),
        ids=[i for r in results for i in r.ids],
    )


def print_row(r: PhaseResult) -> None:
    print(
        f"{r.name:<8} {r.client_procs:>5} {r.events_per_s:>11,.0f} {r.requests_per_s:>9,.0f} "
        f"{r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.max_ms:>8.1f} {r.errors:>6} "
        f"{r.server_cpu * 100:>9.0f}% {r.client_cpu * 100:>9.0f}% {r.other_cpu * 100:>8.0f}% "
        f"{per_request(r.server_cpu, r):>8.0f} {per_request(r.client_cpu, r):>8.0f}",
        flush=True,
    )
    if r.first_error:
        print(f"         first error: {r.first_error}", flush=True)


def per_request(cores: float, r: PhaseResult) -> float:
    """CPU microseconds per request: robust to other load on the machine, unlike throughput."""
    return cores / r.requests_per_s * 1e6 if r.requests_per_s else float("nan")


HEADER = (
    f"{'phase':<8} {'procs':>5} {'events/s':>11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
    f"{'errors':>6} {'server cpu':>10} {'client cpu':>10} {'other cpu':>9} {'srv us/r':>8} {'cli us/r':>8}"
)


def phase(
    args: argparse.Namespace, name: str, procs: int, base_url: str, key: str, kind: str, server_pid: int
) -> PhaseResult:
    results, server_cpu, machine_cpu = run_load(
        args, base_url=base_url, key=key, mix=[(kind, args.connections)], procs=procs, server_pid=server_pid
    )
    row = summarise(name, procs, args.duration, results, server_cpu, machine_cpu)
    print_row(row)
    return row


# ---------------------------------------------------------------- durability


def durability(args: argparse.Namespace, workdir: Path, port: int, key: str, read_key: str) -> bool:
    """Kill -9 the hub mid-load; after a restart every id answered 2xx must be stored."""
    hub = start_hub(workdir, port, args.hub_workers)
    base_url = f"http://127.0.0.1:{port}"
    batch_conns = max(1, args.connections // 4)
    mix = [("single", args.connections - batch_conns), ("batch", batch_conns)]
    killed_at: list[float] = []

    def kill_mid_load(start_at: float) -> None:
        time.sleep(max(0.0, start_at + random.uniform(0.3, 0.8) * args.kill_after - time.time()))
        hub.send_signal(signal.SIGKILL)
        hub.wait()
        killed_at.append(time.time())

    load_start = time.time() + 2.0 + args.warmup
    results, _, _ = run_load(
        args,
        base_url=base_url,
        key=key,
        mix=mix,
        procs=args.durability_procs,
        server_pid=hub.pid,
        collect_ids=True,
        stop_at=load_start + args.kill_after + 1.0,
        during=kill_mid_load,
    )
    CHILDREN.remove(hub)
    acked = [i for r in results for i in r.ids]
    failed = sum(r.errors for r in results)
    hub = start_hub(workdir, port, args.hub_workers)  # recovery after the crash happens here
    try:
        with contextlib.closing(sqlite3.connect(f"file:{workdir / 'hub.db'}?mode=ro", uri=True)) as db:
            missing: list[str] = []
            numbers = [int(i) for i in acked]
            for start in range(0, len(numbers), 500):
                chunk = numbers[start : start + 500]
                marks = ",".join("?" * len(chunk))
                found = {row[0] for row in db.execute(f"SELECT id FROM events WHERE id IN ({marks})", chunk)}
                missing += [str(n) for n in chunk if n not in found]
            fts_rows = db.execute("SELECT count(*) FROM events_fts").fetchone()[0]
            event_rows = db.execute("SELECT count(*) FROM events").fetchone()[0]
        # And through the API, as a user would look: the last answered events.
        api_missing = 0
        with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {read_key}"}) as client:
            sample = acked[-200:]
            for event_id in sample:
                if client.get(f"/api/v1/events/{event_id}").status_code != 200:
                    api_missing += 1
    finally:
        stop_process(hub)
    print(
        f"durability: hub killed with SIGKILL {killed_at[0] - load_start + args.warmup:.1f} s into the load; "
        f"{len(acked):,} event ids answered 2xx, {failed:,} requests failed (in flight or refused); "
        f"after restart checked {len(acked):,}, missing {len(missing):,}; "
        f"API spot check of the last {len(sample)}: missing {api_missing}; "
        f"events {event_rows:,} / FTS rows {fts_rows:,}",
        flush=True,
    )
    if missing:
        print(f"            first missing ids: {missing[:10]}")
    return not missing and not api_missing


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per phase (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before measuring (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--batch-size", type=int, default=100, help="events per batch request (default 100)")
    parser.add_argument(
        "--client-procs", default="1", help="client processes sharing the connections; a list runs each (e.g. 1,2)"
    )
    parser.add_argument(
        "--client",
        choices=["httpx", "aiohttp"],
        default="aiohttp" if importlib.util.find_spec("aiohttp") else "httpx",
        help="HTTP client (default aiohttp when installed, else httpx)",
    )
    parser.add_argument(
        "--phases", default="ceiling,single,batch,durable", help="which to run (default ceiling,single,batch,durable)"
    )
    parser.add_argument("--kill-after", type=float, default=6.0, help="durability: kill within this many seconds")
    parser.add_argument("--durability-procs", type=int, default=1, help="client processes in the durability phase")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (hub.db, logs)")
    parser.add_argument("--hub-workers", type=int, default=1, help="worker processes of `hub serve` (default 1)")
    parser.add_argument("--serve-ceiling", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ceiling:
        serve_ceiling(args.serve_ceiling)
        return 0

    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    procs_list = [int(p) for p in args.client_procs.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-ingest-"))
    ok = True
    rows: list[PhaseResult] = []
    try:
        print(
            f"hub ingest benchmark: {os.cpu_count()} CPUs, {args.connections} connections, {args.client} client, "
            f"warm-up {args.warmup:g} s, measured {args.duration:g} s per phase; hub in {workdir}",
            flush=True,
        )
        key = create_key(workdir, "ingest")
        read_key = create_key(workdir, "read")
        print(HEADER, flush=True)
        for procs in procs_list:
            if "ceiling" in phases:
                port = free_port()
                log = workdir / "ceiling.log"
                server = start_process([sys.executable, __file__, "--serve-ceiling", str(port)], workdir, log)
                try:
                    wait_ready(server, f"http://127.0.0.1:{port}/health", log)
                    rows.append(phase(args, "ceiling", procs, f"http://127.0.0.1:{port}", key, "single", server.pid))
                finally:
                    stop_process(server)
            if "single" in phases or "batch" in phases:
                port = free_port()
                hub = start_hub(workdir, port, args.hub_workers)
                try:
                    for kind in ("single", "batch"):
                        if kind in phases:
                            rows.append(phase(args, kind, procs, f"http://127.0.0.1:{port}", key, kind, hub.pid))
                finally:
                    stop_process(hub)
        for procs in procs_list:
            ceiling = next((r for r in rows if r.name == "ceiling" and r.client_procs == procs), None)
            single = next((r for r in rows if r.name == "single" and r.client_procs == procs), None)
            if ceiling and single and ceiling.events_per_s and single.requests_per_s:
                print(
                    f"single-event ingest with {procs} client process(es): "
                    f"{single.events_per_s / ceiling.events_per_s:.0%} of the bare ceiling in events/s; "
                    f"{per_request(ceiling.server_cpu, ceiling) / per_request(single.server_cpu, single):.0%} "
                    "by server CPU per request (less disturbed by other load)",
                    flush=True,
                )
        if "durable" in phases:
            ok = durability(args, workdir, free_port(), key, read_key)
    finally:
        for child in list(CHILDREN):
            stop_process(child)
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


def _on_term(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_term)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
