"""Every route bounds the body it reads, declared or chunked, and stops reading where the bound is passed.

A security audit found the app-wide bound set to the largest one (16 MiB, for batches) on every route: 40
concurrent 16 MiB sign-ins, answered 400, took a hub from 572 MB to 2.25 GB; Slack's route and chunked webhook
deliveries were read whole before their own checks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

CHUNK = b"x" * 65536


class Chunked:
    """A body sent chunked (no Content-Length), counting the chunks the hub took."""

    def __init__(self, head: bytes, chunks: int) -> None:
        self.head, self.chunks, self.taken = head, chunks, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.head
        for _ in range(self.chunks):
            self.taken += 1
            yield CHUNK


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"HUB_PLUGINS_SLACK_SIGNING_SECRET": "s" * 32}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("path", "limit", "said"),
    [
        # Bodies the framework decodes.
        ("/api/v1/session", 262144, "request body is larger than the limit of 262144 bytes"),
        ("/api/v1/session/password", 262144, "request body is larger than the limit of 262144 bytes"),
        # Bodies routes read themselves.
        ("/api/v1/routes/test", 262144, "request body is larger than the limit of 262144 bytes"),
        ("/api/v1/slack/interactivity", 65536, "a Slack payload is at most 65536 bytes"),
        ("/api/v1/events", 262144, "request body is larger than the limit of 262144 bytes"),
        ("/v1/log", 262144, "request body is larger than the limit of 262144 bytes"),
        ("/api/v1/events/batch", 16777216, "request body is larger than the limit of 16777216 bytes"),
        ("/hooks/example/main", 5242880, "limit of 5242880 bytes (setting `webhooks.max_body_bytes`)"),
    ],
)
async def test_a_chunked_body_past_the_limit_is_refused_as_soon_as_it_passes_it(
    client, admin_headers, path, limit, said
) -> None:
    source = {"plugin": "example", "name": "main", "project": "acme", "secrets": ["x" * 16]}
    assert (await client.post("/api/v1/sources", json=source, headers=admin_headers)).status_code == 201
    body = Chunked(b'{"a": "', chunks=400)  # 25 MiB, past every limit
    response = await client.post(
        path, content=body, headers={**admin_headers, "content-type": "application/json", "origin": "http://hub.test"}
    )
    assert response.status_code == 413, response.text
    assert said in response.text
    assert body.taken <= limit // len(CHUNK) + 1, f"read {body.taken} chunks of 64 KiB past a limit of {limit}"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_declared_body_past_the_limit_of_a_sign_in_is_refused_before_it_is_read(client) -> None:
    declared = Chunked(b"{", chunks=10)
    response = await client.post(
        "/api/v1/session",
        content=declared,
        headers={"content-type": "application/json", "content-length": str(300 * 1024), "origin": "http://hub.test"},
    )
    assert response.status_code == 413
    assert declared.taken == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("settings_overrides", [{"HUB_INGEST_MAX_BODY_BYTES": str(1024 * 1024)}])
async def test_the_rule_test_takes_any_event_ingest_takes(client, admin_headers) -> None:
    """With `ingest.max_body_bytes` raised, an event ingest stored could not be tested against the rules: the rule
    test took at most the 256 KiB of the bodies the framework decodes."""
    event = {"project": "shop", "event": "Nightly export", "notify": True, "content": {"rows": "x" * 60_000}}
    body = json.dumps(event).encode() + b" " * (300 * 1024)  # pretty-printed JSON is this long, or longer
    headers = {**admin_headers, "content-type": "application/json"}
    explained = await client.post("/api/v1/routes/test", content=body, headers=headers)
    assert explained.status_code == 200, explained.text
    assert [v["rule"] for v in explained.json()["verdicts"]] == ["default"]
    assert (await client.post("/api/v1/events", content=body, headers=headers)).status_code == 201
    bad = await client.post("/api/v1/routes/test", json={"event": "x", "severity": "loud"}, headers=admin_headers)
    assert bad.status_code == 400 and bad.json()["field"] == "severity"
