"""`[plugins.heartbeat]`: each setting takes effect (tests/hub/test_config.py checks the example file)."""

from __future__ import annotations

import pytest


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
