"""End to end: GitHub's example deliveries, signed as GitHub signs them, through `POST /hooks/github/<source>`
into the store, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from urllib.parse import urlencode

import pytest

SECRET = "s3cret-for-tests"


async def create_source(client, headers, **extra) -> dict:
    body = {"plugin": "github", "name": "main", "project": "acme", "secrets": [SECRET], **extra}
    response = await client.post("/api/v1/sources", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def stored(client, headers) -> list[dict]:
    response = await client.get("/api/v1/events?project=acme&limit=200", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_every_example_delivery_becomes_exactly_one_event(client, admin_headers, bodies, payloads, sign):
    source = await create_source(client, admin_headers)
    assert source["url"].endswith("/hooks/github/main")

    for name, body in bodies.items():
        response = await client.post(
            "/hooks/github/main", content=body, headers=sign(body, name, delivery=f"delivery-{name}")
        )
        assert response.status_code == 200, (name, response.text)
        if name == "ping":
            assert response.json() == {"ok": True, "zen": payloads["ping"]["zen"], "hook_id": 109948940}
        else:
            assert response.json()["duplicate"] is False
            assert len(response.json()["events"]) == 1

    events = await stored(client, admin_headers)
    assert len(events) == len(bodies) == 58
    assert sorted(event["tags"]["event"] for event in events) == sorted(bodies)
    for event in events:
        assert event["source"] == "github"
        assert event["project"] == "acme"
        assert event["event"] and event["icon"]
    by_type = {event["tags"]["event"]: event for event in events}
    assert by_type["push"]["event"] == "[Codertocat/Hello-World] Codertocat pushed tag simple-tag"
    assert by_type["push"]["channel"] == "code"
    assert by_type["ping"]["event"] == "[Octocoders/Hello-World] Webhook connected (hook 109948940)"
    assert by_type["release"]["actions"][0]["url"] == "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1"

    for name, body in bodies.items():
        again = await client.post(
            "/hooks/github/main", content=body, headers=sign(body, name, delivery=f"delivery-{name}")
        )
        assert again.status_code == 200, (name, again.text)
        if name != "ping":
            assert again.json()["duplicate"] is True
    assert len(await stored(client, admin_headers)) == 58


async def test_deliveries_are_told_apart_by_their_id_not_their_body(client, admin_headers, bodies, sign):
    """A workflow dispatched twice with the same inputs sends the same body under two delivery ids: both are
    stored (the second was dropped as a duplicate for a week when the body was the key). A redelivery keeps its
    id, and is dropped whatever event name it comes under."""
    await create_source(client, admin_headers)
    body = bodies["workflow_dispatch"]
    for delivery in ("run-1", "run-2"):
        response = await client.post(
            "/hooks/github/main", content=body, headers=sign(body, "workflow_dispatch", delivery=delivery)
        )
        assert (response.status_code, response.json()["duplicate"]) == (200, False), response.text
    for event in ("workflow_dispatch", "secret_scanning_alert"):
        again = await client.post("/hooks/github/main", content=body, headers=sign(body, event, delivery="run-1"))
        assert (again.status_code, again.json()["duplicate"]) == (200, True), (event, again.text)
    assert [event["tags"]["event"] for event in await stored(client, admin_headers)] == ["workflow_dispatch"] * 2


def without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("tampered body", 401),
        ("wrong secret", 401),
        ("missing signature", 401),
        ("malformed signature", 400),
        ("missing delivery id", 400),
        ("missing event", 400),
        ("not json", 400),
    ],
)
async def test_bad_deliveries_are_refused_and_store_nothing(client, admin_headers, bodies, sign, case, status):
    await create_source(client, admin_headers)
    body = bodies["star"]
    headers = sign(body, "star")
    if case == "tampered body":
        body = body.replace(b"Codertocat", b"Mallory")
    elif case == "wrong secret":
        headers = sign(body, "star", secret="not-the-secret")
    elif case == "missing signature":
        headers = without(headers, "x-hub-signature-256")
    elif case == "malformed signature":
        headers["x-hub-signature-256"] = "sha1=" + "0" * 40
    elif case == "missing delivery id":
        headers = without(headers, "x-github-delivery")
    elif case == "missing event":
        headers = without(headers, "x-github-event")
    elif case == "not json":
        body = b"this is not json"
        headers = sign(body, "star")

    response = await client.post("/hooks/github/main", content=body, headers=headers)

    assert response.status_code == status, response.text
    assert response.json()["message"]
    assert await stored(client, admin_headers) == []


async def test_a_delivery_over_the_body_limit_is_refused_naming_the_setting(client, admin_headers, payloads, sign):
    # GitHub sends up to 25 MB; the hub's default limit is 5 MiB. The answer shows in GitHub's delivery log.
    await create_source(client, admin_headers)
    payload = copy.deepcopy(payloads["push"])
    payload["head_commit"]["added"] = [f"vendor/package-{n:06}/index.js" for n in range(200_000)]
    body = json.dumps(payload).encode()
    assert len(body) > 5 * 1024 * 1024

    response = await client.post("/hooks/github/main", content=body, headers=sign(body, "push"))

    assert response.status_code == 413, response.text
    assert response.json()["message"] == (
        "webhook body is larger than the limit of 5242880 bytes (setting `webhooks.max_body_bytes`)"
    )
    assert await stored(client, admin_headers) == []


async def test_form_encoded_delivery(client, admin_headers, bodies, sign):
    await create_source(client, admin_headers)
    form = urlencode({"payload": bodies["release"].decode()}).encode()

    response = await client.post("/hooks/github/main", content=form, headers=sign(form, "release", form=True))

    assert response.status_code == 200, response.text
    [event] = await stored(client, admin_headers)
    assert event["event"] == "[Codertocat/Hello-World] Codertocat published release 0.0.1"


async def test_rotated_secret_and_configured_channel(client, admin_headers, bodies, sign):
    await create_source(client, admin_headers, secrets=["the-old-secret", "the-new-secret"], channel="ops")
    body = bodies["workflow_run"]
    payload = json.loads(body)
    payload["workflow_run"].update(status="completed", conclusion="failure")
    body = json.dumps(payload).encode()

    response = await client.post(
        "/hooks/github/main", content=body, headers=sign(body, "workflow_run", secret="the-new-secret")
    )

    assert response.status_code == 200, response.text
    [event] = await stored(client, admin_headers)
    assert event["channel"] == "ops"
    assert (event["severity"], event["notify"]) == ("warning", True)
    assert event["tags"]["conclusion"] == "failure"


async def test_unknown_event_type_is_stored_generically(client, admin_headers, bodies, sign):
    await create_source(client, admin_headers)
    body = bodies["team_add"]

    response = await client.post("/hooks/github/main", content=body, headers=sign(body, "custom_property_values"))

    assert response.status_code == 200, response.text
    [event] = await stored(client, admin_headers)
    assert event["event"] == "[Octocoders/Hello-World] GitHub custom_property_values by Octocoders"
    assert event["channel"] == "github"
