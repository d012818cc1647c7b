"""The core webhook route and the sources admin API, driven through the example third-party plugin."""

from __future__ import annotations

import hashlib
import hmac
import json

import msgspec
import pytest
from hub_example_plugin import ExampleSource

from hub import sources
from hub.testing import bearer, make_key

SECRET = "example-secret-1"


def signed(body: dict | bytes, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    signature = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"x-signature": f"sha256={signature}", "content-type": "application/json"}


async def create_source(client, headers, **extra) -> dict:
    body = {"plugin": "example", "name": "main", "project": "acme", "secrets": [SECRET], **extra}
    response = await client.post("/api/v1/sources", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def events(client, headers) -> list[dict]:
    return (await client.get("/api/v1/events?project=acme", headers=headers)).json()["items"]


async def test_delivery_becomes_one_event_and_redelivery_stores_nothing(client, admin_headers):
    source = await create_source(client, admin_headers)
    assert source["url"].endswith("/hooks/example/main")
    assert source["secret_hints"] == ["…et-1"]
    raw, headers = signed({"id": "d-1", "title": "Backup finished", "level": "warning", "details": {"gb": 12}})
    first = await client.post("/hooks/example/main", content=raw, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["duplicate"] is False
    again = await client.post("/hooks/example/main", content=raw, headers=headers)
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    [event] = await events(client, admin_headers)
    assert (event["event"], event["channel"], event["severity"], event["source"]) == (
        "Backup finished",
        "examples",
        "warning",
        "example",
    )
    assert event["content"] == {"gb": 12}
    assert event["tags"] == {"example_id": "d-1"}


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 400, "missing or malformed X-Signature"),
        ({"x-signature": "sha256=00"}, 401, "does not match"),
        ({"x-signature": "md5=abc"}, 400, "malformed"),
    ],
)
async def test_bad_signatures_store_nothing(client, admin_headers, headers, status, message):
    await create_source(client, admin_headers)
    raw, _ = signed({"id": "d-1", "title": "x"})
    response = await client.post("/hooks/example/main", content=raw, headers=headers)
    assert response.status_code == status
    assert message in response.json()["message"]
    assert await events(client, admin_headers) == []


async def test_tampered_body_and_wrong_secret_are_refused(client, admin_headers):
    await create_source(client, admin_headers)
    raw, headers = signed({"id": "d-1", "title": "x"})
    tampered = raw.replace(b'"x"', b'"y"')
    assert (await client.post("/hooks/example/main", content=tampered, headers=headers)).status_code == 401
    raw, headers = signed({"id": "d-1", "title": "x"}, secret="another-secret")
    assert (await client.post("/hooks/example/main", content=raw, headers=headers)).status_code == 401
    assert await events(client, admin_headers) == []


async def test_unknown_source_is_404(client, admin_headers):
    raw, headers = signed({"id": "d-1", "title": "x"})
    assert (await client.post("/hooks/example/nope", content=raw, headers=headers)).status_code == 404
    assert (await client.post("/hooks/nope/main", content=raw, headers=headers)).status_code == 404


async def test_names_no_source_can_have_are_not_kept_in_memory(client, hub, monkeypatch):
    """Each lookup is cached, misses too, and anyone can send any name: 3,000 unknown names of 60 KB took the
    hub from 290 MB to 547 MB in 20 s (a security audit). Names no source can have are not looked up; others
    are kept at most CACHE_MAX at a time."""
    monkeypatch.setattr(sources, "CACHE_MAX", 3)
    raw, headers = signed({"id": "d-1", "title": "x"})
    cached = set(hub.sources._cache)  # the test's own source, saved at start
    for path in ("/hooks/nope/main", "/hooks/example/" + "a" * 65, "/hooks/example/Not-A-Name"):
        assert (await client.post(path, content=raw, headers=headers)).status_code == 404
    assert set(hub.sources._cache) == cached
    for n in range(7):
        assert (await client.post(f"/hooks/example/nope-{n}", content=raw, headers=headers)).status_code == 404
        assert len(hub.sources._cache) <= 3


async def test_secret_rotation_accepts_either_secret(client, admin_headers):
    await create_source(client, admin_headers)
    response = await client.put(
        "/api/v1/sources/example/main",
        headers=admin_headers,
        json={"project": "acme", "secrets": [SECRET, "example-secret-2"], "channel": "ops"},
    )
    assert response.status_code == 200, response.text
    for index, secret in enumerate([SECRET, "example-secret-2"]):
        raw, headers = signed({"id": f"d-{index}", "title": f"t{index}"}, secret=secret)
        assert (await client.post("/hooks/example/main", content=raw, headers=headers)).status_code == 200
    stored = await events(client, admin_headers)
    assert len(stored) == 2
    assert {e["channel"] for e in stored} == {"ops"}, "the source's channel overrides the plugin's"


async def test_a_crashing_plugin_still_gives_a_readable_event(client, admin_headers, monkeypatch):
    def broken(self, request):
        raise KeyError("boom")

    monkeypatch.setattr(ExampleSource, "parse", broken)
    await create_source(client, admin_headers)
    raw, headers = signed({"id": "d-1", "title": "x", "surprise": [1, 2]})
    response = await client.post("/hooks/example/main", content=raw, headers=headers)
    assert response.status_code == 200
    [event] = await events(client, admin_headers)
    assert event["event"] == "example delivery to main"
    assert event["content"]["surprise"] == [1, 2]
    again = await client.post("/hooks/example/main", content=raw, headers=headers)
    assert again.json()["duplicate"] is True


async def test_a_crashing_verifier_stores_nothing(client, admin_headers, monkeypatch):
    def broken(self, request, secrets):
        raise RuntimeError("boom")

    monkeypatch.setattr(ExampleSource, "verify", broken)
    await create_source(client, admin_headers)
    raw, headers = signed({"id": "d-1", "title": "x"})
    response = await client.post("/hooks/example/main", content=raw, headers=headers)
    assert response.status_code == 500
    assert "nothing was stored" in response.json()["message"]
    assert await events(client, admin_headers) == []


async def test_nul_characters_in_a_delivery_are_stored_as_replacement_characters(client, admin_headers):
    await create_source(client, admin_headers)
    raw, headers = signed({"id": "d-1", "title": "bad\u0000title", "extra": "\u0000"})
    assert (await client.post("/hooks/example/main", content=raw, headers=headers)).status_code == 200
    [event] = await events(client, admin_headers)
    assert "\x00" not in json.dumps(event, ensure_ascii=False)
    assert "\ufffd" in event["event"]


async def test_deeply_nested_json_is_refused_not_a_500(client, admin_headers):
    await create_source(client, admin_headers)
    raw, headers = signed(b"[" * 100_000)
    response = await client.post("/hooks/example/main", content=raw, headers=headers)
    assert response.status_code == 400, response.text
    assert await events(client, admin_headers) == []


async def test_a_delivery_nested_past_the_content_limit_is_kept_as_text(client, admin_headers):
    """The plugin cannot make an event of it (its content would nest 40 deep), nor can the raw fallback as JSON."""
    await create_source(client, admin_headers)
    deep: list = []
    for _ in range(39):
        deep = [deep]
    raw, headers = signed({"id": "d-1", "title": "x", "details": {"deep": deep}})
    response = await client.post("/hooks/example/main", content=raw, headers=headers)
    assert response.status_code == 200, response.text
    [event] = await events(client, admin_headers)
    assert event["event"] == "example delivery to main"
    assert event["content"] == {"truncated_body": raw.decode()}


async def test_a_plugin_event_breaking_the_limits_falls_back(client, admin_headers, monkeypatch):
    original = ExampleSource.parse

    def oversized(self, request):
        delivery = original(self, request)
        delivery.events[0].event = "x" * 300  # over the 250-character limit
        return delivery

    monkeypatch.setattr(ExampleSource, "parse", oversized)
    await create_source(client, admin_headers)
    raw, headers = signed({"id": "d-1", "title": "x"})
    assert (await client.post("/hooks/example/main", content=raw, headers=headers)).status_code == 200
    [event] = await events(client, admin_headers)
    assert event["event"] == "example delivery to main"


async def test_parse_rejection_is_a_4xx(client, admin_headers):
    await create_source(client, admin_headers)
    raw, headers = signed(b"[1, 2]")
    response = await client.post("/hooks/example/main", content=raw, headers=headers)
    assert response.status_code == 400
    assert "not an example payload" in response.json()["message"]


async def test_sources_api_rules(client, hub, admin_headers):
    bad = await client.post(
        "/api/v1/sources",
        headers=admin_headers,
        json={"plugin": "nope", "name": "x", "project": "p", "secrets": ["12345678"]},
    )
    assert bad.status_code == 400
    assert "example" in bad.json()["message"]
    short = await client.post(
        "/api/v1/sources",
        headers=admin_headers,
        json={"plugin": "example", "name": "x", "project": "p", "secrets": ["short"]},
    )
    assert short.status_code == 400
    assert short.json()["field"] == "secrets[0]"
    await create_source(client, admin_headers)
    assert (
        await client.post(
            "/api/v1/sources",
            headers=admin_headers,
            json={"plugin": "example", "name": "main", "project": "p", "secrets": ["12345678"]},
        )
    ).status_code == 409
    listed = (await client.get("/api/v1/sources", headers=admin_headers)).json()
    assert SECRET not in json.dumps(listed)
    reader = bearer(await make_key(hub, "read"))
    assert (await client.get("/api/v1/sources", headers=reader)).status_code == 403
    assert (await client.delete("/api/v1/sources/example/main", headers=admin_headers)).status_code == 204
    assert (await client.delete("/api/v1/sources/example/main", headers=admin_headers)).status_code == 404


@pytest.fixture
def settings_overrides():
    return {
        "HUB_SOURCES": '[{plugin = "example", name = "cfg", project = "acme", secrets = ["${EXAMPLE_SECRET}"]}]',
        "EXAMPLE_SECRET": SECRET,
    }


async def test_config_declared_sources_are_owned_by_the_file(client, admin_headers):
    listed = (await client.get("/api/v1/sources", headers=admin_headers)).json()
    assert [(s["name"], s["managed_by"]) for s in listed] == [("cfg", "config")]
    raw, headers = signed({"id": "d-1", "title": "from config"})
    assert (await client.post("/hooks/example/cfg", content=raw, headers=headers)).status_code == 200
    response = await client.put(
        "/api/v1/sources/example/cfg", headers=admin_headers, json={"project": "acme", "secrets": ["12345678"]}
    )
    assert response.status_code == 409
    assert "config file" in response.json()["message"]
    assert (await client.delete("/api/v1/sources/example/cfg", headers=admin_headers)).status_code == 409


def test_event_model_survives_round_trip_from_plugins():
    from hub.pluginapi import EventIn

    event = EventIn(event="x", tags={"a": 1})
    assert msgspec.convert(msgspec.to_builtins(event), EventIn) == event
