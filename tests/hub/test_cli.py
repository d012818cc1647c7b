"""The `hub` command as people and scripts use it: a fresh directory, keys, send, errors."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from peers import LoopbackServer

from hub import cli

HUB = [sys.executable, "-m", "hub"]


def run(args: list[str], cwd, env=None, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HUB, *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60, **kwargs
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_fresh_directory_serve_keys_send(tmp_path):
    """No config at all: `hub serve` makes ./hub.db, prints its URL; a created key works with `hub send`."""
    port = free_port()
    env = {"HUB_CONFIG": "", "HUB_SERVER_PORT": str(port)}
    server = subprocess.Popen(
        [*HUB, "serve"], cwd=tmp_path, env={**os.environ, **env}, stderr=subprocess.PIPE, text=True
    )
    try:
        banner = server.stderr.readline()
        assert f"listening on http://127.0.0.1:{port}" in banner
        assert "No API keys yet" in server.stderr.readline()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert (tmp_path / "hub.db").exists()

        created = run(["keys", "create", "--scope", "admin", "--name", "ci"], tmp_path, env)
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip()
        assert re.fullmatch(r"hub_[A-Za-z0-9_-]{43}", key), "the key is the only stdout line"
        assert key not in created.stderr

        sent = run(
            [
                "send",
                "--url",
                url,
                "--project",
                "demo",
                "--event",
                "Deploy finished",
                "--icon",
                "🚀",
                "--tag",
                "version=1.4.2",
                "--tag",
                "canary=true",
            ],
            tmp_path,
            {**env, "HUB_KEY": key},
        )
        assert sent.returncode == 0, sent.stderr
        event_id = sent.stdout.strip()
        stored = httpx.get(f"{url}/api/v1/events/{event_id}", headers={"Authorization": f"Bearer {key}"}).json()
        assert stored["event"]["tags"] == {"version": "1.4.2", "canary": True}

        refused = run(["send", "--url", url, "--event", ""], tmp_path, {**env, "HUB_KEY": key})
        assert refused.returncode == 1
        assert "400" in refused.stderr and "event" in refused.stderr

        listed = run(["keys", "list"], tmp_path, env)
        assert "ci" in listed.stdout and key not in listed.stdout
        key_id = listed.stdout.split("\t")[0]
        assert run(["keys", "revoke", key_id], tmp_path, env).returncode == 0
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    log = server.stderr.read()
    assert "Running job" not in log, "one line per scheduled job run (the outbox's every second) floods the log"
    assert "Traceback" not in log


def test_serve_behind_a_proxy_says_where_it_listens_and_where_it_is_reached(tmp_path):
    """With `base_url` set it printed only that (`listening on https://hub.example.com`), not the port it bound."""
    port = free_port()
    env = {
        **os.environ,
        "HUB_CONFIG": "",
        "HUB_SERVER_PORT": str(port),
        "HUB_SERVER_BASE_URL": "https://hub.example.com",
    }
    server = subprocess.Popen([*HUB, "serve"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        banner = server.stderr.readline()
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert f"listening on http://127.0.0.1:{port}, reached at https://hub.example.com (database: " in banner


def test_send_without_a_key_or_server(tmp_path):
    result = run(["send", "--event", "x"], tmp_path, {"HUB_KEY": ""})
    assert result.returncode == 2
    assert "no API key" in result.stderr
    port = free_port()
    result = run(["send", "--url", f"http://127.0.0.1:{port}", "--key", "k", "--event", "x"], tmp_path)
    assert result.returncode == 1
    assert "could not reach" in result.stderr


def test_bad_config_file_is_reported(tmp_path, capsys):
    path = tmp_path / "hub.toml"
    path.write_text("[server]\nport = 0\n")
    assert cli.main(["--config", str(path), "keys", "list"]) == 2
    assert "server.port" in capsys.readouterr().err


def test_a_plugin_command_names_the_setting_that_kept_its_plugin_from_loading(tmp_path, capsys):
    """Not argparse's "invalid choice: 'checks'", which is all a bad plugin setting used to leave."""
    path = tmp_path / "hub.toml"
    path.write_text("[plugins.heartbeat]\nping_body_limit = -5\n")
    assert cli.main(["--config", str(path), "checks", "list"]) == 2
    error = capsys.readouterr().err
    assert "[plugins.heartbeat]" in error and "ping_body_limit" in error and "invalid choice" not in error


def test_keys_create_rejects_unknown_scope(tmp_path):
    result = run(["keys", "create", "--scope", "root"], tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.parametrize(
    ("option", "rule"),
    [
        (["--project", "bad slug!"], "must be a slug"),
        (["--rate-limit", "-5"], "positive number"),
        (["--rate-limit", "nan"], "positive number"),
    ],
)
def test_keys_create_rejects_a_key_that_could_never_work(tmp_path, option, rule):
    result = run(["keys", "create", "--scope", "ingest", *option], tmp_path)
    assert result.returncode == 2 and rule in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"], ["keys", "create", "--help"]])
def test_help(args, tmp_path):
    assert run(args, tmp_path).returncode == 0


def test_sources_add_rotates_a_secret_and_keeps_what_is_left_out(tmp_path):
    env = {"HUB_CONFIG": ""}
    added = run(
        ["sources", "add", "stripe", "main", "--project", "shop", "--channel", "pay", "--secret", "whsec_one1"],
        tmp_path,
        env,
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().endswith("/hooks/stripe/main")
    rotated = run(["sources", "add", "stripe", "main", "--secret", "whsec_two2", "--keep-old-secrets"], tmp_path, env)
    assert rotated.returncode == 0, rotated.stderr
    [source] = json.loads(run(["sources", "list", "--json"], tmp_path, env).stdout)
    assert (source["project"], source["channel"], len(source["secret_hints"])) == ("shop", "pay", 2)


@pytest.mark.parametrize(
    ("args", "rule"),
    [
        (["sources", "add", "stripe", "new", "--secret", "whsec_one1"], "--project is required"),
        (["sources", "add", "stripe", "new", "--project", "shop", "--secret", "abc"], "length >= 8"),
        (["sources", "add", "stripe", "Bad/Name", "--project", "shop", "--secret", "whsec_one1"], "regex"),
        (["sources", "add", "stripe", "new", "--project", "bad slug", "--secret", "whsec_one1"], "regex"),
    ],
)
def test_sources_add_holds_a_source_to_the_api_rules(tmp_path, args, rule):
    """A source with no project used to be stored, and every delivery to it failed with a 500."""
    env = {"HUB_CONFIG": ""}
    result = run(args, tmp_path, env)
    assert result.returncode == 2 and rule in result.stderr, result.stderr
    assert json.loads(run(["sources", "list", "--json"], tmp_path, env).stdout) == []


def test_a_config_source_of_no_loaded_plugin_stops_the_start(tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text('[[sources]]\nplugin = "nope"\nname = "main"\nproject = "shop"\nsecrets = ["whsec_one1"]\n')
    result = run(["--config", str(config), "sources", "list"], tmp_path)
    assert result.returncode != 0 and "no loaded plugin provides source type 'nope'" in result.stderr


def _recording_hub() -> LoopbackServer:
    """A stand-in for a running hub: answers every event with an id and keeps what it was sent."""
    return LoopbackServer(lambda _: (201, {"Content-Type": "application/json"}, b'{"id": "1"}'))


def test_send_goes_to_the_configured_port_without_a_url(tmp_path):
    """`HUB_SERVER_PORT=8791 hub serve` and then `hub send`: the event went to port 8000, which nothing served."""
    with _recording_hub() as peer:
        port = peer.server.server_address[1]
        sent = run(["send", "--key", "k", "--project", "p", "--event", "x"], tmp_path, {"HUB_SERVER_PORT": str(port)})
        assert sent.returncode == 0, sent.stderr
        assert [r.path for r in peer.received] == ["/api/v1/events"]
        config = tmp_path / "hub.toml"
        config.write_text(f'[server]\nbase_url = "{peer.url}/"\n')
        sent = run(["--config", str(config), "send", "--key", "k", "--project", "p", "--event", "x"], tmp_path)
        assert sent.returncode == 0, sent.stderr
        assert len(peer.received) == 2


def test_send_keeps_tag_values_a_number_would_change(tmp_path):
    """`--tag version=1.10` was sent as the number 1.1 and `--tag build=007` as 7."""
    with _recording_hub() as peer:
        tags = ["version=1.10", "build=007", "count=42", "ratio=0.5", "canary=true", "limit=inf", "x=1e3", "n=-3"]
        options = [option for tag in tags for option in ("--tag", tag)]
        sent = run(["send", "--url", peer.url, "--key", "k", "--project", "p", "--event", "x", *options], tmp_path)
        assert sent.returncode == 0, sent.stderr
        assert json.loads(peer.received[0].body)["tags"] == {
            "version": "1.10",
            "build": "007",
            "count": 42,
            "ratio": 0.5,
            "canary": True,
            "limit": "inf",
            "x": "1e3",
            "n": -3,
        }


def _imported(stderr: str) -> set[str]:
    """The top-level packages a `python -X importtime` run imported (its lines end with the module's name)."""
    return {
        line.rsplit("|", 1)[1].strip().split(".")[0] for line in stderr.splitlines() if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["send", "--key", "k", "--project", "p", "--event", "x"],
        ["run", "--check", "0b9e9e56-8b4f-4c4e-9d4a-2d3c1f0e7a11", "--", sys.executable, "-c", "pass"],
    ],
    ids=["help", "send", "run"],
)
def test_commands_that_need_no_database_start_without_its_code(tmp_path, args):
    """`hub run` wraps every cron job and `hub send` runs in scripts: they took 0.8 s to start, half of it loading
    SQLAlchemy and Litestar (about 4 s on a Raspberry Pi), which neither uses."""
    with _recording_hub() as peer:
        env = {**os.environ, "HUB_URL": peer.url}
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "hub", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert len(peer.received) == {"help": 0, "send": 1, "run": 2}[args[0].strip("-")]
    imported = _imported(done.stderr)
    assert "hub_plugins" in imported  # the plugins' commands are there
    assert imported & {"sqlalchemy", "litestar", "alembic", "uvicorn"} == set()


def test_config_may_follow_the_command(tmp_path, capsys):
    """The README's `pass --config hub.toml` after the command (`hub serve --config hub.toml`) was refused as an
    unrecognized argument: only `hub --config hub.toml serve` worked."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nport = 0\n")
    assert cli.main(["keys", "list", "--config", str(bad)]) == 2
    assert "server.port" in capsys.readouterr().err
    config = tmp_path / "hub.toml"
    config.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "other.db"}"\n')
    assert cli.main(["keys", "create", "--scope", "read", "--name", "after", "--config", str(config)]) == 0
    assert cli.main(["checks", "list", "--config", str(config)]) == 0  # a plugin's command takes it too
    capsys.readouterr()
    assert cli.main(["--config", str(config), "keys", "list"]) == 0
    assert "after" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["plugins"], ["keys", "list", "--json"]])
def test_a_reader_that_stops_early_gets_no_traceback(tmp_path, args):
    """`hub keys list | head -1` ended in a BrokenPipeError traceback."""
    if args[0] == "keys":
        assert run(["keys", "create", "--name", "one"], tmp_path, {"HUB_CONFIG": ""}).returncode == 0
    process = subprocess.Popen(
        [*HUB, *args],
        cwd=tmp_path,
        env={**os.environ, "HUB_CONFIG": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # the reader is gone before the command writes
    _, stderr = process.communicate(timeout=60)
    assert b"Traceback" not in stderr and b"Exception ignored" not in stderr, stderr.decode()
    assert process.returncode == 141  # as a shell reports a command that SIGPIPE ended


def _every_command(parser: argparse.ArgumentParser, words: tuple[str, ...] = ()):
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _every_command(sub, (*words, name))


def test_help_explains_every_option_and_argument(tmp_path):
    """`hub serve --help` listed `--host HOST`, `--port PORT` and `--workers WORKERS` and nothing else about them."""
    parser = cli.build_parser()
    assert cli._add_plugin_commands(parser, []) is None
    unexplained = [
        f"hub {' '.join(words)} {action.option_strings[0] if action.option_strings else action.dest}"
        for words, command in _every_command(parser)
        for action in command._actions
        if not action.help and not isinstance(action, argparse._SubParsersAction)
    ]
    assert unexplained == []
    assert "exit status" in run(["--help"], tmp_path).stdout


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (502, b"<html>\n<h1>Bad Gateway</h1>\n</html>", "502 from http://127.0.0.1:"),
        (500, b'["not", "an", "object"]', '["not", "an", "object"]'),
        (200, b"<html>a web page</html>", "not an event id"),
        (201, b'{"ok": true}', "not an event id"),
        (302, b"", "Found"),
    ],
)
def test_send_reports_an_answer_that_is_no_event_in_one_line(tmp_path, status, body, said):
    """A proxy's error page or another server at the URL ended in a traceback (`'list' object has no attribute
    'get'`, `KeyError: 'id'`, a JSONDecodeError), or in a bare "302: "."""
    with LoopbackServer(lambda _: (status, {"Content-Type": "text/html"}, body)) as peer:
        sent = run(["send", "--url", peer.url, "--key", "k", "--event", "x"], tmp_path)
    assert (sent.returncode, sent.stdout) == (1, "")
    assert len(sent.stderr.splitlines()) == 1 and said in sent.stderr, sent.stderr


@pytest.mark.parametrize("url", ["http://[::1", "127.0.0.1:8795", "ftp://example.com"])
def test_send_refuses_a_url_that_is_no_hub_url(tmp_path, url):
    """`http://[::1` ended in an httpx.InvalidURL traceback; the others waited for a connection that never came."""
    for args, env in ((["--url", url], {}), ([], {"HUB_URL": url})):
        sent = run(["send", *args, "--key", "k", "--event", "x"], tmp_path, env)
        assert sent.returncode == 2 and "--url (or HUB_URL)" in sent.stderr and "Traceback" not in sent.stderr


def test_serve_on_a_port_in_use_says_so_before_claiming_to_listen(tmp_path):
    """It printed "listening on ..." and then uvicorn's "[Errno 98] error while attempting to bind", exit 3."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = run(["serve"], tmp_path, {"HUB_CONFIG": "", "HUB_SERVER_PORT": str(port)})
    assert result.returncode == 1
    assert result.stderr == (
        f"hub: port {port} on 127.0.0.1 is in use (another hub?); choose another with --port or HUB_SERVER_PORT\n"
    )
    assert not (tmp_path / "hub.db").exists()


def test_ctrl_c_at_the_password_prompt_ends_quietly(tmp_path):
    """Ctrl-C at `hub users password`'s prompt (or while the plugins load) printed a KeyboardInterrupt traceback."""
    import pty
    import select

    terminal, stdin = pty.openpty()
    process = subprocess.Popen(
        [*HUB, "users", "password", "ada@example.com"],
        cwd=tmp_path,
        env={**os.environ, "HUB_CONFIG": ""},
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # no /dev/tty of this test's: getpass prompts on stderr
        # A shell's background job (`pytest &`) ignores SIGINT, and so would the hub, which then waits for ever.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(stdin)
    prompt, deadline = b"", time.monotonic() + 60
    while b"Password" not in prompt and time.monotonic() < deadline:
        if select.select([process.stderr], [], [], 1)[0]:
            prompt += os.read(process.stderr.fileno(), 1024)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    os.close(terminal)
    assert b"Password" in prompt
    assert process.returncode == 130 and b"Traceback" not in stderr, stderr.decode()


@pytest.mark.parametrize(
    ("url", "status", "said"),
    [
        # Each was a traceback of a dozen frames or more, exit status 1.
        ("mysql://hub:pw@db/hub", 2, "hub: invalid setting: database.url 'mysql://hub:***@db/hub' is not supported"),
        ("postgresql://hub@127.0.0.1/hub", 2, "is not supported: use sqlite+aiosqlite:///path or postgresql+asyncpg"),
        ("sqlite:///hub.db", 2, "database.url 'sqlite:///hub.db' is not supported"),
        ("not a url", 2, "hub: invalid setting: database.url is not a database URL"),
        ("sqlite+aiosqlite:///no/such/folder/hub.db", 1, "/no/such/folder/hub.db: unable to open database file"),
    ],
)
def test_a_database_url_that_cannot_be_used_is_one_line(tmp_path, monkeypatch, capsys, url, status, said):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    for command in (["migrate"], ["keys", "list"]):
        assert cli.main(command) == status
        error = capsys.readouterr().err
        assert said in error and len(error.splitlines()) == 1, error


def test_a_database_that_cannot_be_opened_leaves_no_driver_thread_behind(tmp_path, monkeypatch, capsys):
    """aiosqlite ends the worker thread of a connection it could not open without waiting for it: the command's
    event loop closed first, and the thread's last reply to it failed with "Event loop is closed" (logged as an
    exception in that thread when the command ran in a test's process)."""
    failed: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", failed.append)
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/hub.db")
    before = set(threading.enumerate())
    for command in (["migrate"], ["keys", "list"]):
        assert cli.main(command) == 1
    left = [t for t in set(threading.enumerate()) - before if t.name.endswith("(_connection_worker_thread)")]
    for thread in left:
        thread.join(5)
    assert left == [] and failed == [], [f"{f.exc_type.__name__}: {f.exc_value}" for f in failed]


def test_serve_on_a_database_it_cannot_reach_says_so_in_one_line(tmp_path):
    """A PostgreSQL that refuses connections (not started yet, wrong port): `hub serve` printed its banner and
    then asyncpg's traceback. The password stays out of the message."""
    port = free_port()
    result = run(["serve"], tmp_path, {"HUB_DATABASE_URL": f"postgresql+asyncpg://hub:s3cret@127.0.0.1:{port}/hub"})
    assert result.returncode == 1
    assert result.stderr == (
        f"hub: cannot open the database postgresql+asyncpg://hub:***@127.0.0.1:{port}/hub: "
        f"[Errno 111] Connect call failed ('127.0.0.1', {port})\n"
    )


@pytest.mark.parametrize(("workers", "sig"), [(1, signal.SIGTERM), (2, signal.SIGTERM), (1, signal.SIGINT)])
def test_serve_stopped_by_a_signal_exits_0(tmp_path, workers, sig):
    """systemd, Docker and Kubernetes stop a service with SIGTERM: with one worker, uvicorn shut the hub down
    cleanly and then raised SIGTERM again, so `hub serve` died of it (status -15, 143 in a shell) as if it had
    crashed."""
    port = free_port()
    env = {**os.environ, "HUB_CONFIG": "", "HUB_SERVER_PORT": str(port), "HUB_SERVER_WORKERS": str(workers)}
    server = subprocess.Popen([*HUB, "serve"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read()
                time.sleep(0.1)
        server.send_signal(sig)
        started = time.monotonic()
        code = server.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    log = server.stderr.read()
    assert code == 0, log
    assert took < 10, f"it took {took:.1f} s to stop"
    assert "Traceback" not in log
