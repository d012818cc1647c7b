"""Feed benchmark: read-API latency on a database of 1,000,000 events.

The database is built through the hub's own write path (`hub migrate`, then `hub.ingest.Ingestor.store()`
with `hub.ingest.Draft`s in groups of 5,000), so the rows, tags, FTS entries, contexts and channel counts
are exactly what ingest writes. Variety: 5 projects of unequal size, 20 channels, tags with a few common
and many rare values, descriptions drawn from a Zipf-distributed vocabulary, 1% test events, context
children under deploy cards. The built file is cached in /tmp (rebuilt when the migrations change, or with
--rebuild).

Then `hub serve` runs on it (SQLite; periodic jobs off, so a retention pass cannot run during the
measurement) and each query is requested --requests times over one keep-alive connection, after a
warm-up. The table shows client-measured HTTP latency, and the same query timed in-process through
`hub.db.events.list_events` (SQL plus row conversion, no HTTP) to split the time.

    python bench/feed.py                 # build (first time, a few minutes) and measure
    python bench/feed.py --explain       # also print the database's query plan for each query
    python bench/feed.py --database-url postgresql+asyncpg://postgres@127.0.0.1/hub_bench_feed

With --database-url on PostgreSQL the database is created if it is missing, and built (through the same
write path) when it does not hold --events events under the current migrations.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import itertools
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

HUB = str(Path(sys.executable).with_name("hub"))
SEED = 20240101
GROUP = 5000  # drafts per store() call: the ingestor's default max_rows_per_commit
SPAN = timedelta(days=60)

PROJECTS = {  # project: (weight, channels with weights)
    "shop": (40, {"orders": 50, "refunds": 8, "carts": 30, "reviews": 12}),
    "auth": (25, {"signups": 30, "logins": 55, "resets": 10, "sso": 5}),
    "billing": (15, {"invoices": 40, "payments": 45, "dunning": 10, "plans": 5}),
    "infra": (12, {"deploys": 25, "errors": 40, "cron": 30, "backups": 5}),
    "mobile": (8, {"installs": 40, "crashes": 15, "sessions": 44, "pushes": 1}),
}
NOUNS = "order payment refund cart review user login invoice plan deploy build error job backup install crash".split()
VERBS = "created paid failed completed started finished cancelled renewed expired retried opened closed".split()
SYLLABLES = "ka lo mi nu pe ra si to vu xe bo da fi gu he ja".split()


def vocabulary(size: int = 5000) -> list[str]:
    """Pseudo-words, ranked: word i is drawn with weight 1 / (i + 1) ** 1.07."""
    words = [a + b + c for a, b, c in itertools.product(SYLLABLES, repeat=3)]
    rng = random.Random(SEED)
    rng.shuffle(words)
    return words[:size]


VOCAB = vocabulary()
COMMON_WORD = VOCAB[9]  # in roughly one description of six
RARE_WORD = VOCAB[3000]  # in a few hundred events
RARE_SKU = "sku-100"


# ---------------------------------------------------------------- building the database


def migration_files() -> list[str]:
    import hub.db.migrate

    return sorted(p.name for p in (hub.db.migrate.MIGRATIONS / "versions").glob("*.py"))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(extra)
    return env


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


class Generator:
    def __init__(self, total: int, end: datetime) -> None:
        self.rng = random.Random(SEED)
        self.total = total
        self.start = end - SPAN
        self.step = SPAN / total
        weights = [1 / (i + 1) ** 1.07 for i in range(len(VOCAB))]
        self.word_cum = list(itertools.accumulate(weights))
        self.sku_cum = list(itertools.accumulate(1 / (i + 1) ** 1.1 for i in range(5000)))
        self.project_names = list(PROJECTS)
        self.project_cum = list(itertools.accumulate(w for w, _ in PROJECTS.values()))
        self.channels = {p: (list(c), list(itertools.accumulate(c.values()))) for p, (_, c) in PROJECTS.items()}
        self.deploy: dict[str, Any] = {"id": 0, "left": 0}

    def words(self, k: int) -> list[str]:
        return self.rng.choices(VOCAB, cum_weights=self.word_cum, k=k)

    def draft(self, i: int) -> Any:
        from hub.ingest import Draft

        rng = self.rng
        created = self.start + self.step * i + timedelta(seconds=rng.uniform(-30, 30))
        project = rng.choices(self.project_names, cum_weights=self.project_cum)[0]
        names, cum = self.channels[project]
        channel = rng.choices(names, cum_weights=cum)[0]
        tags: dict[str, Any] = {}
        if project in ("shop", "billing"):
            tags["plan"] = rng.choices(["free", "pro", "team"], weights=[60, 30, 10])[0]
        if rng.random() < 0.5:
            tags["region"] = rng.choice(["eu-west", "eu-central", "us-east", "us-west", "ap-south"])
        if channel == "orders":
            tags["order_id"] = rng.randint(1, 100_000_000)
            tags["sku"] = f"sku-{bisect.bisect_left(self.sku_cum, rng.random() * self.sku_cum[-1])}"
        if project == "billing":
            tags["customer"] = f"cus_{rng.randint(1, 100_000)}"
        if channel == "deploys":
            tags["version"] = f"1.{rng.randint(0, 40)}.{rng.randint(0, 9)}"
        context_id = None
        context_start = False
        if channel == "deploys":
            if self.deploy["left"] == 0:
                self.deploy = {"id": self.deploy["id"] + 1, "left": rng.randint(3, 8)}
                context_start = True
            self.deploy["left"] -= 1
            context_id = f"deploy-{self.deploy['id']}"
        content = None
        if rng.random() < 0.1:
            content = {"amount": rng.randint(100, 100_000), "currency": "EUR", "note": " ".join(self.words(3))}
        return Draft(
            project=project,
            channel=channel,
            event=f"{rng.choice(NOUNS).capitalize()} {rng.choice(VERBS)}",
            description=" ".join(self.words(rng.randint(4, 14))),
            icon=rng.choice(["🛒", "💸", "🚀", "🔥", "👤", None, None]),
            severity=rng.choices(["info", "warning", "critical"], weights=[90, 8, 2])[0],
            tags=tags or None,
            content=content,
            user_id=f"user-{rng.randint(1, 200_000)}" if rng.random() < 0.4 else None,
            context_id=context_id,
            context_start=context_start,
            test=rng.random() < 0.01,
            created_at=created,
            received_at=created + timedelta(milliseconds=rng.randint(5, 500)),
        )


async def fill(url: str, total: int) -> None:
    from hub.db.engine import Database
    from hub.db.events import ProjectDirectory
    from hub.ingest import Ingestor

    db = Database(url)
    ingestor = Ingestor(db, ProjectDirectory(db), max_rows_per_commit=GROUP)
    await ingestor.start()
    gen = Generator(total, datetime.now(UTC) - timedelta(minutes=10))
    began = last = time.monotonic()
    in_flight: set[asyncio.Task[Any]] = set()
    try:
        for first in range(0, total, GROUP):
            drafts = [gen.draft(i) for i in range(first, min(total, first + GROUP))]
            # Two groups in flight: the next one is made while the writer commits this one.
            if len(in_flight) >= 2:
                done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
            in_flight.add(asyncio.create_task(ingestor.store(drafts)))
            stored = first + len(drafts)
            if time.monotonic() - last > 10 or stored == total:
                last = time.monotonic()
                print(f"  {stored:>9,} events, {stored / (last - began):,.0f}/s", file=sys.stderr, flush=True)
        for task in in_flight:
            await task
    finally:
        await ingestor.stop()
        await db.dispose()


def build(path: Path, total: int) -> None:
    print(f"building {path} with {total:,} events through hub.ingest.Ingestor ...", file=sys.stderr, flush=True)
    partial = path.with_name(path.name + ".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    subprocess.run(
        [HUB, "migrate"], env=clean_env(HUB_DATABASE_URL=sqlite_url(partial)), check=True, capture_output=True
    )
    began = time.monotonic()
    asyncio.run(fill(sqlite_url(partial), total))
    with contextlib.closing(sqlite3.connect(partial)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    Path(f"{partial}-wal").unlink(missing_ok=True)
    Path(f"{partial}-shm").unlink(missing_ok=True)
    meta = {"events": total, "migrations": migration_files(), "built_at": datetime.now(UTC).isoformat()}
    meta["build_seconds"] = round(time.monotonic() - began, 1)
    path.with_name(path.name + ".json").write_text(json.dumps(meta))
    print(f"built in {meta['build_seconds']:.0f} s ({path.stat().st_size / 1e6:,.0f} MB)", file=sys.stderr)


async def postgres_ready(url: str, total: int) -> bool:
    """Create the database if it is missing; True when it already holds `total` events at the current head."""
    import asyncpg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    server = target.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    admin = await asyncpg.connect(server)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", target.database):
            await admin.execute(f'CREATE DATABASE "{target.database}"')
            return False
    finally:
        await admin.close()
    database = await asyncpg.connect(target.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        if not await database.fetchval("SELECT to_regclass('events') IS NOT NULL"):
            return False
        return await database.fetchval("SELECT count(*) FROM events") == total
    finally:
        await database.close()


def build_postgres(url: str, total: int) -> None:
    print(f"building {total:,} events in {url} through hub.ingest.Ingestor ...", file=sys.stderr, flush=True)
    env = clean_env(HUB_DATABASE_URL=url)
    subprocess.run([HUB, "migrate"], env=env, check=True, capture_output=True)
    asyncio.run(_truncate(url))
    began = time.monotonic()
    asyncio.run(fill(url, total))
    asyncio.run(_analyze(url))
    print(f"built in {time.monotonic() - began:.0f} s", file=sys.stderr)


async def _truncate(url: str) -> None:
    await _sql(url, "TRUNCATE events, projects, contexts, channels CASCADE")


async def _analyze(url: str) -> None:
    await _sql(url, "VACUUM ANALYZE")


async def _sql(url: str, statement: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def cached(path: Path, total: int) -> bool:
    meta_file = path.with_name(path.name + ".json")
    if not path.exists() or not meta_file.exists():
        return False
    meta = json.loads(meta_file.read_text())
    return meta.get("events") == total and meta.get("migrations") == migration_files()


# ---------------------------------------------------------------- the hub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_hub(url: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = clean_env(HUB_DATABASE_URL=url, HUB_SERVER_RUN_JOBS="false")
    log = workdir / "hub.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [HUB, "serve", "--port", str(port)], cwd=workdir, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"hub exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"hub not ready after 120 s:\n{log.read_text()[-3000:]}")


def create_read_key(url: str) -> str:
    out = subprocess.run(
        [HUB, "keys", "create", "--scope", "read", "--name", "bench-feed"],
        env=clean_env(HUB_DATABASE_URL=url),
        capture_output=True,
        check=True,
    )
    return out.stdout.decode().strip().splitlines()[-1]


# ---------------------------------------------------------------- queries


class Query:
    def __init__(self, name: str, params: list[dict[str, Any]], rows: int | None = None) -> None:
        self.name = name
        self.params = params  # one per request, cycled
        self.rows = rows  # how many events match, for the table


async def deep_cursors(url: str, count: int) -> list[str]:
    """Cursors at random depths past the first half of the feed (keyset: as cheap as page one, if indexed)."""
    from sqlalchemy import select

    from hub.db import schema
    from hub.db.engine import Database
    from hub.db.events import encode_cursor

    e = schema.events.c
    db = Database(url, pool_size=1)
    try:
        async with db.reader.connect() as conn:
            top_level = (e.test.is_(False), e.parent_id.is_(None))
            query = select(e.created_at, e.id).where(*top_level).order_by(e.created_at.desc(), e.id.desc())
            feed = (await conn.execute(query)).all()
    finally:
        await db.dispose()
    rng = random.Random(SEED)
    depths = sorted(rng.randint(len(feed) // 2, len(feed) - 100) for _ in range(count))
    return [encode_cursor(*feed[depth]) for depth in depths]


async def count_matches(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from hub.db.engine import Database

    db = Database(url, pool_size=1)
    top = "test = false AND parent_id IS NULL"
    if db.is_sqlite:
        word = "SELECT count(*) FROM events_fts WHERE events_fts MATCH '\"' || :w || '\"*'"
    else:
        word = "SELECT count(*) FROM events WHERE search @@ to_tsquery('simple', :w || ':*')"
    counts = {
        "all": (f"SELECT count(*) FROM events WHERE {top}", {}),
        "project": (
            f"SELECT count(*) FROM events e JOIN projects p ON p.id = e.project_id WHERE p.slug = 'shop' AND {top}",
            {},
        ),
        "channel": (f"SELECT count(*) FROM events WHERE channel = 'orders' AND {top}", {}),
        "rare_channel": (f"SELECT count(*) FROM events WHERE channel = 'pushes' AND {top}", {}),
        "tag": ("SELECT count(*) FROM event_tags WHERE key = 'plan' AND value = 'pro'", {}),
        "rare_tag": ("SELECT count(*) FROM event_tags WHERE key = 'sku' AND value = :v", {"v": RARE_SKU}),
        "critical": ("SELECT count(*) FROM events WHERE test = false AND severity = 'critical'", {}),
        "project_alerts": (
            "SELECT count(*) FROM events e JOIN projects p ON p.id = e.project_id"
            " WHERE p.slug = 'shop' AND e.test = false AND e.severity <> 'info'",
            {},
        ),
        "common_word": (word, {"w": COMMON_WORD}),
        "rare_word": (word, {"w": RARE_WORD}),
    }
    try:
        async with db.reader.connect() as conn:
            return {
                name: (await conn.execute(text(sql), params)).scalar_one() for name, (sql, params) in counts.items()
            }
    finally:
        await db.dispose()


def queries(url: str, requests: int) -> list[Query]:
    n = asyncio.run(count_matches(url))
    page = {"limit": 50}
    cursors = asyncio.run(deep_cursors(url, requests))
    return [
        Query("feed page", [page], n["all"]),
        Query("project page", [{**page, "project": "shop"}], n["project"]),
        Query("channel page", [{**page, "channel": "orders"}], n["channel"]),
        Query("rare channel, project", [{**page, "project": "mobile", "channel": "pushes"}], n["rare_channel"]),
        Query("rare channel, no project", [{**page, "channel": "pushes"}], n["rare_channel"]),
        Query("tag common", [{**page, "tag": "plan:pro"}], n["tag"]),
        Query("tag rare", [{**page, "tag": f"sku:{RARE_SKU}"}], n["rare_tag"]),
        Query("critical (in contexts too)", [{**page, "severity": "critical"}], n["critical"]),
        Query("warnings, project", [{**page, "project": "shop", "severity": "warning,critical"}], n["project_alerts"]),
        Query("search rare word", [{**page, "q": RARE_WORD}], n["rare_word"]),
        Query("search common word", [{**page, "q": COMMON_WORD}], n["common_word"]),
        Query("deep page (cursor)", [{**page, "cursor": c} for c in cursors], n["all"]),
    ]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def measure_http(base_url: str, key: str, query: Query, requests: int, warmup: int) -> tuple[list[float], int]:
    latencies = []
    items = 0
    with httpx.Client(base_url=base_url, headers={"authorization": f"Bearer {key}"}, timeout=60) as client:
        for i in range(warmup + requests):
            params = query.params[i % len(query.params)]
            began = time.perf_counter()
            response = client.get(f"/api/v1/events?{urlencode(params)}")
            elapsed = time.perf_counter() - began
            if response.status_code != 200:
                raise SystemExit(f"{query.name}: HTTP {response.status_code}: {response.text[:300]}")
            if i >= warmup:
                latencies.append(elapsed)
                items = len(response.json()["items"])
    return latencies, items


async def measure_store(url: str, query: Query, requests: int, warmup: int, explain: bool) -> list[float]:
    """The same query in-process through list_events: SQL plus rows to EventOut, no HTTP, no auth."""
    from sqlalchemy import event

    from hub.api.filters import parse_severity, parse_tags
    from hub.db.engine import Database
    from hub.db.events import EventFilter, ProjectDirectory, list_events

    db = Database(url, pool_size=1)
    projects = ProjectDirectory(db)
    seen: list[tuple[str, Any]] = []

    @event.listens_for(db.reader.sync_engine, "before_cursor_execute")
    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM events" in statement and not seen:
            seen.append((statement, parameters))

    latencies = []
    try:
        async with db.reader.connect() as conn:
            for i in range(warmup + requests):
                params = query.params[i % len(query.params)]
                project_ids = None
                if "project" in params:
                    project_ids = [await projects.lookup(conn, params["project"]) or -1]
                began = time.perf_counter()
                f = EventFilter(
                    project_ids=project_ids,
                    channel=params.get("channel"),
                    tags=parse_tags([params["tag"]] if "tag" in params else None),
                    severity=parse_severity(params.get("severity")),
                    q=params.get("q"),
                )
                await list_events(conn, db, projects, f, params.get("cursor"), params["limit"])
                if i >= warmup:
                    latencies.append(time.perf_counter() - began)
            if explain and seen:
                statement, parameters = seen[0]
                explain_sql = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
                plan = await conn.exec_driver_sql(explain_sql + statement, parameters)
                print(f"\n{query.name}:\n  {' '.join(statement.split())}")
                for row in plan:
                    print(f"    {row[-1]}")
    finally:
        await db.dispose()
    return latencies


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the database (default 1,000,000)")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per query (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per query first (default 20)")
    parser.add_argument("--db", type=Path, help="database file (default /tmp/hub-bench-feed-EVENTS.db, cached)")
    parser.add_argument("--database-url", help="a PostgreSQL URL (postgresql+asyncpg://...) instead of a SQLite file")
    parser.add_argument("--rebuild", action="store_true", help="build the database even if a cached one fits")
    parser.add_argument("--explain", action="store_true", help="print the query plan of each query")
    parser.add_argument("--no-store", action="store_true", help="skip the in-process (no HTTP) timings")
    args = parser.parse_args()

    if args.database_url:
        url = args.database_url
        if args.rebuild or not asyncio.run(postgres_ready(url, args.events)):
            build_postgres(url, args.events)
        where = "PostgreSQL"
    else:
        path = args.db or Path(tempfile.gettempdir()) / f"hub-bench-feed-{args.events}.db"
        if args.rebuild or not cached(path, args.events):
            build(path, args.events)
        else:
            print(f"using cached {path} (--rebuild to build it again)", file=sys.stderr)
        url = sqlite_url(path)
        where = f"SQLite, {path.stat().st_size / 1e6:,.0f} MB"

    qs = queries(url, args.requests)
    key = create_read_key(url)
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-feed-"))
    port = free_port()
    hub = start_hub(url, port, workdir)
    base_url = f"http://127.0.0.1:{port}"
    try:
        print(
            f"\nfeed benchmark: {args.events:,} events ({where}), "
            f"{args.requests} requests per query after {args.warmup} warm-up, one keep-alive connection, "
            f"{os.cpu_count()} CPUs\n"
        )
        header = (
            f"{'query':<24} {'matching':>9} {'items':>5} {'http p50':>9} {'http p99':>9} "
            f"{'store p50':>9} {'store p99':>9}"
        )
        print(header + "\n" + "-" * len(header), flush=True)
        for query in qs:
            http, items = measure_http(base_url, key, query, args.requests, args.warmup)
            store = None
            if not args.no_store:
                store = asyncio.run(measure_store(url, query, args.requests, args.warmup, False))
            store_cols = f"{percentile(store, 0.5):>9.2f} {percentile(store, 0.99):>9.2f}" if store else ""
            print(
                f"{query.name:<24} {query.rows or 0:>9,} {items:>5} {percentile(http, 0.5):>9.2f} "
                f"{percentile(http, 0.99):>9.2f} {store_cols}",
                flush=True,
            )
        print("\nlatencies in ms; http = client-measured GET, store = list_events() in-process (SQL + rows)")
        if args.explain:
            for query in qs:
                asyncio.run(measure_store(url, query, 0, 1, True))
    finally:
        hub.terminate()
        try:
            hub.wait(15)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait()
        for child in workdir.iterdir():
            child.unlink()
        workdir.rmdir()
    return 0


def _on_term(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_term)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
