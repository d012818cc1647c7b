"""Running action buttons and self-service actions: the target verifies the Standard Webhooks signature with
the `standardwebhooks` package; expiry, external links, inputs, teams, refused addresses and the audit trail."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from peers import LoopbackServer, Received
from sqlalchemy import select, update
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from hub.db import schema
from hub.models import now_utc
from hub.testing import bearer, make_key

SELF_SERVICE = [
    {
        "name": "rollback",
        "label": "Roll back the last deploy",
        "description": "Redeploys the previous release",
        "project": "shop",
        "url": "http://127.0.0.1:{port}/rollback",
        "teams": ["ops"],
        "inputs": [{"name": "reason", "type": "text", "required": True}],
        "record": {"channel": "deploys"},
    }
]


class Target:
    """An action endpoint that checks every request's signature with the project's secret."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.verified: list[dict] = []
        self.slow = False  # every answer takes a second, as /hang's does
        self.server = LoopbackServer(self.handle)

    def handle(self, received: Received):
        assert self.secret is not None
        payload = Webhook(self.secret).verify(received.body, received.headers)  # raises when wrong
        self.verified.append(payload)
        if received.path == "/fail":
            return 500, {}, b'{"message": "the deploy tool is down"}'
        if received.path == "/hang" or self.slow:
            time.sleep(1)
        if received.path == "/nul-message":
            return 200, {"Content-Type": "application/json"}, b'{"message": "done\\u0000 at last"}'
        if received.path == "/nul-body":
            return 200, {"Content-Type": "text/plain"}, b"done\x00"
        if received.path == "/plain-500":
            return 500, {"Content-Type": "text/plain; charset=utf-8"}, b"database is down\n"
        if received.path == "/empty-502":
            return 502, {}, b""
        if received.path == "/redirect":
            return 302, {"Location": "http://169.254.169.254/latest/meta-data"}, b""
        if received.path == "/huge-500":
            return 500, {"Content-Type": "text/plain"}, b"x" * 200_000
        return 200, {"Content-Type": "application/json"}, b'{"message": "Refund of 42 EUR issued"}'


@pytest.fixture
def target():
    endpoint = Target()
    with endpoint.server:
        yield endpoint


@pytest.fixture
def settings_overrides(target):
    port = target.server.server.server_address[1]
    return {"HUB_OUTBOUND_ALLOW": '["127.0.0.1"]', "HUB_SELF_SERVICE_ACTIONS": toml_value(SELF_SERVICE, port)}


def toml_value(items, port) -> str:
    """The config list as the TOML inline value HUB_SELF_SERVICE_ACTIONS takes."""

    def value(v):
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        return json.dumps(v.replace("{port}", str(port)) if isinstance(v, str) else v)

    return value(items)


async def store_event(client, headers, target, **action):
    base = {"label": "Refund", "url": f"{target.server.url}/refund", "key": "refund", "meta": {"charge": "ch_1"}}
    response = await client.post(
        "/api/v1/events",
        json={
            "project": "shop",
            "channel": "payments",
            "event": "Refund requested",
            "user_id": "u1",
            "actions": [
                {**base, **action},
                {"label": "Docs", "url": "https://example.com", "external": True, "key": "docs"},
            ],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def secret_for(client, headers, target):
    """`shop`'s secret, there before its first event: the configured `rollback` action names the project."""
    target.secret = (await client.get("/api/v1/action-secrets/shop", headers=headers)).json()["secret"]
    assert target.secret.startswith("whsec_")


async def test_running_a_button_sends_a_signed_request_and_shows_the_message(client, hub, admin_headers, target):
    await secret_for(client, admin_headers, target)
    event = await store_event(client, admin_headers, target)
    key = await make_key(hub, "act")
    run = await client.post(f"/api/v1/events/{event['id']}/actions/refund", headers=bearer(key))
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["status"] == "done" and body["http_status"] == 200
    assert body["message"] == "Refund of 42 EUR issued"
    [payload] = target.verified
    assert payload["event"] == {
        "id": event["id"],
        "key": "refund",
        "meta": {"charge": "ch_1"},
        "user_id": "u1",
        "project": "shop",
        "channel": "payments",
        "event": "Refund requested",
        "created_at": event["created_at"],
    }
    assert payload["actor"]["type"] == "api_key"
    assert payload["url"] == f"{target.server.url}/refund"  # signed with the rest: a receiver checks it is its own
    assert "inputs" not in payload
    runs = (await client.get(f"/api/v1/events/{event['id']}/runs", headers=admin_headers)).json()
    assert [(r["action"], r["status"], r["message"]) for r in runs] == [("refund", "done", "Refund of 42 EUR issued")]
    assert runs[0]["latency_ms"] > 0


async def test_rotation_signs_with_both_secrets_during_the_grace(client, hub, admin_headers, target):
    old = (await client.get("/api/v1/action-secrets/shop", headers=admin_headers)).json()["secret"]
    rotated = (await client.post("/api/v1/action-secrets/shop/rotate", headers=admin_headers)).json()
    assert rotated["secret"] != old and rotated["previous_valid_until"]
    event = await store_event(client, admin_headers, target)
    for secret in (old, rotated["secret"]):  # a receiver holding either secret accepts the request
        target.secret = secret
        run = await client.post(f"/api/v1/events/{event['id']}/actions/refund", headers=admin_headers)
        assert run.json()["status"] == "done"


async def test_two_rotations_at_once_keep_the_first_ones_secret_as_the_previous(client, hub, admin_headers, target):
    """Each rotation hands its secret to someone; the one that lands second must keep the other's as the previous
    (on PostgreSQL, a previous secret read before the update was the one both rotations replaced)."""
    await store_event(client, admin_headers, target)  # the project exists
    await hub.action_secrets.info("shop")
    first, second = await asyncio.gather(hub.action_secrets.rotate("shop"), hub.action_secrets.rotate("shop"))
    signing = await hub.action_secrets.signing_secrets("shop")
    assert sorted(signing) == sorted([first.secret, second.secret])


async def test_the_secret_of_an_unknown_project_is_404_and_makes_no_project(client, admin_headers):
    """Reading it made the project (and a secret) for any slug, a typo included."""
    for method, path in [("GET", "/api/v1/action-secrets/nowhere"), ("POST", "/api/v1/action-secrets/nowhere/rotate")]:
        response = await client.request(method, path, headers=admin_headers)
        assert response.status_code == 404, response.text
        assert response.json()["message"] == "no project nowhere"
    assert (await client.get("/api/v1/projects", headers=admin_headers)).json() == []


async def test_a_project_made_by_its_first_event_gets_its_secret_on_first_use(client, admin_headers):
    stored = await client.post("/api/v1/events", json={"project": "blog", "event": "Published"}, headers=admin_headers)
    assert stored.status_code == 201
    shown = await client.get("/api/v1/action-secrets/Blog", headers=admin_headers)
    assert shown.status_code == 200 and shown.json()["project"] == "blog"
    assert shown.json()["secret"].startswith("whsec_")


async def test_refusals(client, hub, admin_headers, target):
    await secret_for(client, admin_headers, target)
    event = await store_event(
        client,
        admin_headers,
        target,
        expire_in=1,
        teams=["ops"],
        inputs=[{"name": "amount", "type": "number", "required": True}],
    )
    url = f"/api/v1/events/{event['id']}/actions"
    act_key = bearer(await make_key(hub, "act"))
    assert (await client.post(f"{url}/refund", headers=bearer(await make_key(hub, "read")))).status_code == 403
    forbidden = await client.post(f"{url}/refund", json={"inputs": {"amount": 1}}, headers=act_key)
    assert forbidden.status_code == 403 and "ops" in forbidden.json()["message"]
    missing = await client.post(f"{url}/refund", json={"inputs": {}}, headers=admin_headers)
    assert missing.status_code == 400 and missing.json()["field"] == "inputs.amount"
    wrong = await client.post(f"{url}/refund", json={"inputs": {"amount": "lots"}}, headers=admin_headers)
    assert wrong.status_code == 400 and "must be a number" in wrong.json()["message"]
    assert (await client.post(f"{url}/nope", headers=admin_headers)).status_code == 404
    external = await client.post(f"{url}/docs", headers=admin_headers)
    assert external.status_code == 400 and external.json()["field"] == "key"
    ok = await client.post(f"{url}/refund", json={"inputs": {"amount": 42}}, headers=admin_headers)
    assert ok.json()["status"] == "done" and target.verified[-1]["inputs"] == {"amount": 42}

    async with hub.db.writer.begin() as conn:  # let the action's minute pass
        expired = [{**a, "expires_at": "2020-01-01T00:00:00+00:00"} for a in event["actions"]]
        await conn.execute(update(schema.events).where(schema.events.c.id == int(event["id"])).values(actions=expired))
    gone = await client.post(f"{url}/refund", json={"inputs": {"amount": 42}}, headers=admin_headers)
    assert gone.status_code == 410


@pytest.mark.parametrize("url", ["http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data", "http://[::1]:9/"])
async def test_private_action_urls_are_refused(client, admin_headers, url):
    event = (
        await client.post(
            "/api/v1/events",
            headers=admin_headers,
            json={"project": "blog", "event": "e", "actions": [{"label": "Go", "url": url, "key": "go"}]},
        )
    ).json()
    run = (await client.post(f"/api/v1/events/{event['id']}/actions/go", headers=admin_headers)).json()
    assert run["status"] == "failed" and run["message"].startswith("refused:")
    assert run["http_status"] is None


async def test_an_action_url_no_request_can_go_to_is_refused_and_fails_its_run(client, hub, admin_headers, target):
    """A port past 65535 or a malformed address got past the URL pattern, and running the action was a 500."""
    for url in ("http://127.0.0.1:99999/x", "http://[::1/x", "http:///x"):
        action = {"label": "Go", "url": url, "key": "go"}
        refused = await client.post(
            "/api/v1/events", headers=admin_headers, json={"project": "blog", "event": "e", "actions": [action]}
        )
        assert refused.status_code == 400 and refused.json()["field"] == "actions[0].url", refused.text
        assert "cannot be requested" in refused.json()["message"]
    event = await store_event(client, admin_headers, target)
    async with hub.db.writer.begin() as conn:  # one stored before the rule
        broken = [{**a, "url": "http://127.0.0.1:99999/x"} for a in event["actions"]]
        await conn.execute(update(schema.events).where(schema.events.c.id == int(event["id"])).values(actions=broken))
    run = await client.post(f"/api/v1/events/{event['id']}/actions/refund", headers=admin_headers)
    assert run.status_code == 200, run.text
    assert run.json()["status"] == "failed" and "cannot be requested" in run.json()["message"]
    assert target.verified == []


async def test_self_service_actions(client, hub, admin_headers, target):
    await secret_for(client, admin_headers, target)
    catalog = (await client.get("/api/v1/actions", headers=admin_headers)).json()
    assert [a["name"] for a in catalog] == ["rollback"]
    assert catalog[0]["inputs"] == [{"name": "reason", "required": True}]  # type text is the default
    act_key = bearer(await make_key(hub, "act"))
    assert (
        await client.post("/api/v1/actions/rollback/runs", json={"inputs": {"reason": "x"}}, headers=act_key)
    ).status_code == 403
    for inputs in ({}, {"reason": "  \n"}):  # spaces alone answer nothing
        bad = await client.post("/api/v1/actions/rollback/runs", json={"inputs": inputs}, headers=admin_headers)
        assert (bad.status_code, bad.json()["message"]) == (400, "`reason` is required")
    run = await client.post(
        "/api/v1/actions/rollback/runs", json={"inputs": {"reason": "bad deploy"}}, headers=admin_headers
    )
    assert run.json()["status"] == "done", run.text
    assert target.verified[-1]["action"] == {
        "name": "rollback",
        "label": "Roll back the last deploy",
        "project": "shop",
    }
    assert target.verified[-1]["inputs"] == {"reason": "bad deploy"}
    runs = (await client.get("/api/v1/actions/rollback/runs", headers=admin_headers)).json()
    assert [r["status"] for r in runs] == ["done"]
    feed = (await client.get("/api/v1/events?project=shop&channel=deploys", headers=admin_headers)).json()["items"]
    assert [e["event"] for e in feed] == ["test ran Roll back the last deploy"]
    assert feed[0]["tags"]["run"] == runs[0]["id"]
    assert (await client.post("/api/v1/actions/nope/runs", headers=admin_headers)).status_code == 404


async def test_a_self_service_run_that_cannot_be_recorded_still_answers_its_outcome(
    client, hub, admin_headers, target, monkeypatch
):
    """The action ran, then storing its record failed: a 500 told the caller to try again, running it twice."""
    await secret_for(client, admin_headers, target)

    async def refused(drafts):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(hub.ingestor, "store", refused)
    run = await client.post("/api/v1/actions/rollback/runs", json={"inputs": {"reason": "x"}}, headers=admin_headers)
    assert (run.status_code, run.json()["status"]) == (200, "done")
    assert len(target.verified) == 1


async def test_self_service_actions_of_other_projects_are_out_of_sight(client, hub, admin_headers, target):
    """`rollback` belongs to project `shop`: a key bound to `blog` neither lists, runs nor reads its runs."""
    await secret_for(client, admin_headers, target)
    ran = await client.post("/api/v1/actions/rollback/runs", json={"inputs": {"reason": "x"}}, headers=admin_headers)
    assert ran.status_code == 200
    blog = bearer(await make_key(hub, "admin", project="blog"))
    assert (await client.get("/api/v1/actions", headers=blog)).json() == []
    assert (await client.get("/api/v1/actions/rollback/runs", headers=blog)).status_code == 404
    refused = await client.post("/api/v1/actions/rollback/runs", json={"inputs": {"reason": "x"}}, headers=blog)
    assert refused.status_code == 404
    shop = bearer(await make_key(hub, "read", project="shop"))
    assert [r["status"] for r in (await client.get("/api/v1/actions/rollback/runs", headers=shop)).json()] == ["done"]


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "HUB_OUTBOUND_ALLOW": '["127.0.0.1"]',
            "HUB_SELF_SERVICE_ACTIONS": toml_value(
                [
                    {"name": "rollback", "label": "Roll back", "project": p, "url": "http://127.0.0.1:9/x"}
                    for p in ("shop", "blog")
                ],
                0,
            ),
        }
    ],
)
async def test_runs_of_a_namesake_action_in_another_project_are_out_of_sight(client, hub, admin_headers):
    """Two projects may each have a `rollback`: a key bound to `blog` reads the runs of `blog`'s only, not the
    inputs, actor and answer of `shop`'s."""
    shop, blog = (
        bearer(await make_key(hub, "admin", project="shop")),
        bearer(await make_key(hub, "admin", project="blog")),
    )
    assert (await client.post("/api/v1/actions/rollback/runs", headers=shop)).json()["project"] == "shop"
    assert [r["project"] for r in (await client.get("/api/v1/actions/rollback/runs", headers=blog)).json()] == []
    assert (await client.post("/api/v1/actions/rollback/runs", headers=blog)).json()["project"] == "blog"
    assert [r["project"] for r in (await client.get("/api/v1/actions/rollback/runs", headers=blog)).json()] == ["blog"]
    assert [r["project"] for r in (await client.get("/api/v1/actions/rollback/runs", headers=shop)).json()] == ["shop"]
    # An unbound admin sees both, and names the one it means (it could only ever reach the first).
    ambiguous = await client.post("/api/v1/actions/rollback/runs", headers=admin_headers)
    assert ambiguous.status_code == 400
    assert "`project` must name one of blog, shop" in ambiguous.text
    url = "/api/v1/actions/rollback/runs?project=Blog"
    assert (await client.post(url, headers=admin_headers)).json()["project"] == "blog"
    assert [r["project"] for r in (await client.get(url, headers=admin_headers)).json()] == ["blog", "blog"]
    other = await client.get("/api/v1/actions/rollback/runs?project=docs", headers=admin_headers)
    assert other.status_code == 404 and "no self-service action rollback in project docs" in other.text


async def test_a_failing_target_marks_the_run_failed(client, hub, admin_headers, target):
    await secret_for(client, admin_headers, target)
    event = await store_event(client, admin_headers, target, url=f"{target.server.url}/fail")
    run = (await client.post(f"/api/v1/events/{event['id']}/actions/refund", headers=admin_headers)).json()
    assert run["status"] == "failed" and run["http_status"] == 500
    assert run["message"] == "the deploy tool is down"


async def test_a_target_that_stops_answering_gets_one_run_at_a_time(client, hub, admin_headers, target, settings):
    """After a run times out, a second run at once is refused with the reason rather than waiting out a timeout."""
    settings.actions.timeout_seconds = 0.3
    await secret_for(client, admin_headers, target)
    event = await store_event(client, admin_headers, target, url=f"{target.server.url}/hang")
    url = f"/api/v1/events/{event['id']}/actions/refund"
    first = (await client.post(url, headers=admin_headers)).json()
    assert (first["status"], first["message"]) == ("failed", "the action's server did not answer in time")
    other = await store_event(client, admin_headers, target, url=f"{target.server.url}/hang")
    urls = (url, f"/api/v1/events/{other['id']}/actions/refund")  # one run at a time per button, too
    runs = [r.json() for r in await asyncio.gather(*(client.post(u, headers=admin_headers) for u in urls))]
    probe, refused = sorted((run["message"] for run in runs), key=lambda m: m.startswith("not sent"))
    assert probe == "the action's server did not answer in time"  # it checked whether the target was back
    assert refused.startswith(f"not sent: {target.server.url} did not answer a request")


async def test_nul_characters_are_refused_in_inputs_and_kept_out_of_the_record(client, hub, admin_headers, target):
    """PostgreSQL's text cannot hold NUL: an input with one was a 500, and a target answering with one left the run
    `running` for good (its outcome could not be written)."""
    await secret_for(client, admin_headers, target)
    inputs = [{"name": "reason", "type": "text"}, {"name": "note", "type": "text", "default": "none given"}]
    event = await store_event(client, admin_headers, target, url=f"{target.server.url}/nul-message", inputs=inputs)
    url = f"/api/v1/events/{event['id']}/actions/refund"
    refused = await client.post(url, json={"inputs": {"reason": "a\u0000b"}}, headers=admin_headers)
    assert refused.status_code == 400 and refused.json()["field"] == "inputs.reason"
    run = await client.post(url, json={"inputs": {"reason": "dup", "note": None}}, headers=admin_headers)
    assert run.status_code == 200, run.text
    assert (run.json()["status"], run.json()["message"]) == ("done", "done\ufffd at last")
    assert target.verified[-1]["inputs"] == {"reason": "dup", "note": "none given"}  # null: the default stands in
    raw = await store_event(client, admin_headers, target, url=f"{target.server.url}/nul-body")
    answered = await client.post(f"/api/v1/events/{raw['id']}/actions/refund", headers=admin_headers)
    assert (answered.status_code, answered.json()["response"]) == (200, "done\ufffd")
    for one in (event, raw):
        [stored] = (await client.get(f"/api/v1/events/{one['id']}/runs", headers=admin_headers)).json()
        assert stored["status"] == "done"


async def test_a_secret_input_reaches_the_server_and_is_never_kept(client, hub, admin_headers, target):
    await secret_for(client, admin_headers, target)
    inputs = [{"name": "reason", "type": "text"}, {"name": "otp", "type": "text", "secret": True, "required": True}]
    event = await store_event(client, admin_headers, target, inputs=inputs)
    url = f"/api/v1/events/{event['id']}/actions/refund"
    run = await client.post(url, json={"inputs": {"reason": "duplicate", "otp": "482913"}}, headers=admin_headers)
    assert run.status_code == 200 and run.json()["inputs"] == {"reason": "duplicate", "otp": "[hidden]"}, run.text
    assert target.verified[-1]["inputs"] == {"reason": "duplicate", "otp": "482913"}
    [kept] = (await client.get(f"/api/v1/events/{event['id']}/runs", headers=admin_headers)).json()
    assert kept["inputs"]["otp"] == "[hidden]"
    async with hub.db.reader.connect() as conn:
        rows = (await conn.execute(select(schema.action_runs))).all()
    assert "482913" not in repr(rows)
    for bad in ({"type": "number"}, {"default": "123456"}):
        spec = {"name": "otp", "secret": True, **bad}
        refused = await client.post(
            "/api/v1/events",
            json={
                "project": "shop",
                "event": "x",
                "actions": [{"label": "Go", "url": target.server.url, "key": "go", "inputs": [spec]}],
            },
            headers=admin_headers,
        )
        assert refused.status_code == 400 and "`secret` input" in refused.json()["message"], refused.text


async def test_a_second_click_while_the_first_run_is_under_way_is_refused(client, hub, admin_headers, target):
    """A double click (or two people, or the app and a notification at once) sent two requests and ran it twice."""
    await secret_for(client, admin_headers, target)
    event = await store_event(client, admin_headers, target, url=f"{target.server.url}/hang")
    url = f"/api/v1/events/{event['id']}/actions/refund"
    first, second = await asyncio.gather(*(client.post(url, headers=admin_headers) for _ in range(2)))
    ran, refused = sorted([first, second], key=lambda r: r.status_code)
    assert ran.status_code == 200 and ran.json()["status"] == "done"
    assert refused.status_code == 409, refused.text
    assert "`refund` is already running (started by test at " in refused.json()["message"]
    assert len(target.verified) == 1
    again = await client.post(url, headers=admin_headers)  # once it is over, it can run again
    assert again.status_code == 200 and len(target.verified) == 2
    target.slow = True
    ran_self = [
        client.post("/api/v1/actions/rollback/runs", json={"inputs": {"reason": "x"}}, headers=admin_headers)
        for _ in range(2)
    ]
    assert sorted(r.status_code for r in await asyncio.gather(*ran_self)) == [200, 409]


async def test_a_run_the_hub_itself_failed_to_send_is_failed_not_left_running(
    client, hub, admin_headers, target, monkeypatch
):
    """Reading the signing secrets failed (the database, say): the run stayed `running` and blocked the button."""
    await secret_for(client, admin_headers, target)
    event = await store_event(client, admin_headers, target)
    url = f"/api/v1/events/{event['id']}/actions/refund"

    async def unreadable(project):
        raise RuntimeError("the database is gone")

    monkeypatch.setattr(hub.action_secrets, "signing_secrets", unreadable)
    failed = await client.post(url, headers=admin_headers)
    assert (failed.json()["status"], failed.json()["message"]) == (
        "failed",
        "the hub could not send it (its log says why)",
    )
    assert target.server.received == []
    monkeypatch.undo()
    assert (await client.post(url, headers=admin_headers)).json()["status"] == "done"


async def test_a_run_its_hub_left_running_does_not_block_the_button(client, hub, admin_headers, target):
    await secret_for(client, admin_headers, target)
    event = await store_event(client, admin_headers, target)
    url = f"/api/v1/events/{event['id']}/actions/refund"
    assert (await client.post(url, headers=admin_headers)).status_code == 200
    async with hub.db.writer.begin() as conn:  # as if the hub had stopped mid-call, 10 minutes ago
        ten_minutes_ago = now_utc() - timedelta(minutes=10)
        await conn.execute(update(schema.action_runs).values(status="running", created_at=ten_minutes_ago))
    assert (await client.post(url, headers=admin_headers)).status_code == 200
    runs = (await client.get(f"/api/v1/events/{event['id']}/runs", headers=admin_headers)).json()
    assert [(run["status"], run["message"]) for run in runs] == [
        ("done", "Refund of 42 EUR issued"),
        ("failed", "abandoned: the hub stopped before the answer"),
    ]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/plain-500", "database is down"),
        ("/empty-502", "the action's server answered HTTP 502"),
        ("/redirect", "the action's server answered HTTP 302 (a redirect, which the hub does not follow)"),
        ("/huge-500", "x" * 500),
    ],
)
async def test_a_refusal_without_a_json_message_still_says_why(client, hub, admin_headers, target, path, message):
    """A plain-text 500 or an empty 502 left the run's message empty: the person who clicked saw only "Failed"."""
    await secret_for(client, admin_headers, target)
    event = await store_event(client, admin_headers, target, url=f"{target.server.url}{path}")
    run = (await client.post(f"/api/v1/events/{event['id']}/actions/refund", headers=admin_headers)).json()
    assert (run["status"], run["message"]) == ("failed", message)
    assert len(run["response"] or "") <= 1000


async def test_events_from_the_operational_compat_route_also_carry_operationals_field_names(
    client, hub, admin_headers, target
):
    """Operational.co POSTs `{"event": {"id", "userId", "meta", "key", "createdAt"}}`: its receivers read those."""
    await secret_for(client, admin_headers, target)
    action = {"url": f"{target.server.url}/refund", "buttonText": "Refund", "key": "refund", "meta": {"id": 1}}
    logged = await client.post(
        "/api/v1/log", json={"name": "Refund?", "userId": "u7", "actions": [action]}, headers=admin_headers
    )
    assert logged.status_code == 201, logged.text
    [event] = (await client.get("/api/v1/events", headers=admin_headers)).json()["items"]
    secret = await client.get(f"/api/v1/action-secrets/{event['project']}", headers=admin_headers)
    target.secret = secret.json()["secret"]
    run = await client.post(f"/api/v1/events/{event['id']}/actions/refund", headers=admin_headers)
    assert run.json()["status"] == "done", run.text
    sent = target.verified[-1]["event"]
    assert {k: sent[k] for k in ("id", "key", "meta", "userId", "createdAt")} == {
        "id": event["id"],
        "key": "refund",
        "meta": {"id": 1},
        "userId": "u7",
        "createdAt": event["created_at"],
    }
    assert sent["user_id"] == "u7" and sent["created_at"] == event["created_at"]
    native = await store_event(client, admin_headers, target)
    await secret_for(client, admin_headers, target)
    await client.post(f"/api/v1/events/{native['id']}/actions/refund", headers=admin_headers)
    assert "userId" not in target.verified[-1]["event"]


def receiver_snippets() -> tuple[str, str, str]:
    """The README's receiver code: with `standardwebhooks`, by hand in Python, and in Node."""
    text = (Path(__file__).parents[3] / "README.md").read_text()
    section = text.split("#### Verifying the signature on your server", 1)[1].split("### Self-service actions", 1)[0]
    package, by_hand = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
    [node] = re.findall(r"^```js\n(.*?)^```", section, re.S | re.M)
    return package, by_hand, node


def node_verify(snippet: str, secret: str, received: Received, body: bytes) -> dict:
    script = snippet + (
        'const input = JSON.parse(require("node:fs").readFileSync(0, "utf8"));\n'
        "try {\n"
        '  console.log(JSON.stringify(verify(input.secret, input.headers, Buffer.from(input.body, "base64"))));\n'
        "} catch (error) {\n"
        "  console.log(JSON.stringify({ refused: error.message }));\n"
        "}\n"
    )
    given = {"secret": secret, "headers": received.headers, "body": base64.b64encode(body).decode()}
    done = subprocess.run(["node", "-e", script], input=json.dumps(given), capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


async def test_the_readmes_receiver_code_verifies_a_request_the_hub_sent(client, hub, admin_headers, target):
    """Signed during a rotation's grace, so each snippet is shown to accept either secret and refuse a changed body."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    await secret_for(client, admin_headers, target)
    old = target.secret
    target.secret = (await client.post("/api/v1/action-secrets/shop/rotate", headers=admin_headers)).json()["secret"]
    event = await store_event(client, admin_headers, target)
    assert (await client.post(f"/api/v1/events/{event['id']}/actions/refund", headers=admin_headers)).status_code == 200
    received = target.server.received[-1]
    assert (received.method, received.headers["content-type"]) == ("POST", "application/json")
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    package, by_hand, node = receiver_snippets()
    tampered = received.body.replace(b"ch_1", b"ch_2")
    for secret in (old, target.secret):
        refunded: list[tuple] = []
        scope = {"refund": lambda charge, reason: refunded.append((charge, reason))}
        mine = repr(f"{target.server.url}/refund")
        exec(package.replace('"whsec_..."', repr(secret)).replace('"https://ops.example.com/refund"', mine), scope)
        assert scope["handle"](received.body, received.headers) == {"message": "Refund of 42 EUR issued"}
        assert refunded == [("ch_1", None)]
        with pytest.raises(WebhookVerificationError):
            scope["handle"](tampered, received.headers)
        exec(package.replace('"whsec_..."', repr(secret)), scope)  # a receiver at another address
        with pytest.raises(ValueError, match="signed for another address"):
            scope["handle"](received.body, received.headers)

        exec(by_hand, scope)
        assert scope["verify"](secret, received.headers, received.body)["event"]["meta"] == {"charge": "ch_1"}
        with pytest.raises(ValueError, match="no signature matches"):
            scope["verify"](secret, received.headers, tampered)
        garbled = {**received.headers, "webhook-signature": "v1,é"}  # a TypeError from compare_digest on text
        with pytest.raises(ValueError, match="no signature matches"):
            scope["verify"](secret, garbled, received.body)
        with pytest.raises(ValueError, match="timestamp missing"):
            scope["verify"](secret, {}, received.body)

        assert node_verify(node, secret, received, received.body)["event"]["meta"] == {"charge": "ch_1"}
        assert node_verify(node, secret, received, tampered) == {"refused": "no signature matches"}
    other = "whsec_" + base64.b64encode(b"k" * 32).decode()
    assert node_verify(node, other, received, received.body) == {"refused": "no signature matches"}


async def test_numbers_in_meta_defaults_and_inputs_read_back_as_sent(client, hub, admin_headers, target):
    """PostgreSQL's jsonb turned a float such as 1.5e300 into a 301-digit integer and -0.0 into 0.0: the event's
    `meta` and inputs' defaults, what the action's server was sent, and the run's kept inputs all changed."""
    await secret_for(client, admin_headers, target)
    meta = {"zz": 1.5e300, "a": -0.0, "round": 1e16, "whole": 3.0, "huge": 2**64}
    inputs = [{"name": "amount", "type": "number", "default": 1e16}, {"name": "rate", "type": "number"}]
    event = await store_event(client, admin_headers, target, meta=meta, inputs=inputs)
    run = await client.post(
        f"/api/v1/events/{event['id']}/actions/refund", json={"inputs": {"rate": -0.0}}, headers=admin_headers
    )
    assert run.status_code == 200, run.text
    sent = {"amount": 1e16, "rate": -0.0}
    as_json = msgspec.json.encode
    assert as_json(target.verified[-1]["event"]["meta"]) == as_json(meta)
    assert as_json(target.verified[-1]["inputs"]) == as_json(sent)
    read = msgspec.json.decode((await client.get(f"/api/v1/events/{event['id']}", headers=admin_headers)).content)
    [action, _] = read["event"]["actions"]
    assert as_json(action["meta"]) == as_json(meta)
    assert as_json(action["inputs"][0]["default"]) == b"1e16"
    [kept] = msgspec.json.decode(
        (await client.get(f"/api/v1/events/{event['id']}/runs", headers=admin_headers)).content
    )
    assert as_json(kept["inputs"]) == as_json(sent)
