"""`[plugins.heartbeat]`: every setting is in config.example.toml with its default, and each one takes effect."""

from __future__ import annotations

import tomllib
from pathlib import Path

import msgspec
import pytest
from hub_plugins.heartbeat.settings import HeartbeatSettings

EXAMPLE = Path(__file__).resolve().parents[3] / "config.example.toml"


def example_block() -> dict:
    """The commented-out `[plugins.heartbeat]` table of config.example.toml, uncommented and parsed."""
    lines = EXAMPLE.read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("# [plugins.heartbeat]")))
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("# ") or line.startswith("# ["):
            break
        block.append(line[2:])
    return tomllib.loads("\n".join(block))


def test_example_config_lists_every_heartbeat_setting_with_its_default():
    block = example_block()
    defaults = msgspec.to_builtins(HeartbeatSettings())
    for field in msgspec.structs.fields(HeartbeatSettings):
        assert field.name in block, f"[plugins.heartbeat] {field.name} is missing from config.example.toml"
        if field.name != "checks":  # the example declares two checks; the default is none
            assert block[field.name] == defaults[field.name], f"[plugins.heartbeat] {field.name} default differs"
    settings = msgspec.convert(block, HeartbeatSettings)  # the example checks are valid
    assert [(c.slug, c.period, c.cron) for c in settings.checks] == [
        ("nightly-backup", None, "0 3 * * *"),
        ("queue-worker", 300, None),
    ]


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"HUB_PLUGINS": '{heartbeat = {not_found = "404", allow_create = false, ping_body_limit = 16}}'}


async def test_settings_take_effect(client, admin_headers, create_check):
    check = await create_check(period=60, grace=30)
    unknown = await client.get("/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278")
    assert (unknown.status_code, unknown.text) == (404, "not found")
    assert (await client.head("/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278")).status_code == 404

    keys = (await client.get("/api/v1/check-projects/ops", headers=admin_headers)).json()
    refused = await client.get(f"/ping/{keys['ping_key']}/new-job?create=1")
    assert (refused.status_code, refused.text) == (404, "not found")

    answer = await client.post(f"/ping/{check['uuid']}", content=b"0123456789abcdef and more")
    assert (answer.text, answer.headers["ping-body-limit"]) == ("OK", "16")
    [ping] = (await client.get(f"/api/v1/checks/{check['uuid']}/pings", headers=admin_headers)).json()["items"]
    assert (ping["body"], ping["body_size"], ping["body_truncated"]) == ("0123456789abcdef", 25, True)


async def test_bodies_with_nul_and_bad_utf8_are_kept_readable(client, admin_headers, create_check):
    """PostgreSQL text cannot hold NUL: it becomes U+FFFD, as invalid UTF-8 does, and the ping is stored."""
    check = await create_check(period=60, grace=30)
    assert (await client.post(f"/ping/{check['uuid']}/fail", content=b"a\x00b\xffc")).text == "OK"
    [ping] = (await client.get(f"/api/v1/checks/{check['uuid']}/pings", headers=admin_headers)).json()["items"]
    assert ping["body"] == "a\ufffdb\ufffdc"
