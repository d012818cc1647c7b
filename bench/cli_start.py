"""How long `hub` commands take to start: what every `hub run` in a crontab and every `hub send` in a script pays.

Each command runs --runs times as its own process (the installed `hub` script next to this Python); the best and
the median wall-clock time are printed, with the modules it imported and whether SQLAlchemy or Litestar were among
them (the commands that open no database and serve nothing should not load them). `hub send` and `hub run` talk
to a stand-in hub on loopback that answers 201 at once, so only the command's own time is counted.

    python bench/cli_start.py
    python bench/cli_start.py --runs 20
"""

from __future__ import annotations

import argparse
import http.server
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HUB = str(Path(sys.executable).with_name("hub"))
CHECK = "0b9e9e56-8b4f-4c4e-9d4a-2d3c1f0e7a11"
COMMANDS = {
    "hub --help": ["--help"],
    "hub send": ["send", "--key", "k", "--project", "p", "--event", "x"],
    "hub run -- true": ["run", "--check", CHECK, "--", "true"],
    "hub checks list --help": ["checks", "list", "--help"],
}


class Answer201(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"id": "1"}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


def heavy_modules(importtime: str) -> str:
    names = {line.rsplit("|", 1)[1].strip() for line in importtime.splitlines() if line.startswith("import time:")}
    loaded = sorted(name for name in ("sqlalchemy", "litestar") if name in names)
    return f"{len(names)} modules, " + (" and ".join(loaded) + " loaded" if loaded else "no SQLAlchemy or Litestar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default 10)")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer201)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"HUB_URL": f"http://127.0.0.1:{server.server_address[1]}", "PATH": "/usr/bin:/bin"}
    with tempfile.TemporaryDirectory() as folder:
        for label, words in COMMANDS.items():
            seconds = []
            for _ in range(args.runs):
                started = time.perf_counter()
                subprocess.run([HUB, *words], cwd=folder, env=env, capture_output=True, check=True)
                seconds.append(time.perf_counter() - started)
            traced = subprocess.run(
                [sys.executable, "-X", "importtime", "-m", "hub", *words], cwd=folder, env=env, capture_output=True
            )
            print(
                f"{label:24} best {min(seconds) * 1000:5.0f} ms  median {statistics.median(seconds) * 1000:5.0f} ms"
                f"  ({heavy_modules(traced.stderr.decode())})"
            )
    server.shutdown()


if __name__ == "__main__":
    main()
