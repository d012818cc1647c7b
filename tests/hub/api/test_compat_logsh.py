"""The Logsh-compatible route `POST /api/event`, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.testing import bearer, make_key

EVENT = {
    "workspace": "  My-Workspace ",
    "event": "User signed up",
    "description": "From the landing page",
    "icon": "🎉",
    "notify": True,
    "metadata": {"plan": "pro", "seats": 3, "trial": False, "Referrer URL": "https://example.com"},
}


async def events(client, headers, query: str = "") -> list[dict]:
    response = await client.get(f"/api/v1/events?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def assert_logsh_error(response: httpx.Response, status: int, name: str, rule: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"status": False, "name": name, "message": response.json()["message"]}
    assert rule in response.json()["message"]


async def test_full_event_maps_every_field(client, admin_headers):
    response = await client.post("/api/event", json=EVENT, headers=admin_headers)
    assert response.status_code == 201, response.text
    assert response.json() == {"status": True}
    [stored] = await events(client, admin_headers)
    assert stored["project"] == "my-workspace"
    assert stored["channel"] == "general"
    assert (stored["event"], stored["description"], stored["icon"]) == (
        "User signed up",
        "From the landing page",
        "🎉",
    )
    assert stored["notify"] is True
    assert stored["source"] == "logsh"
    assert stored["content"] == EVENT["metadata"]
    assert stored["tags"] == {"plan": "pro", "seats": 3, "trial": False}
    assert [e["id"] for e in await events(client, admin_headers, "tag=seats:3")] == [stored["id"]]


async def test_defaults_and_case_insensitive_workspace(client, admin_headers):
    for workspace in ("Logsh", "logsh", "LOGSH"):
        body = {"workspace": workspace, "event": "ping"}
        assert (await client.post("/api/event", json=body, headers=admin_headers)).status_code == 201
    stored = await events(client, admin_headers)
    assert {e["project"] for e in stored} == {"logsh"}
    assert {(e["icon"], e["notify"], e["description"], e["content"]) for e in stored} == {("🔥", False, None, None)}
    projects = (await client.get("/api/v1/projects", headers=admin_headers)).json()
    assert [p["slug"] for p in projects] == ["logsh"]


async def test_a_workspace_named_in_another_script_gets_a_project_of_its_own(client, admin_headers):
    """Logsh takes any name; with no Latin letters left for a slug, the project is `workspace-` and a hash of
    the name (case-insensitive), so two such workspaces do not share one."""
    for workspace in ("日本語", "Москва", "москва", "🔥🔥"):
        body = {"workspace": workspace, "event": "ping"}
        assert (await client.post("/api/event", json=body, headers=admin_headers)).status_code == 201
    projects = sorted(p["slug"] for p in (await client.get("/api/v1/projects", headers=admin_headers)).json())
    assert len(projects) == 3 and all(re.fullmatch(r"workspace-[0-9a-f]{8}", p) for p in projects)
    assert "workspace-77710aed" in projects  # 日本語, the same on every hub


async def test_looser_limits_and_names(client, admin_headers):
    body = {"workspace": "Acme Corp", "event": "e" * 250, "description": "d" * 250, "icon": ":rocket:"}
    response = await client.post("/api/event", json=body, headers=admin_headers)
    assert response.status_code == 201, response.text
    for icon in ("rocket", " ✅ "):
        assert (await client.post("/api/event", json={**body, "icon": icon}, headers=admin_headers)).status_code == 201
    blank = await client.post("/api/event", json={**body, "description": "  "}, headers=admin_headers)
    assert blank.status_code == 201
    stored = await events(client, admin_headers)
    assert [e["icon"] for e in stored] == ["🚀", "✅", "🚀", "🚀"]
    assert stored[0]["description"] is None
    assert {e["project"] for e in stored} == {"acme-corp"}


async def test_many_metadata_keys_stay_in_content_and_tag_at_most_32(client, admin_headers):
    metadata = {f"k{i}": i for i in range(40)}
    response = await client.post("/api/event", json={**EVENT, "metadata": metadata}, headers=admin_headers)
    assert response.status_code == 201, response.text
    [stored] = await events(client, admin_headers)
    assert stored["content"] == metadata
    assert stored["tags"] == {f"k{i}": i for i in range(32)}


@pytest.mark.parametrize(
    ("patch", "rule"),
    [
        ({"workspace": "   "}, "Workspace name is required"),
        ({"workspace": "w" * 36}, "Workspace name must be 35 characters or fewer"),
        ({"workspace": 5}, "Expected `str`, got `int` - at `$.workspace`"),
        ({"event": ""}, "Event is required"),
        ({"event": "e" * 251}, "Event must be 250 characters or fewer"),
        ({"description": "d" * 251}, "Description must be 250 characters or fewer"),
        ({"description": None}, "Expected `str`, got `null` - at `$.description`"),
        ({"icon": "not-an-emoji"}, "Icon must be a valid emoji"),
        ({"icon": ""}, "Icon must be a valid emoji"),
        ({"notify": "true"}, "Expected `bool`, got `str` - at `$.notify`"),
        ({"metadata": []}, "Expected `object`, got `array` - at `$.metadata`"),
        ({"metadata": {"k": {"nested": 1}}}, "got `object` - at `$.metadata"),
        (
            {"metadata": {"a": 1, "k": {"nested": 1}}},
            "Expected `bool | int | float | str`, got `object` - at `$.metadata.k`",
        ),
        ({"metadata": {"k": "v" * 501}}, "length <= 500 - at `$.metadata.k`"),
        ({"metadata": {"": 1}}, "length >= 1"),
        ({"metadata": {"k" * 101: 1}}, "length <= 100"),
        ({"metadata": {f"k{i}": "v" * 500 for i in range(140)}}, "`metadata` must encode to at most 65536 bytes"),
        ({"color": "red"}, "unknown field `color`"),
    ],
)
async def test_validation_errors_in_logsh_shape(client, admin_headers, patch, rule):
    response = await client.post("/api/event", json={**EVENT, **patch}, headers=admin_headers)
    assert_logsh_error(response, 400, "bad_request", rule)
    assert await events(client, admin_headers) == []


async def test_required_fields(client, admin_headers):
    response = await client.post("/api/event", json={"event": "e"}, headers=admin_headers)
    assert_logsh_error(response, 400, "bad_request", "missing required field `workspace`")
    response = await client.post("/api/event", json={"workspace": "w"}, headers=admin_headers)
    assert_logsh_error(response, 400, "bad_request", "missing required field `event`")


@pytest.mark.parametrize(
    ("body", "content_type", "status", "rule"),
    [
        (b"{broken", "application/json", 400, "not valid JSON"),
        (b"[]", "application/json", 400, "Expected `object`, got `array`"),
        (b"null", "application/json", 400, "got `null`"),
        (b"", "application/json", 400, "body is empty"),
        (b"workspace=w", "application/x-www-form-urlencoded", 415, "application/json"),
        (b'{"workspace": "w", "event": "\\u0000"}', "application/json", 400, "NUL character"),
        (b'{"workspace": "w", "event": "' + b"e" * 300_000 + b'"}', "application/json", 413, "limit"),
    ],
)
async def test_bad_bodies(client, admin_headers, body, content_type, status, rule):
    response = await client.post("/api/event", content=body, headers={**admin_headers, "content-type": content_type})
    assert_logsh_error(response, status, "bad_request", rule)


async def test_auth_errors(client, hub):
    assert_logsh_error(await client.post("/api/event", json=EVENT), 401, "unauthorized", "missing API key")
    response = await client.post("/api/event", json=EVENT, headers={"Authorization": "Token abc"})
    assert_logsh_error(response, 401, "unauthorized", "missing API key")
    response = await client.post("/api/event", json=EVENT, headers=bearer("hub_wrong"))
    assert_logsh_error(response, 401, "unauthorized", "invalid or revoked")
    response = await client.post("/api/event", json=EVENT, headers=bearer(await make_key(hub, "read")))
    assert_logsh_error(response, 403, "forbidden", "`ingest` scope")
    bound = bearer(await make_key(hub, "ingest", project="my-workspace"))
    response = await client.post("/api/event", json={**EVENT, "workspace": "elsewhere"}, headers=bound)
    assert_logsh_error(response, 403, "forbidden", "project `my-workspace`")
    assert (await client.post("/api/event", json=EVENT, headers=bound)).status_code == 201
    limited = bearer(await make_key(hub, "ingest", rate_limit=1))
    statuses = [(await client.post("/api/event", json=EVENT, headers=limited)).status_code for _ in range(4)]
    assert 429 in statuses
    response = await client.post("/api/event", json=EVENT, headers=limited)
    assert_logsh_error(response, 429, "rate_limit_exceeded", "rate limit")
    assert int(response.headers["retry-after"]) >= 1


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_fuzzed_bodies_get_4xx_not_500(client, admin_headers, data):
    body = data.draw(st.dictionaries(st.sampled_from(list(EVENT)), JSON) | JSON)
    response = await client.post("/api/event", json=body, headers=admin_headers)
    assert response.status_code in (201, 400), (body, response.text)
    assert response.json()["status"] is (response.status_code == 201)
    raw = data.draw(st.binary(max_size=40))
    response = await client.post(
        "/api/event", content=raw, headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code in (201, 400), (raw, response.text)
