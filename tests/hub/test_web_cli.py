"""The first admin from the shell: `hub users create EMAIL --role admin` with a password, then signing in."""

from __future__ import annotations

import os
import subprocess
import sys

from litestar.testing import TestClient

from hub.app import create_app
from hub.config import load_settings

HUB = [sys.executable, "-m", "hub"]


def run(args: list[str], cwd, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUB_CONFIG": "", "HUB_SERVER_RUN_JOBS": "false"}
    return subprocess.run([*HUB, *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_first_admin_from_the_cli_can_sign_in(tmp_path):
    created = run(
        ["users", "create", "ada@example.com", "--role", "admin", "--password-stdin"], tmp_path, "a long passphrase\n"
    )
    assert created.returncode == 0, created.stderr
    short = run(["users", "password", "ada@example.com", "--password-stdin"], tmp_path, "short\n")
    assert short.returncode == 2 and "at least 10" in short.stderr
    no_password = run(["users", "create", "bob@example.com"], tmp_path)  # not a terminal: no prompt, a hint
    assert no_password.returncode == 0 and "hub users password bob@example.com" in no_password.stderr

    settings = load_settings(environ={"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"})
    with TestClient(create_app(settings)) as client:
        signed_in = client.post("/api/v1/session", json={"email": "ada@example.com", "password": "a long passphrase"})
        assert signed_in.status_code == 200 and signed_in.json()["user"]["role"] == "admin"
        refused = client.post("/api/v1/session", json={"email": "bob@example.com", "password": "a long passphrase"})
        assert refused.status_code == 401


def test_a_password_reset_from_the_cli_signs_the_user_out_everywhere(tmp_path):
    """An admin resetting a password (a stolen one, say) ends every session made with the old one."""
    assert (
        run(["users", "create", "ada@example.com", "--password-stdin"], tmp_path, "a long passphrase\n").returncode == 0
    )
    settings = load_settings(environ={"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"})
    with TestClient(create_app(settings)) as client:
        signed_in = client.post("/api/v1/session", json={"email": "ada@example.com", "password": "a long passphrase"})
        assert signed_in.status_code == 200 and client.get("/api/v1/session").status_code == 200
        reset = run(["users", "password", "ada@example.com", "--password-stdin"], tmp_path, "another passphrase\n")
        assert reset.returncode == 0, reset.stderr
        assert client.get("/api/v1/session").status_code == 401


def test_a_fresh_hub_serve_says_how_to_make_the_first_admin(tmp_path):
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "HUB_CONFIG": "",
        "HUB_SERVER_RUN_JOBS": "false",
        "HUB_SERVER_HOST": "127.0.0.1",
        "HUB_SERVER_PORT": str(port),
    }
    server = subprocess.Popen([*HUB, "serve"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        deadline = time.monotonic() + 60
        while "--role admin" not in seen and time.monotonic() < deadline:
            line = server.stderr.readline()
            if not line:
                break
            seen += line
        assert "No users yet. Create the first admin" in seen, seen
        assert "hub users create you@example.com --role admin" in seen
    finally:
        server.terminate()
        server.wait(timeout=20)
