"""`hub run --check UUID -- command args...`: a cron wrapper in the manner of runitor.

It pings `/start`, runs the command with its output passed through, then pings `/{exit_status}` with the tail
of the output as the body, and exits with the command's own status. The hub being unreachable never fails
the job: a ping that cannot be delivered is reported on stderr and the job's status still passes through.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Sequence
from typing import IO

import httpx

# What the body of the finishing ping carries: the last bytes of stdout and stderr, interleaved as they came.
DEFAULT_TAIL = 10 * 1024
ATTEMPTS = 5


class Tail:
    """The last `limit` bytes written through it, from any thread."""

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError(f"a tail keeps 0 bytes or more, not {limit}")
        self.limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self._lock:
            self._chunks.append(chunk)
            self._size += len(chunk)
            # Drop the chunks the last `limit` bytes do not reach (with a limit of 0, all of them).
            while self._chunks and self._size - len(self._chunks[0]) >= self.limit:
                self._size -= len(self._chunks.popleft())

    def value(self) -> bytes:
        with self._lock:
            kept = b"".join(self._chunks)
        return kept[max(len(kept) - self.limit, 0) :]  # not `[-limit:]`, which is everything for 0


def _pump(source: IO[bytes], sink: IO[bytes], tail: Tail) -> None:
    for chunk in iter(lambda: source.read1(65536), b""):  # type: ignore[attr-defined]
        sink.write(chunk)
        sink.flush()
        tail.add(chunk)


def send_ping(client: httpx.Client, url: str, body: bytes | None = None) -> bool:
    """POST one ping, retrying connection failures and 5xx like `curl --retry`; True when the hub took it."""
    for attempt in range(ATTEMPTS):
        try:
            response = client.post(url, content=body or b"")
            if response.status_code < 500:
                if response.status_code >= 400 or response.text.startswith("OK (not found)"):
                    print(f"hub run: {url} answered {response.status_code} {response.text!r}", file=sys.stderr)
                    return False
                return True
        except httpx.HTTPError as exc:
            if attempt == ATTEMPTS - 1:
                print(f"hub run: could not ping {url}: {exc}", file=sys.stderr)
                return False
        time.sleep(min(2**attempt * 0.2, 3))
    print(f"hub run: {url} kept failing", file=sys.stderr)
    return False


def run(base_url: str, check: str, command: Sequence[str], *, tail_bytes: int = DEFAULT_TAIL) -> int:
    """Ping start, run `command`, ping its exit status with its output's tail; returns the exit status."""
    ping_url = f"{base_url.rstrip('/')}/ping/{check}"
    rid = str(uuid.uuid4())
    tail = Tail(tail_bytes)
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        send_ping(client, f"{ping_url}/start?rid={rid}")
        try:
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603
        except OSError as exc:
            message = f"hub run: cannot run {command[0]!r}: {exc}\n".encode()
            sys.stderr.buffer.write(message)
            send_ping(client, f"{ping_url}/127?rid={rid}", message)
            return 127
        assert process.stdout is not None and process.stderr is not None
        pumps = [
            threading.Thread(target=_pump, args=(process.stdout, sys.stdout.buffer, tail), daemon=True),
            threading.Thread(target=_pump, args=(process.stderr, sys.stderr.buffer, tail), daemon=True),
        ]
        for pump in pumps:
            pump.start()
        status = process.wait()
        for pump in pumps:
            pump.join()
        # A command killed by a signal reports 128 + the signal's number, as shells do.
        exit_status = status if status >= 0 else 128 - status
        send_ping(client, f"{ping_url}/{exit_status}?rid={rid}", tail.value())
    return exit_status
