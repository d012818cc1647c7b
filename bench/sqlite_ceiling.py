"""What SQLite alone can store: the hub's own schema, filled with plain sqlite3 and no hub code in the way.

The hub's batch ingest cannot beat the database it writes to. This creates a database with `hub migrate`
(every table, index and the FTS5 trigger exactly as the hub has them), then inserts events and their tag rows
in transactions of --batch events, and prints events/s with the full-text index, written by `executemany` and
as multi-row `INSERT ... VALUES (...), (...)` statements of the sizes the ingest writer uses (see
hub/db/batch.py), and, for comparison, without the full-text trigger.

    python bench/sqlite_ceiling.py                    # 50,000 events in transactions of 1,000
    python bench/sqlite_ceiling.py --batch 16         # transactions the size of a busy single-event group
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from itertools import chain
from pathlib import Path

from ingest import make_event  # the events bench/ingest.py sends (this folder is on sys.path when run as a script)

from hub.db.batch import MOST_ROWS, statement_sizes

HUB = str(Path(sys.executable).with_name("hub"))
CHECKPOINT_EVENTS = 5_000
COLUMNS = (
    "id, project_id, channel, event, description, parser, icon, notify, severity, tags, content, actions, "
    "user_id, context_id, parent_id, source, test, idempotency_key, created_at, received_at"
)


def fresh_database(folder: Path, name: str) -> sqlite3.Connection:
    path = folder / f"{name}.db"
    env = {"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{path}", "PATH": "/usr/bin:/bin"}
    subprocess.run([HUB, "migrate"], env=env, check=True, capture_output=True)
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "wal_autocheckpoint=0"):
        db.execute(f"PRAGMA {pragma}")
    db.execute("INSERT INTO projects (slug, created_at) VALUES ('shop', '2026-01-01 00:00:00')")
    return db


def fill(db: sqlite3.Connection, events: list[dict], batch: int, *, multirow: bool = False) -> float:
    """Seconds to store `events`, with their tags, in transactions of `batch`.

    The WAL is checkpointed every CHECKPOINT_EVENTS events, outside the timing: the hub does it on another thread
    (hub/db/checkpoint.py), and a WAL left to grow to gigabytes made the figures swing twofold between runs."""
    event_id = int(time.time() * 1000) << 22
    spent = 0.0
    for first in range(0, len(events), batch):
        if first // CHECKPOINT_EVENTS != (first + batch) // CHECKPOINT_EVENTS:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        started = time.perf_counter()
        rows, tags = [], []
        for event in events[first : first + batch]:
            event_id += 1
            at = time.strftime("%Y-%m-%d %H:%M:%S.000000")
            rows.append(
                (event_id, 1, event["channel"], event["event"], event["description"], "text", event.get("icon"),
                 False, "info", json.dumps(event["tags"]), None, None, event.get("user_id"), None, None, "api",
                 False, None, at, at)
            )  # fmt: skip
            tags += [(event_id, key, str(value), at) for key, value in event["tags"].items()]
        db.execute("BEGIN IMMEDIATE")
        insert(db, f"INSERT INTO events ({COLUMNS}) VALUES", rows, multirow=multirow)
        insert(db, "INSERT INTO event_tags (event_id, key, value, created_at) VALUES", tags, multirow=multirow)
        db.execute("COMMIT")
        spent += time.perf_counter() - started
    return spent


def insert(db: sqlite3.Connection, head: str, rows: list[tuple], *, multirow: bool) -> None:
    if not rows:
        return
    one_row = f"({', '.join('?' * len(rows[0]))})"
    if not multirow:
        db.executemany(f"{head} {one_row}", rows)
        return
    for size in statement_sizes(len(rows), most=MOST_ROWS):
        part, rows = rows[:size], rows[size:]
        db.execute(f"{head} {', '.join([one_row] * size)}", list(chain.from_iterable(part)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000, help="events per transaction")
    args = parser.parse_args()
    rng = random.Random(1)
    events = [make_event(rng) for _ in range(args.events)]
    print(f"SQLite {sqlite3.sqlite_version}, {args.events:,} events in transactions of {args.batch}")
    with tempfile.TemporaryDirectory(prefix="hub-bench-sqlite-") as folder:
        with_fts = fresh_database(Path(folder), "fts")
        seconds = fill(with_fts, events, args.batch)
        print(f"with the full-text index:    {args.events / seconds:>9,.0f} events/s (executemany)")
        multirow = fresh_database(Path(folder), "multirow")
        seconds = fill(multirow, events, args.batch, multirow=True)
        print(f"with the full-text index:    {args.events / seconds:>9,.0f} events/s (multi-row, as the hub)")
        without = fresh_database(Path(folder), "plain")
        without.execute("DROP TRIGGER events_fts_insert")
        seconds = fill(without, events, args.batch, multirow=True)
        print(f"without the full-text index: {args.events / seconds:>9,.0f} events/s")


if __name__ == "__main__":
    main()
