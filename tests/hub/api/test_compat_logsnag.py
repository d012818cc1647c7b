"""LogSnag-compatible routes, on SQLite and PostgreSQL, including the real `logsnag` client from PyPI."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import logsnag
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from logsnag.constants import ENDPOINTS
from logsnag.exceptions import FailedToPublish
from sqlalchemy import select

from hub.api.compat.logsnag import LOG_FIELDS
from hub.core import Hub
from hub.db import schema
from hub.testing import bearer, make_key

LOG = {
    "project": "My-SaaS",
    "channel": "payments",
    "event": "New subscription",
    "description": "**Pro** plan",
    "icon": "💰",
    "notify": True,
    "tags": {"plan": "pro", "plan-type": "yearly", "seats": 5, "trial": False},
    "parser": "markdown",
    "user_id": "user-1",
}


async def events(client, headers, query: str = "") -> list[dict]:
    response = await client.get(f"/api/v1/events?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def assert_logsnag_error(response: httpx.Response, status: int, path: str, rule: str, kind: str | None = None) -> None:
    """LogSnag's shape: `message`, and the same message under `validation.body` (or `headers` for the key)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert rule in body["message"]
    where = "headers" if status in (401, 403, 429) else "body"
    [item] = body["validation"][where]
    assert item["path"] == path
    assert item["message"] == body["message"]
    if kind:
        assert item["type"] == kind


async def test_log_maps_every_field(client, admin_headers):
    response = await client.post("/v1/log", json=LOG, headers=admin_headers)
    assert response.status_code == 200, response.text
    stored = response.json()
    assert {k: stored[k] for k in ("channel", "event", "description", "icon", "notify", "parser", "user_id")} == {
        k: LOG[k] for k in ("channel", "event", "description", "icon", "notify", "parser", "user_id")
    }
    assert stored["project"] == "my-saas"
    assert stored["tags"] == LOG["tags"]
    assert stored["source"] == "logsnag"
    [listed] = await events(client, admin_headers, "project=my-saas&tag=plan-type:yearly")
    assert listed == {**stored, "timeline": None}  # the feed sums up a card's follow-ups: it has none


async def test_float_timestamp_backfills_without_notifying(client, admin_headers):
    when = datetime.now(UTC) - timedelta(days=3, microseconds=250_000)
    response = await client.post("/v1/log", json={**LOG, "timestamp": when.timestamp()}, headers=admin_headers)
    assert response.status_code == 200, response.text
    stored = response.json()
    assert abs(datetime.fromisoformat(stored["created_at"]) - when) < timedelta(milliseconds=1)
    assert stored["notify"] is False
    whole = await client.post("/v1/log", json={**LOG, "timestamp": int(when.timestamp())}, headers=admin_headers)
    assert whole.status_code == 200


async def test_escaped_backslash_before_u0000_is_not_a_nul(client, admin_headers):
    response = await client.post("/v1/log", json={**LOG, "description": "C:\\u0000dir"}, headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "C:\\u0000dir"


async def test_minimal_log_nulls_and_unknown_fields_are_ignored(client, admin_headers):
    body = {"project": "p", "channel": "c", "event": "e", "icon": None, "tags": None, "color": "red"}
    response = await client.post("/v1/log", json=body, headers=admin_headers)
    assert response.status_code == 200, response.text
    stored = response.json()
    assert (stored["icon"], stored["tags"], stored["channel"]) == (None, {}, "c")


# What `logsnag` (npm 1.0.0) and `@logsnag/node` (1.0.1) send, byte for byte: `JSON.stringify({...options,
# project})` (a Date timestamp already turned into whole seconds), and `increment` as PATCH without `icon`.
JS_CLIENT_REQUESTS = [
    (
        "POST",
        "/v1/log",
        '{"channel":"payments","event":"New subscription","user_id":"u1","description":"**Pro**","icon":"💰",'
        '"tags":{"plan":"pro","seats":3,"trial":false},"notify":true,"parser":"markdown","timestamp":1768469400,'
        '"project":"my-saas"}',
    ),
    ("POST", "/v1/insight", '{"title":"Online users","value":10,"icon":"🟢","project":"my-saas"}'),
    ("PATCH", "/v1/insight", '{"project":"my-saas","title":"Online users","value":{"$inc":5}}'),
    ("POST", "/v1/identify", '{"user_id":"u1","properties":{"name":"Alice","plan":"pro"},"project":"my-saas"}'),
    ("POST", "/v1/group", '{"group_id":"acme","user_id":"u1","properties":{"name":"ACME Inc."},"project":"my-saas"}'),
    ("POST", "/v1/group", '{"group_id":"acme","properties":{"plan":"enterprise"},"project":"my-saas"}'),
]


async def test_the_bytes_the_js_clients_send(client, hub, admin_headers):
    headers = {**admin_headers, "Content-Type": "application/json"}
    for method, path, body in JS_CLIENT_REQUESTS:
        response = await client.request(method, path, content=body.encode(), headers=headers)
        assert response.status_code == 200, (path, response.text)  # the clients check `response.ok`
    [stored] = await events(client, admin_headers)
    assert (stored["event"], stored["user_id"], stored["parser"]) == ("New subscription", "u1", "markdown")
    assert stored["tags"] == {"plan": "pro", "seats": 3, "trial": False}
    assert stored["created_at"] == "2026-01-15T09:30:00Z"
    assert {t: (i["value"], i["icon"]) for t, i in (await insights(client, admin_headers)).items()} == {
        "Online users": (15, "🟢")
    }
    assert await identities(hub) == {
        ("u1", ""): {"name": "Alice", "plan": "pro"},
        ("u1", "acme"): {"name": "ACME Inc."},
        ("", "acme"): {"plan": "enterprise"},
    }
    response = await client.post("/v1/log", content=b'{"channel":"c","event":"","project":"p"}', headers=headers)
    # The JS clients' error message joins `validation.body[].message`.
    assert [item["message"] for item in response.json()["validation"]["body"]] == [response.json()["message"]]


@pytest.mark.parametrize(
    ("patch", "path", "rule", "kind"),
    [
        ({"event": ""}, "event", "length >= 1", "too_small"),
        ({"event": "x" * 251}, "event", "length <= 250", "too_big"),
        ({"event": 5}, "event", "Expected `str`, got `int`", "invalid_type"),
        ({"channel": "has space"}, "channel", "regex", "invalid_string"),
        ({"project": "bad project"}, "project", "regex", "invalid_string"),
        ({"tags": {"Plan": "pro"}}, "tags", "regex", "invalid_string"),
        ({"tags": {"plan": [1]}}, "tags.plan", "got `array`", "invalid_type"),
        ({"parser": "html"}, "parser", "expected one of 'markdown', 'text'", "invalid_enum_value"),
        ({"icon": "not an emoji"}, "icon", "`icon` must be exactly one emoji", "custom"),
        ({"notify": "yes"}, "notify", "Expected `bool`", "invalid_type"),
        ({"timestamp": (datetime.now(UTC) + timedelta(hours=1)).timestamp()}, "timestamp", "future", "custom"),
        ({"description": "x" * 4001}, "description", "length <= 4000", "too_big"),
        ({"timestamp": 1e300}, "timestamp", "out of range", "custom"),
        ({"timestamp": 10**30}, "timestamp", "out of range", "custom"),
        ({"timestamp": 1e19}, "timestamp", "out of range", "custom"),
        ({"timestamp": -5}, "timestamp", "before 1970", "custom"),
    ],
)
async def test_log_validation_errors_in_logsnag_shape(client, admin_headers, patch, path, rule, kind):
    response = await client.post("/v1/log", json={**LOG, **patch}, headers=admin_headers)
    assert_logsnag_error(response, 400, path, rule, kind)
    assert await events(client, admin_headers) == []


async def test_missing_fields(client, admin_headers):
    response = await client.post("/v1/log", json={"project": "p", "channel": "c"}, headers=admin_headers)
    assert_logsnag_error(response, 400, "event", "missing required field `event`", "invalid_type")
    response = await client.post("/v1/log", json={"channel": "c", "event": "e"}, headers=admin_headers)
    assert_logsnag_error(response, 400, "project", "`project` is required")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "path", "rule"),
    [
        (b"{not json", "application/json", 400, "", "not valid JSON"),
        (b"[1, 2]", "application/json", 400, "", "Expected `object`, got `array`"),
        (b'"text"', "application/json", 400, "", "Expected `object`, got `str`"),
        (b"", "application/json", 400, "", "body is empty"),
        (b"<xml/>", "application/xml", 415, "", "application/json"),
        (b'{"project": "p", "channel": "c", "event": "a\\u0000"}', "application/json", 400, "event", "NUL character"),
        (b'{"project": "p", "channel": "c", "event": "' + b"x" * 300_000 + b'"}', "application/json", 413, "", "limit"),
    ],
)
async def test_bad_bodies_are_4xx_json(client, admin_headers, body, content_type, status, path, rule):
    response = await client.post("/v1/log", content=body, headers={**admin_headers, "content-type": content_type})
    assert_logsnag_error(response, status, path, rule)


async def test_auth_errors(client, hub):
    response = await client.post("/v1/log", json=LOG)
    assert_logsnag_error(response, 401, "authorization", "missing API key")
    assert response.headers["www-authenticate"] == "Bearer"
    response = await client.post("/v1/log", json=LOG, headers=bearer("hub_wrong"))
    assert_logsnag_error(response, 401, "authorization", "invalid or revoked")
    reader = bearer(await make_key(hub, "read"))
    assert_logsnag_error(await client.post("/v1/log", json=LOG, headers=reader), 403, "authorization", "`ingest`")
    bound = bearer(await make_key(hub, "ingest", project="other"))
    assert_logsnag_error(await client.post("/v1/log", json=LOG, headers=bound), 403, "authorization", "`other`")
    for path, body in [
        ("/v1/insight", {"project": "my-saas", "title": "t", "value": 1}),
        ("/v1/identify", {"project": "my-saas", "user_id": "u", "properties": {}}),
        ("/v1/group", {"project": "my-saas", "group_id": "g"}),
    ]:
        assert (await client.post(path, json=body, headers=bound)).status_code == 403
    same = await client.post("/v1/log", json={**LOG, "project": "OTHER"}, headers=bound)
    assert same.status_code == 200
    implied = await client.post("/v1/log", json={k: v for k, v in LOG.items() if k != "project"}, headers=bound)
    assert implied.json()["project"] == "other"


async def test_rate_limit_is_429_with_retry_after(client, hub):
    key = bearer(await make_key(hub, "ingest", rate_limit=1))
    statuses = [(await client.post("/v1/log", json=LOG, headers=key)).status_code for _ in range(4)]
    assert 429 in statuses
    response = await client.post("/v1/log", json=LOG, headers=key)
    assert_logsnag_error(response, 429, "authorization", "rate limit")
    assert int(response.headers["retry-after"]) >= 1


async def insights(client, headers, project: str = "my-saas") -> dict[str, dict]:
    response = await client.get(f"/api/v1/projects/{project}/insights", headers=headers)
    return {i["title"]: i for i in response.json()}


async def test_insight_set_replace_and_increment(client, admin_headers):
    def insight(**fields):
        return {"project": "My-SaaS", "title": "Online users", **fields}

    first = await client.post("/v1/insight", json=insight(value=5, icon="🟢"), headers=admin_headers)
    assert first.status_code == 200, first.text
    assert first.json()["value"] == 5
    replaced = await client.post("/v1/insight", json=insight(value=8), headers=admin_headers)
    assert (replaced.json()["value"], replaced.json()["icon"]) == (8, "🟢")
    bumped = await client.patch("/v1/insight", json=insight(value={"$inc": -3}), headers=admin_headers)
    assert bumped.status_code == 200, bumped.text
    assert (bumped.json()["value"], bumped.json()["icon"]) == (5, "🟢")
    await client.patch("/v1/insight", json=insight(value={"$inc": 0.5}, icon="🔴"), headers=admin_headers)
    posted_inc = await client.post("/v1/insight", json=insight(value={"$inc": 1}), headers=admin_headers)
    assert posted_inc.json()["value"] == 6.5
    fresh = await client.patch("/v1/insight", json=insight(title="Signups", value={"$inc": 2}), headers=admin_headers)
    assert fresh.json()["value"] == 2
    await client.post("/v1/insight", json=insight(title="Status", value="green"), headers=admin_headers)
    await client.post("/v1/insight", json=insight(title="Healthy", value=True), headers=admin_headers)
    listed = await insights(client, admin_headers)
    assert {t: (i["value"], i["icon"]) for t, i in listed.items()} == {
        "Online users": (6.5, "🔴"),
        "Signups": (2, None),
        "Status": ("green", None),
        "Healthy": (True, None),
    }


async def test_a_whole_float_insight_stays_a_float(client, admin_headers):
    """On SQLite a value of 2.0 was stored as the integer 2 (a JSON column's NUMERIC affinity) and listed so."""
    await client.post("/v1/insight", json={"project": "p", "title": "Load", "value": 2.0}, headers=admin_headers)
    listed = await client.get("/api/v1/projects/p/insights", headers=admin_headers)
    assert '"value":2.0,' in listed.text, listed.text


@pytest.mark.parametrize(
    ("method", "body", "path", "rule"),
    [
        ("PATCH", {"title": "t", "value": 3}, "value", 'mutation such as {"$inc": 1}'),
        ("PATCH", {"title": "t", "value": {"$inc": "1"}}, "value.$inc", "Expected `int | float`, got `str`"),
        ("PATCH", {"title": "t", "value": {"$inc": True}}, "value.$inc", "got `bool`"),
        ("PATCH", {"title": "t", "value": {"$set": 1}}, "value", "unknown field `$set`"),
        ("POST", {"title": "", "value": 1}, "title", "length >= 1"),
        ("POST", {"title": "x" * 129, "value": 1}, "title", "length <= 128"),
        ("POST", {"title": "t", "value": [1]}, "value", "got `array`"),
        ("POST", {"title": "t", "value": None}, "value", "got `null`"),
        ("POST", {"title": "t", "value": "x" * 1025}, "value", "length <= 1024"),
        ("POST", {"title": "t"}, "value", "missing required field `value`"),
        ("POST", {"title": "t", "value": 1, "icon": "nope"}, "icon", "emoji"),
        ("POST", {"title": "t\x00", "value": 1}, "title", "NUL character"),
    ],
)
async def test_insight_validation(client, admin_headers, method, body, path, rule):
    response = await client.request(method, "/v1/insight", json={"project": "my-saas", **body}, headers=admin_headers)
    assert_logsnag_error(response, 400, path, rule)
    listed = await client.get("/api/v1/projects/my-saas/insights", headers=admin_headers)
    assert listed.status_code == 404  # nothing was stored, not even the project


async def test_incrementing_a_text_insight_is_refused(client, admin_headers):
    body = {"project": "p", "title": "Status", "value": "green"}
    await client.post("/v1/insight", json=body, headers=admin_headers)
    response = await client.patch("/v1/insight", json={**body, "value": {"$inc": 1}}, headers=admin_headers)
    assert_logsnag_error(response, 400, "value", 'holds "green", not a number')
    await client.post("/v1/insight", json={**body, "title": "Up", "value": True}, headers=admin_headers)
    response = await client.patch(
        "/v1/insight", json={**body, "title": "Up", "value": {"$inc": 1}}, headers=admin_headers
    )
    assert_logsnag_error(response, 400, "value", "holds true, not a number")  # JSON's spelling, not Python's
    response = await client.patch(
        "/v1/insight", json={**body, "title": "Big", "value": {"$inc": 1.7e308}}, headers=admin_headers
    )
    assert response.status_code == 200
    response = await client.patch(
        "/v1/insight", json={**body, "title": "Big", "value": {"$inc": 1.7e308}}, headers=admin_headers
    )
    assert_logsnag_error(response, 400, "value", "overflows")
    assert (await insights(client, admin_headers, "p"))["Status"]["value"] == "green"

    most = 2**63 - 1
    response = await client.post("/v1/insight", json={**body, "title": "Count", "value": most}, headers=admin_headers)
    assert response.status_code == 200
    response = await client.patch(
        "/v1/insight", json={**body, "title": "Count", "value": {"$inc": 1}}, headers=admin_headers
    )
    assert_logsnag_error(response, 400, "value", "overflows")
    response = await client.post(
        "/v1/insight", json={**body, "title": "Huge", "value": most + 1}, headers=admin_headers
    )
    assert response.status_code == 400
    assert (await insights(client, admin_headers, "p"))["Count"]["value"] == most


async def test_concurrent_increments_add_up(client, admin_headers):
    async def bump(title: str, by: int):
        body = {"project": "p", "title": title, "value": {"$inc": by}}
        response = await client.patch("/v1/insight", json=body, headers=admin_headers)
        assert response.status_code == 200, response.text

    # "Fresh" does not exist yet, so the first increments also race to create it.
    await client.post("/v1/insight", json={"project": "p", "title": "Seeded", "value": 100}, headers=admin_headers)
    await asyncio.gather(*[bump(title, by) for by in range(1, 31) for title in ("Fresh", "Seeded")])
    listed = await insights(client, admin_headers, "p")
    assert listed["Fresh"]["value"] == sum(range(1, 31))
    assert listed["Seeded"]["value"] == 100 + sum(range(1, 31))


async def identities(hub: Hub) -> dict[tuple[str, str], dict]:
    async with hub.db.reader.connect() as conn:
        rows = await conn.execute(select(schema.identities))
        return {(r.user_id, r.group_id): r.properties for r in rows}


async def test_identify_and_group_merge_properties(client, hub, admin_headers):
    def post(path: str, **body):
        return client.post(path, json={"project": "My-SaaS", **body}, headers=admin_headers)

    first = await post("/v1/identify", user_id="u1", properties={"name": "Alice", "plan": "free", "seats": 1})
    assert first.status_code == 200, first.text
    second = await post("/v1/identify", user_id="u1", properties={"plan": "pro", "active": True})
    assert second.json()["properties"] == {"name": "Alice", "plan": "pro", "seats": 1, "active": True}
    group = await post("/v1/group", user_id="u1", group_id="acme", properties={"name": "ACME Inc.", "fund": "A"})
    assert group.status_code == 200, group.text
    await post("/v1/group", user_id="u1", group_id="acme", properties={"fund": "B"})
    await post("/v1/group", user_id="u2", group_id="acme")
    await post("/v1/group", group_id="acme", properties={"plan": "enterprise"})
    assert await identities(hub) == {
        ("u1", ""): {"name": "Alice", "plan": "pro", "seats": 1, "active": True},
        ("u1", "acme"): {"name": "ACME Inc.", "fund": "B"},
        ("u2", "acme"): {},
        ("", "acme"): {"plan": "enterprise"},
    }


@pytest.mark.parametrize(
    ("path", "body", "field", "rule"),
    [
        ("/v1/identify", {"user_id": "u"}, "properties", "missing required field `properties`"),
        ("/v1/identify", {"user_id": "", "properties": {}}, "user_id", "length >= 1"),
        ("/v1/identify", {"user_id": "u", "properties": {"Bad Key": 1}}, "properties", "regex"),
        ("/v1/identify", {"user_id": "u", "properties": {"k": {"nested": 1}}}, "properties.k", "got `object`"),
        ("/v1/identify", {"user_id": "u", "properties": {"k": "x" * 1025}}, "properties.k", "length <= 1024"),
        ("/v1/identify", {"user_id": "u", "properties": []}, "properties", "got `array`"),
        ("/v1/group", {"user_id": "u"}, "group_id", "missing required field `group_id`"),
        ("/v1/group", {"group_id": "g", "user_id": 7}, "user_id", "got `int`"),
        ("/v1/group", {"group_id": "g\x00"}, "group_id", "NUL character"),
    ],
)
async def test_identify_validation(client, hub, admin_headers, path, body, field, rule):
    response = await client.post(path, json={"project": "p", **body}, headers=admin_headers)
    assert_logsnag_error(response, 400, field, rule)
    assert await identities(hub) == {}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6) | st.just("$inc"), inner, max_size=3)
    ),
    max_leaves=8,
)
ROUTES = {
    ("POST", "/v1/log"): LOG_FIELDS,
    ("POST", "/v1/insight"): ("project", "title", "value", "icon"),
    ("PATCH", "/v1/insight"): ("project", "title", "value", "icon"),
    ("POST", "/v1/identify"): ("project", "user_id", "properties"),
    ("POST", "/v1/group"): ("project", "user_id", "group_id", "properties"),
}


@pytest.mark.parametrize("route", list(ROUTES))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_fuzzed_bodies_get_4xx_json_not_500(client, admin_headers, route, data):
    method, path = route
    body = data.draw(st.dictionaries(st.sampled_from(ROUTES[route]), JSON) | JSON)
    response = await client.request(method, path, json=body, headers=admin_headers)
    assert response.status_code in (200, 400), (body, response.text)
    if response.status_code == 400:
        assert response.json()["validation"]["body"][0]["message"] == response.json()["message"]
    raw = data.draw(st.binary(max_size=40))
    response = await client.request(
        method, path, content=raw, headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code in (200, 400), (raw, response.text)


def test_real_logsnag_client(live_hub, monkeypatch):
    """The `logsnag` package from PyPI, with only its endpoint constants pointed at the hub."""
    for name in ("LOG", "INSIGHT", "IDENTIFY", "GROUP"):
        path = getattr(ENDPOINTS, name).removeprefix("https://api.logsnag.com")
        monkeypatch.setattr(ENDPOINTS, name, live_hub.url + path)
    key = live_hub.key("ingest", "read")
    client = logsnag.LogSnag(token=key, project="my-saas")
    when = datetime.now(UTC) - timedelta(hours=2)

    client.track(
        channel="payments",
        event="New subscription",
        user_id="u1",
        description="**Pro**",
        icon="💰",
        tags={"plan": "pro", "seats": 3},
        notify=True,
        parser="markdown",
    )
    client.track(channel="payments", event="Old order", date=when)
    client.insight.track(title="Online users", value=10, icon="🟢")
    client.insight.increment(title="Online users", value=5)
    client.insight.increment(title="Signups", value=2)
    client.identify(user_id="u1", properties={"name": "Alice", "plan": "pro"})
    client.group(user_id="u1", group_id="acme", properties={"name": "ACME Inc."})
    with pytest.raises(FailedToPublish) as failure:
        client.track(channel="payments", event="")
    assert "length >= 1" in failure.value.msg
    assert failure.value.data["validation"]["body"][0]["path"] == "event"
    with pytest.raises(FailedToPublish) as failure:
        logsnag.LogSnag(token="hub_wrong", project="my-saas").identify(user_id="u1", properties={})
    assert "invalid or revoked API key" in failure.value.msg

    headers = bearer(key)
    stored = httpx.get(f"{live_hub.url}/api/v1/events?project=my-saas", headers=headers).json()["items"]
    assert [(e["event"], e["source"]) for e in stored] == [("New subscription", "logsnag"), ("Old order", "logsnag")]
    new, old = stored
    assert (new["user_id"], new["icon"], new["tags"], new["notify"]) == ("u1", "💰", {"plan": "pro", "seats": 3}, True)
    assert (new["parser"], new["description"]) == ("markdown", "**Pro**")
    assert abs(datetime.fromisoformat(old["created_at"]) - when) < timedelta(milliseconds=1)
    listed = httpx.get(f"{live_hub.url}/api/v1/projects/my-saas/insights", headers=headers).json()
    assert {i["title"]: (i["value"], i["icon"]) for i in listed} == {"Online users": (15, "🟢"), "Signups": (2, None)}
    assert live_hub.run(identities(live_hub.hub)) == {
        ("u1", ""): {"name": "Alice", "plan": "pro"},
        ("u1", "acme"): {"name": "ACME Inc."},
    }
