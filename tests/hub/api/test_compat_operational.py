"""The Operational.co-compatible route `POST /api/v1/log`, JSON and text/plain, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.testing import bearer, make_key

EVENT = {
    "name": "New signup",
    "avatar": "🎉",
    "category": "User Signups",
    "type": "text",
    "content": "alice@example.com joined\nfrom the pricing page",
    "userId": "user-42",
    "notify": True,
    "actions": [
        {
            "url": "https://example.com/hooks/suspend",
            "buttonText": "Suspend account",
            "key": "suspend_account",
            "meta": {"userId": "user-42"},
            "expireIn": 60,
            "repeat": True,
        },
        {"url": "https://example.com/users/42", "buttonText": "Open profile", "external": True},
    ],
}


async def events(client, headers, query: str = "") -> list[dict]:
    response = await client.get(f"/api/v1/events?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def send(client, headers, body: dict) -> httpx.Response:
    return await client.post("/api/v1/log", json=body, headers=headers)


async def send_text(client, headers, text: str, content_type: str = "text/plain") -> httpx.Response:
    return await client.post("/api/v1/log", content=text.encode(), headers={**headers, "content-type": content_type})


def assert_text_error(response: httpx.Response, status: int, rule: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert rule in response.text


async def test_full_json_body_maps_every_field(client, admin_headers):
    before = datetime.now(UTC)
    response = await send(client, admin_headers, EVENT)
    assert (response.status_code, response.text) == (201, "success")
    assert response.headers["content-type"].startswith("text/plain")
    [stored] = await events(client, admin_headers)
    assert stored["project"] == "default"
    assert stored["channel"] == "user-signups"
    assert (stored["event"], stored["icon"], stored["description"]) == ("New signup", "🎉", EVENT["content"])
    assert (stored["content"], stored["user_id"], stored["notify"], stored["test"]) == (None, "user-42", True, False)
    assert stored["source"] == "operational"
    suspend, profile = stored["actions"]
    assert (suspend["label"], suspend["url"], suspend["key"], suspend["meta"]) == (
        "Suspend account",
        "https://example.com/hooks/suspend",
        "suspend_account",
        {"userId": "user-42"},
    )
    expires = datetime.fromisoformat(suspend["expires_at"]) - before
    assert timedelta(minutes=59) < expires < timedelta(minutes=61)
    assert (profile["label"], profile["external"], profile.get("key")) == ("Open profile", True, None)
    assert datetime.fromisoformat(profile["expires_at"]) - before > timedelta(days=6, hours=23)


async def test_ingest_alias_and_test_flag(client, admin_headers):
    response = await client.post("/api/v1/ingest", json={"name": "trial", "test": 1}, headers=admin_headers)
    assert response.status_code == 201
    [stored] = await events(client, admin_headers, "test=true")
    assert (stored["event"], stored["test"], stored["notify"], stored["channel"]) == ("trial", True, False, "general")


@pytest.mark.parametrize(
    ("kind", "content"),
    [
        ("json", {"order": {"id": 7, "items": [1, 2]}}),
        ("image", "https://example.com/chart.png"),
        ("map", {"lat": 51.5, "lng": -0.12}),
    ],
)
async def test_structured_types_store_content(client, admin_headers, kind, content):
    response = await send(client, admin_headers, {"name": "n", "type": kind, "content": content})
    assert response.status_code == 201, response.text
    [stored] = await events(client, admin_headers)
    assert (stored["content"], stored["description"]) == (content, None)


async def test_rows_are_normalised(client, admin_headers):
    rows = [{"label": "Succeeded", "content": 194}, {"type": "json", "label": "Raw", "content": {"a": 1}}, {}]
    response = await send(client, admin_headers, {"name": "Report", "type": "rows", "content": rows})
    assert response.status_code == 201, response.text
    [stored] = await events(client, admin_headers)
    assert stored["content"] == [
        {"type": "text", "label": "Succeeded", "content": 194},
        {"type": "json", "label": "Raw", "content": {"a": 1}},
        {"type": "text", "content": ""},
    ]


async def test_content_without_name_and_lenient_values(client, admin_headers):
    body = {"content": "  Disk almost full\nat 91%", "avatar": ":)", "category": "!!!", "userId": 42, "notify": "no"}
    assert (await send(client, admin_headers, body)).status_code == 201
    assert (await send(client, admin_headers, {"type": "json", "content": {"a": 1}})).status_code == 201
    assert (await send(client, admin_headers, {"name": "n" * 300, "content": 194, "avatar": 5})).status_code == 201
    assert (await send(client, admin_headers, {"name": "x", "avatar": "🚀🚀 launch", "muted": True})).status_code == 201
    launch, long_name, structured, text = await events(client, admin_headers)
    assert (text["event"], text["icon"], text["channel"], text["user_id"]) == (
        "Disk almost full",
        None,
        "general",
        "42",
    )
    assert text["notify"] is True  # JavaScript truthiness, as Operational's `!!payload.notify`
    assert (structured["event"], structured["content"]) == ("json", {"a": 1})
    assert (len(long_name["event"]), long_name["description"], long_name["icon"]) == (250, "194", None)
    assert launch["icon"] == "🚀"


async def test_contexts_thread_events(client, admin_headers):
    first = {"name": "Deploy started", "contextId": "deploy-7", "contextStart": True}
    for body in (first, {"name": "Build done", "contextId": "deploy-7"}, {"name": "Alone", "contextStart": True}):
        assert (await send(client, admin_headers, body)).status_code == 201
    assert (await send(client, admin_headers, {"name": "Numeric", "contextId": 99})).status_code == 201
    numeric, alone, parent = await events(client, admin_headers)
    assert (parent["event"], parent["context_id"], parent["parent_id"]) == ("Deploy started", "deploy-7", None)
    assert (alone["context_id"], alone["parent_id"]) == (None, None)
    assert numeric["context_id"] == "99"
    detail = (await client.get(f"/api/v1/events/{parent['id']}", headers=admin_headers)).json()
    assert [c["event"] for c in detail["children"]] == ["Build done"]
    restart = {"name": "Deploy again", "contextId": "deploy-7", "contextStart": "yes"}
    assert (await send(client, admin_headers, restart)).status_code == 201
    assert (await events(client, admin_headers))[0]["parent_id"] is None


async def test_the_bytes_the_official_clients_send(client, admin_headers):
    """The SDKs' documented calls: the Node SDK's full example (nulls, empty actions, `muted`) to /log, and the
    Python SDK's `requests.post(json=...)` (ASCII-escaped emoji, `type` left out) to /ingest."""
    node = (
        b'{"name":"some event","avatar":"\xf0\x9f\xa4\x96","type":"text","userId":null,"content":"Hello mellow!",'
        b'"actions":[],"muted":false,"notify":false,"test":false,"contextId":null,"contextStart":false}'
    )
    python = (
        b'{"name": "user_signup", "content": "A new user has signed up.", "category": "user-activity", '
        b'"notify": true, "avatar": "\\ud83d\\udc0d", "type": null}'
    )
    for path, raw in (("/api/v1/log", node), ("/api/v1/ingest", python)):
        headers = {**admin_headers, "content-type": "application/json"}
        response = await client.post(path, content=raw, headers=headers)
        assert (response.status_code, response.text) == (201, "success")
    signup, some = await events(client, admin_headers)
    assert (some["event"], some["icon"], some["description"], some["user_id"]) == (
        "some event",
        "🤖",
        "Hello mellow!",
        None,
    )
    assert (some["actions"], some["context_id"], some["notify"]) == ([], None, False)
    assert (signup["event"], signup["icon"], signup["channel"], signup["notify"]) == (
        "user_signup",
        "🐍",
        "user-activity",
        True,
    )


async def test_identify_is_accepted_and_ignored(client, admin_headers):
    body = {"userId": "u1", "email": "ada@example.com", "firstName": "Ada", "timezone": "Europe/London"}
    response = await client.post("/api/v1/identify", json=body, headers=admin_headers)
    assert (response.status_code, response.json()) == (200, {})
    assert await events(client, admin_headers) == []
    assert (await client.post("/api/v1/identify", json=body)).status_code == 401


async def test_long_text_is_kept_whole_as_content(client, admin_headers):
    text = "Nightly report\n" + "x" * 5000
    assert (await send(client, admin_headers, {"content": text})).status_code == 201
    assert (await send(client, admin_headers, {"name": "fits", "content": "y" * 4000})).status_code == 201
    fits, report = await events(client, admin_headers)
    assert (report["event"], report["description"], report["content"]) == ("Nightly report", None, text)
    assert (fits["description"], fits["content"]) == ("y" * 4000, None)


@pytest.mark.parametrize(
    ("expire_in", "minutes"), [(90.5, 91), (100_000, 43_200), (1e300, 43_200), (0, 1), (-5, 1), (0.2, 1)]
)
async def test_any_expire_in_is_held_within_the_native_range(client, admin_headers, expire_in, minutes):
    before = datetime.now(UTC)
    action = {"url": "https://example.com/a", "buttonText": "Go", "key": "go", "expireIn": expire_in}
    response = await send(client, admin_headers, {"name": "n", "actions": [action]})
    assert response.status_code == 201, response.text
    [stored] = await events(client, admin_headers)
    expires = datetime.fromisoformat(stored["actions"][0]["expires_at"]) - before
    assert timedelta(minutes=minutes) <= expires < timedelta(minutes=minutes, seconds=30)


@pytest.mark.parametrize(
    ("text", "event", "icon"),
    [
        ("🚀 Deployed v2.1", "Deployed v2.1", "🚀"),
        ("  👨‍👩‍👧 Family plan bought ", "Family plan bought", "👨‍👩‍👧"),
        ("❤️Liked", "Liked", "❤️"),
        ("User signed up", "User signed up", None),
        (":) user signed up", ":) user signed up", None),
        ("Deployed 🚀", "Deployed 🚀", None),
        ("™ Trademark renewal due", "™ Trademark renewal due", None),  # a sign of the text, not its icon
        ("© 2026 report ready", "© 2026 report ready", None),
        ("⚡ Fast path on", "Fast path on", "⚡"),
        ("⭐ Starred", "Starred", "⭐"),
        ("1️⃣ First step", "First step", "1️⃣"),
    ],
)
async def test_text_body(client, admin_headers, text, event, icon):
    response = await send_text(client, admin_headers, text)
    assert (response.status_code, response.text) == (201, "success")
    [stored] = await events(client, admin_headers)
    assert (stored["event"], stored["icon"], stored["channel"], stored["source"]) == (
        event,
        icon,
        "general",
        "operational",
    )


async def test_text_body_edge_cases(client, admin_headers):
    response = await send_text(client, admin_headers, "Backup done", "text/plain; charset=utf-8")
    assert response.status_code == 201
    assert_text_error(await send_text(client, admin_headers, "🚀 "), 400, "content field is required")
    response = await client.post(
        "/api/v1/log", content=b"\xff\xfe broken", headers={**admin_headers, "content-type": "text/plain"}
    )
    assert_text_error(response, 400, "not valid UTF-8")
    assert (await send_text(client, admin_headers, "x" * 1000)).status_code == 201
    assert [len(e["event"]) for e in await events(client, admin_headers)] == [250, 11]
    # Six characters of text, not a JSON escape: it was refused as a NUL character.
    assert (await send_text(client, admin_headers, r"Regex \u0000 escapes fixed")).status_code == 201
    assert (await events(client, admin_headers))[0]["event"] == r"Regex \u0000 escapes fixed"


ACTION = {"url": "https://example.com/a", "buttonText": "Do it", "key": "do_it"}


@pytest.mark.parametrize(
    ("patch", "rule"),
    [
        ({"type": "video"}, "type field must include one of the following: text,map,image,json,rows"),
        ({"name": None, "content": None}, "content field is required"),
        ({"name": "", "content": ""}, "content field is required"),
        ({"name": 5}, "Expected `str | null`, got `int` - at `$.name`"),
        ({"category": ["a"]}, "got `array` - at `$.category`"),
        ({"userId": 1.5}, "got `float` - at `$.userId`"),
        ({"userId": "u" * 257}, "length <= 256 - at `$.userId`"),
        ({"contextId": "c" * 129}, "length <= 128 - at `$.contextId`"),
        ({"content": "c" * 70_000}, "`content` must encode to at most 65536 bytes"),
        ({"type": "json", "content": {"big": "x" * 70_000}}, "`content` must encode to at most 65536 bytes"),
        ({"type": "rows", "content": []}, "content needs to have some data"),
        ({"type": "rows", "content": {"a": 1}}, "content needs to have some data"),
        ({"type": "rows", "content": ["text"]}, "each row of content must be an object"),
        ({"type": "rows", "content": [{"type": "rows"}]}, "card's type shouldn't be rows"),
        ({"type": "rows", "content": [{"type": "video"}]}, "card's type should be one of text,map,image,json,rows"),
        ({"actions": "nope"}, "Expected `array | null`, got `str` - at `$.actions`"),
        ({"actions": ["nope"]}, "Expected `object`, got `str` - at `$.actions[0]`"),
        ({"actions": [{**ACTION, "url": None}]}, "missing required field `url` - at `$.actions[0]`"),
        ({"actions": [{**ACTION, "url": "ftp://x"}]}, "regex"),
        ({"actions": [{**ACTION, "buttonText": None}]}, "missing required field `buttonText`"),
        ({"actions": [{**ACTION, "buttonText": "b" * 49}]}, "length <= 48 - at `$.actions[0].buttonText`"),
        ({"actions": [{**ACTION, "key": ""}]}, "`key` is required unless `external` is true"),
        ({"actions": [{**ACTION, "meta": "text"}]}, "got `str` - at `$.actions[0].meta`"),
        ({"actions": [ACTION, ACTION]}, "`actions` keys must be unique"),
        ({"actions": [{**ACTION, "key": f"k{i}"} for i in range(6)]}, "length <= 5 - at `$.actions`"),
    ],
)
async def test_validation_errors_are_plain_text(client, admin_headers, patch, rule):
    response = await send(client, admin_headers, {**EVENT, **patch})
    assert_text_error(response, 400, rule)
    assert await events(client, admin_headers) == []


@pytest.mark.parametrize(
    ("body", "content_type", "status", "rule"),
    [
        (b"{broken", "application/json", 400, "not valid JSON"),
        (b"[1]", "application/json", 400, "Expected `object`, got `array`"),
        (b"", "application/json", 400, "body is empty"),
        (b"", "text/plain", 400, "body is empty"),
        (b"name=x", "application/x-www-form-urlencoded", 415, "application/json"),
        (b'{"name": "a\\u0000"}', "application/json", 400, "NUL character"),
        (b"a\x00b", "text/plain", 400, "NUL character"),
        (b"x" * 300_000, "text/plain", 413, "limit"),
    ],
)
async def test_bad_bodies(client, admin_headers, body, content_type, status, rule):
    response = await client.post("/api/v1/log", content=body, headers={**admin_headers, "content-type": content_type})
    assert_text_error(response, status, rule)


async def test_project_comes_from_the_key(client, hub, admin_headers):
    bound = bearer(await make_key(hub, "ingest", project="Shop"))
    assert (await send(client, bound, {"name": "order"})).status_code == 201
    assert (await send_text(client, bound, "🛒 cart")).status_code == 201
    assert {e["project"] for e in await events(client, admin_headers)} == {"shop"}


@pytest.mark.parametrize("settings_overrides", [{"HUB_INGEST_DEFAULT_PROJECT": "Ops-Inbox"}])
async def test_default_project_is_configurable(client, admin_headers):
    assert (await send(client, admin_headers, {"name": "x"})).status_code == 201
    assert [e["project"] for e in await events(client, admin_headers)] == ["ops-inbox"]


async def test_auth_errors(client, hub):
    assert_text_error(await send(client, {}, EVENT), 401, "missing API key")
    assert_text_error(await send_text(client, {"Authorization": "Bearer "}, "x"), 401, "missing API key")
    assert_text_error(await send(client, bearer("hub_wrong"), EVENT), 401, "invalid or revoked")
    assert_text_error(await send(client, bearer(await make_key(hub, "read")), EVENT), 403, "`ingest` scope")
    limited = bearer(await make_key(hub, "ingest", rate_limit=1))
    statuses = [(await send(client, limited, EVENT)).status_code for _ in range(4)]
    assert 429 in statuses
    response = await send(client, limited, EVENT)
    assert_text_error(response, 429, "rate limit")
    assert int(response.headers["retry-after"]) >= 1


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.text(max_size=6) | st.sampled_from(["url", "buttonText", "key", "type"]), inner, max_size=4
        )
    ),
    max_leaves=10,
)
TYPES = st.sampled_from(["text", "json", "rows", "map", "image"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_fuzzed_bodies_get_4xx_text_not_500(client, admin_headers, data):
    body = data.draw(st.dictionaries(st.sampled_from(list(EVENT)), JSON | TYPES) | JSON)
    response = await send(client, admin_headers, body)
    assert response.status_code in (201, 400), (body, response.text)
    assert response.headers["content-type"].startswith("text/plain")
    text = data.draw(st.text(max_size=60))
    response = await send_text(client, admin_headers, text)
    assert response.status_code in (201, 400), (text, response.text)
