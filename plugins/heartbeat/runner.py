"""`hub run --check UUID -- command args...`: a cron wrapper in the manner of runitor.

It pings `/start` while the command starts, runs the command with its output passed through, then pings
`/{exit_status}` with the tail of the output as the body, and exits with the command's own status. The hub being
unreachable never fails or delays the job: a ping that cannot be delivered within PING_DEADLINE_SECONDS is
reported on stderr and the job's status still passes through. SIGTERM, SIGINT and SIGHUP are passed on to the
command, so that a stopped job (systemd, `timeout`, `kill`) still ends in a finishing ping with its status.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator, Sequence
from typing import IO

import httpx

# What the body of the finishing ping carries: the last bytes of stdout and stderr, interleaved as they came.
DEFAULT_TAIL = 10 * 1024
ATTEMPTS = 5
# A ping gives up after this long, retries included: a hub that accepts connections and never answers would
# otherwise hold `hub run` for 5 attempts of 10 s each, twice.
PING_DEADLINE_SECONDS = 20.0


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
    """Pass the command's output on. When the reader of `hub run`'s output is gone (`hub run ... | head`), the
    command's pipe is closed too, so its next write fails as it would have written to that reader itself: the
    command had blocked for good on a full pipe nobody read."""
    for chunk in iter(lambda: source.read1(65536), b""):  # type: ignore[attr-defined]
        tail.add(chunk)
        try:
            sink.write(chunk)
            sink.flush()
        except BrokenPipeError:
            source.close()
            # Nothing more reaches the reader; without this, exiting would report the broken pipe as well.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sink.fileno())
            os.close(devnull)
            return


def send_ping(
    client: httpx.Client, url: str, body: bytes | None = None, deadline_seconds: float = PING_DEADLINE_SECONDS
) -> bool:
    """POST one ping, retrying connection failures and 5xx like `curl --retry`, within `deadline_seconds`; True
    when the hub took it."""
    give_up_at = time.monotonic() + deadline_seconds
    problem = "no time left to try"
    for attempt in range(ATTEMPTS):
        left = give_up_at - time.monotonic()
        if left <= 0:
            break
        try:
            response = client.post(url, content=body or b"", timeout=min(10.0, left))
            if response.status_code < 500:
                if response.status_code >= 400 or response.text.startswith("OK (not found)"):
                    print(f"hub run: {url} answered {response.status_code} {response.text!r}", file=sys.stderr)
                    return False
                return True
            problem = f"answered {response.status_code} {response.text[:200]!r}"
        except httpx.InvalidURL as exc:  # a --check no URL can hold (a newline): no retry will help
            problem = str(exc)
            break
        except httpx.HTTPError as exc:
            problem = str(exc) or type(exc).__name__
            if attempt == ATTEMPTS - 1 or time.monotonic() >= give_up_at:
                break
        time.sleep(max(0.0, min(2**attempt * 0.2, 3, give_up_at - time.monotonic())))
    # The last problem, also when the time ran out between retries (it said only "kept failing" then).
    print(f"hub run: could not ping {url}: {problem}", file=sys.stderr)
    return False


FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class _Forwarder:
    """Passes the signals that would end `hub run` to the command instead, which decides how to end.

    Installed before the command starts: a signal in between (a `kill` right as the job starts) ended `hub run`
    and left the job running with no finishing ping. One that comes before the command exists is passed on as
    soon as it does. Ctrl-C in a terminal already reaches a running command (it is in the same foreground process
    group), so SIGINT is not passed on then: a second one would cut short the command's own clean-up."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []

    def __call__(self, signum: int, _: object) -> None:
        if self.process is None:
            self.pending.append(signum)
        elif not (signum == signal.SIGINT and _in_terminal_foreground()):
            self.process.send_signal(signum)

    def attach(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        for signum in self.pending:
            process.send_signal(signum)


def _start_deaf(thread: threading.Thread) -> None:
    """Start `thread` with the forwarded signals blocked in it (a thread keeps its creator's mask), so that they
    reach the main thread: one the kernel gave a helper thread left the main thread in `waitpid`, the handler
    never run, the job never told, and `hub run` waiting on it for good."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _forwarding_signals() -> Iterator[_Forwarder]:
    forwarder = _Forwarder()
    previous = {signum: signal.signal(signum, forwarder) for signum in FORWARDED_SIGNALS}
    try:
        yield forwarder
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _in_terminal_foreground() -> bool:
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):  # no terminal, or no stdin at all
        return False


def run(
    base_url: str,
    check: str,
    command: Sequence[str],
    *,
    tail_bytes: int = DEFAULT_TAIL,
    ping_deadline: float = PING_DEADLINE_SECONDS,
) -> int:
    """Ping start, run `command`, ping its exit status with its output's tail; returns the exit status."""
    ping_url = f"{base_url.rstrip('/')}/ping/{check}"
    rid = str(uuid.uuid4())
    tail = Tail(tail_bytes)
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        # The job starts at once; its start ping goes meanwhile and is waited for before the finish ping.
        starting = threading.Thread(
            target=send_ping, args=(client, f"{ping_url}/start?rid={rid}", None, ping_deadline), daemon=True
        )
        _start_deaf(starting)
        # Until the finishing ping is sent: a signal after the command ended must not cut it short either.
        with _forwarding_signals() as forwarder:
            try:
                process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603
            except OSError as exc:
                message = f"hub run: cannot run {command[0]!r}: {exc}\n".encode()
                sys.stderr.buffer.write(message)
                starting.join()
                send_ping(client, f"{ping_url}/127?rid={rid}", message, ping_deadline)
                return 127
            forwarder.attach(process)
            assert process.stdout is not None and process.stderr is not None
            pumps = [
                threading.Thread(target=_pump, args=(process.stdout, sys.stdout.buffer, tail), daemon=True),
                threading.Thread(target=_pump, args=(process.stderr, sys.stderr.buffer, tail), daemon=True),
            ]
            for pump in pumps:
                _start_deaf(pump)
            status = process.wait()
            for pump in pumps:
                pump.join()
            # A command killed by a signal reports 128 + the signal's number, as shells do.
            exit_status = status if status >= 0 else 128 - status
            starting.join()
            send_ping(client, f"{ping_url}/{exit_status}?rid={rid}", tail.value(), ping_deadline)
    return exit_status
