"""What SQLite alone can store: the hub's own schema, filled with plain sqlite3 and no hub code in the way.

The hub's batch ingest cannot beat the database it writes to. This creates a database with `hub migrate`
(every table, index and the FTS5 trigger exactly as the hub has them), then inserts events and their tag rows
in transactions of --batch events, and prints events/s with the full-text index, written both ways the hub
knows (`executemany`, and the events as one statement over a JSON array, as the ingest writer does: see
hub/db/batch.py), and, for comparison, without the full-text trigger.

    python bench/sqlite_ceiling.py                    # 50,000 events in transactions of 1,000
    python bench/sqlite_ceiling.py --batch 32         # transactions the size of a busy single-event group
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
from pathlib import Path

from ingest import make_event  # the events bench/ingest.py sends (this folder is on sys.path when run as a script)

HUB = str(Path(sys.executable).with_name("hub"))
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


def fill(db: sqlite3.Connection, events: list[dict], batch: int, *, one_statement: bool = False) -> float:
    """Seconds to store `events`, with their tags, in transactions of `batch`."""
    event_id = int(time.time() * 1000) << 22
    started = time.perf_counter()
    for first in range(0, len(events), batch):
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
        if one_statement:
            picks = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(20))
            db.execute(f"INSERT INTO events ({COLUMNS}) SELECT {picks} FROM json_each(?)", (json.dumps(rows),))
        else:
            db.executemany(f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * 20)})", rows)
        db.executemany("INSERT INTO event_tags (event_id, key, value, created_at) VALUES (?, ?, ?, ?)", tags)
        db.execute("COMMIT")
    return time.perf_counter() - started


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
        one = fresh_database(Path(folder), "one")
        seconds = fill(one, events, args.batch, one_statement=True)
        print(f"with the full-text index:    {args.events / seconds:>9,.0f} events/s (one statement, JSON rows)")
        without = fresh_database(Path(folder), "plain")
        without.execute("DROP TRIGGER events_fts_insert")
        seconds = fill(without, events, args.batch)
        print(f"without the full-text index: {args.events / seconds:>9,.0f} events/s")


if __name__ == "__main__":
    main()
