"""Native ingest and the read API, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event as sql_events
from sqlalchemy import select, text, update

import hub.db.events
from hub.core import Hub
from hub.db import schema
from hub.db.events import EventFilter, encode_cursor, feed_query, follow_ups_after_query, timelines_query
from hub.ingest import Draft
from hub.testing import bearer, make_key

# For bodies refused while they are decoded, before anything reaches a database: one back end tells it all.
DECODING_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

EVENT = {
    "project": "My-SaaS",
    "channel": "payments",
    "event": "New subscription",
    "description": "**Pro** plan",
    "parser": "markdown",
    "icon": "💰",
    "notify": True,
    "tags": {"plan": "pro", "amount": 42, "trial": False},
    "content": {"user": {"email": "alice@example.com"}, "items": [1, 2]},
    "user_id": "user-1",
    "severity": "warning",
    "actions": [
        {
            "label": "Refund",
            "url": "https://example.com/refund",
            "key": "refund",
            "meta": {"charge": "ch_1"},
            "confirm": True,
            "inputs": [{"name": "reason", "type": "choice", "choices": ["fraud", "other"]}],
        },
        {"label": "Open in Stripe", "url": "https://dashboard.stripe.com", "external": True},
    ],
}


async def test_store_and_read_back(client, admin_headers):
    response = await client.post("/api/v1/events", json=EVENT, headers=admin_headers)
    assert response.status_code == 201, response.text
    stored = response.json()
    assert stored["project"] == "my-saas"
    assert stored["channel"] == "payments"
    assert stored["id"].isdigit()
    assert stored["created_at"].endswith("Z")
    assert stored["tags"] == {"plan": "pro", "amount": 42, "trial": False}
    assert stored["actions"][0]["expires_at"]
    assert "expire_in" not in stored["actions"][0]

    one = await client.get(f"/api/v1/events/{stored['id']}", headers=admin_headers)
    assert one.status_code == 200
    assert one.json()["event"] == stored | {"timeline": None}  # a stored event has no follow-ups yet
    assert one.json()["children"] == []

    page = (await client.get("/api/v1/events", headers=admin_headers)).json()
    assert [e["id"] for e in page["items"]] == [stored["id"]]


def _nested(levels: int) -> list:
    """Lists `levels` deep: `[[...[1]...]]`."""
    value: list = [1]
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("patch", "field", "rule"),
    [
        ({"event": ""}, "event", "length >= 1"),
        ({"event": "x" * 251}, "event", "length <= 250"),
        ({"description": "x" * 4001}, "description", "length <= 4000"),
        ({"parser": "html"}, "parser", "expected one of 'markdown', 'text'"),
        ({"icon": "not an emoji"}, "icon", "emoji"),
        ({"tags": {"plan": "pro", "Bad Key": 1}}, "tags", "[a-z0-9_-]{1,64}$': 'Bad Key' does not"),
        ({"tags": {f"k{i}": i for i in range(33)}}, "tags", "length <= 32"),
        ({"tags": {"a": [1]}}, "tags.a", "bool | int | float | str"),
        ({"content": "x" * 70000}, "content", "65536 bytes"),
        ({"content": _nested(33)}, "content", "at most 32 levels deep"),
        ({"tags": {"note": "x" * 1025}}, "tags.note", "at most 1024 characters"),
        # Stored as its digits, it was a 500 on PostgreSQL (and, in a batch, lost the valid events with it).
        ({"tags": {"n": int("9" * 1025)}}, "tags.n", "must be a number of at most 1024 digits"),
        ({"project": "shop\n"}, "project", "regex"),
        ({"tags": {"k\n": 1}}, "tags", "'k\\n' does not"),
        ({"actions": [{"label": "x", "url": "https://a\n", "key": "k"}]}, "actions[0].url", "regex"),
        ({"actions": [{"label": "x", "url": "https://a", "key": "k\n"}]}, "actions[0].key", "regex"),
        (
            {"actions": [{"label": "x", "url": "https://a", "key": "k", "meta": {"m": _nested(32)}}]},
            "actions[0].meta",
            "at most 32 levels deep",
        ),
        ({"severity": "fatal"}, "severity", "expected one of 'critical', 'info', 'warning'"),
        (
            {"actions": [{"label": "x", "url": "https://a", "key": "k", "inputs": [{"name": "n", "type": "date"}]}]},
            "actions[0].inputs[0].type",
            "expected one of 'bool', 'choice', 'number', 'text'",
        ),
        ({"channel": "has space"}, "channel", "regex"),
        # In words first: a person filling in a form reads no regular expressions.
        ({"channel": "-x"}, "channel", "Expected a slug: 1 to 64 letters, digits and `_ . -`, starting with a"),
        ({"actions": [{"label": "x", "url": "ftp://a"}]}, "actions[0].url", "regex"),
        ({"actions": [{"label": "x", "url": "https://a"}]}, "actions[0].key", "`key` is required"),
        ({"actions": [{"label": "x" * 49, "url": "https://a", "key": "k"}]}, "actions[0].label", "length <= 48"),
        (
            {"actions": [{"label": "x", "url": "https://a", "key": "k", "expire_in": 43201}]},
            "actions[0].expire_in",
            "<= 43200",
        ),
        ({"actions": [{"label": "x", "url": "https://a", "external": True}] * 6}, "actions", "length <= 5"),
        ({"idempotency_key": "k" * 129}, "idempotency_key", "length <= 128"),
        ({"timestamp": "yesterday"}, "timestamp", "RFC3339"),
        ({"timestamp": 1e300}, "timestamp", "out of range"),
        ({"timestamp": 10**30}, "timestamp", "out of range"),
        ({"timestamp": -5}, "timestamp", "before 1970"),
        ({"timestamp": "0001-01-01T00:00:00Z"}, "timestamp", "before 1970"),
        ({"timestamp": "0001-01-01T00:00:00+01:00"}, "timestamp", "before 1970"),
        ({"timestamp": "1970-01-01T00:30:00+01:00"}, "timestamp", "before 1970"),
        (
            {
                "actions": [
                    {
                        "label": "x",
                        "url": "https://a",
                        "key": "k",
                        "inputs": [{"name": "n", "type": "number", "default": "abc"}],
                    }
                ]
            },
            "actions[0].inputs[0].default",
            "must be a number",
        ),
        (
            {
                "actions": [
                    {
                        "label": "x",
                        "url": "https://a",
                        "key": "k",
                        "inputs": [{"name": "n", "type": "bool", "default": 1}],
                    }
                ]
            },
            "actions[0].inputs[0].default",
            "must be a boolean",
        ),
        (
            {
                "actions": [
                    {"label": "x", "url": "https://a", "key": "k", "inputs": [{"name": "n", "default": "d" * 2001}]}
                ]
            },
            "actions[0].inputs[0].default",
            "at most 2000 characters",
        ),
        ({"unknown": 1}, "unknown", "unknown field `unknown`"),
        ({"context_start": True}, "context_start", "`context_start` needs a `context_id`"),
    ],
)
async def test_invalid_fields_are_refused_with_field_and_rule(client, admin_headers, patch, field, rule):
    response = await client.post("/api/v1/events", json={**EVENT, **patch}, headers=admin_headers)
    assert response.status_code == 400, response.text
    body = response.json()
    assert rule in body["message"]
    assert body.get("field") == field
    page = (await client.get("/api/v1/events", headers=admin_headers)).json()
    assert page["items"] == []


async def test_auth_errors(client, hub):
    assert (await client.post("/api/v1/events", json=EVENT)).status_code == 401
    assert (await client.post("/api/v1/events", json=EVENT, headers=bearer("hub_nope"))).status_code == 401
    read_only = await make_key(hub, "read")
    response = await client.post("/api/v1/events", json=EVENT, headers=bearer(read_only))
    assert response.status_code == 403
    assert "`ingest` scope" in response.json()["message"]
    bound = await make_key(hub, "ingest", project="other")
    response = await client.post("/api/v1/events", json=EVENT, headers=bearer(bound))
    assert response.status_code == 403
    assert "project `other`" in response.json()["message"] and response.json()["field"] == "project"
    batch = await client.post("/api/v1/events/batch", json={"events": [EVENT]}, headers=bearer(bound))
    [item] = batch.json()["results"]
    assert item["status"] == 403 and item["error"]["field"] == "events[0].project"
    response = await client.post(
        "/api/v1/events", json={k: v for k, v in EVENT.items() if k != "project"}, headers=bearer(bound)
    )
    assert response.status_code == 201
    assert response.json()["project"] == "other"


async def test_revoked_key_stops_working(client, hub, admin_headers):
    info, secret = await hub.keys.create(name="temp", scopes=["ingest"])
    assert (await client.post("/api/v1/events", json=EVENT, headers=bearer(secret))).status_code == 201
    assert (await client.delete(f"/api/v1/keys/{info.id}", headers=admin_headers)).status_code == 204
    assert (await client.post("/api/v1/events", json=EVENT, headers=bearer(secret))).status_code == 401


async def test_bad_bodies_get_4xx(client, admin_headers):
    cases = [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b"", "application/json", 400),
        (b'{"event": "x", "project": "p"}', "text/html", 415),
        (b'"just a string"', "application/json", 400),
        (b'{"event": 5, "project": "p"}', "application/json", 400),
        (b'{"event": "a\\u0000b", "project": "p"}', "application/json", 400),
        (b'{"event": "x", "project": "p", "content": {"k": "\\u0000"}}', "application/json", 400),
        (b'{"event": "x", "project": "p", "tags": {"k": "\\u0000"}}', "application/json", 400),
        (b"[" * 100_000, "application/json", 400),
    ]
    for body, content_type, status in cases:
        response = await client.post(
            "/api/v1/events", content=body, headers={**admin_headers, "content-type": content_type}
        )
        assert response.status_code == status, (body[:80], response.text)
        assert response.json()["message"]
    assert (await client.get("/api/v1/events", headers=admin_headers)).json()["items"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status_as_json"),
    [
        ("POST", "/api/v1/keys", '{"name": "k", "scopes": ["read"]}', 201),
        ("PUT", "/api/v1/routes/r", '{"name": "r", "targets": [{"slack": "https://hooks.example.com/x"}]}', 200),
        ("POST", "/api/v1/routes/test", '{"project": "p", "event": "x"}', 200),
        ("POST", "/api/v1/session", '{"email": "a@example.com", "password": "correct horse"}', 401),  # no such user
        ("POST", "/api/v1/teams", '{"slug": "ops", "name": "Ops"}', 201),
    ],
)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_json_endpoints_refuse_other_media_types(
    client, admin_headers, method, path, body, status_as_json, content_type
):
    """What a cross-site page can send without the browser asking first is refused before anything is read."""
    headers = {**admin_headers, "content-type": content_type}
    response = await client.request(method, path, content=body, headers=headers)
    assert response.status_code == 415, response.text
    assert response.json()["message"] == f"send the body as application/json, not {content_type}"
    assert (await client.request(method, path, content=body, headers=admin_headers)).status_code == status_as_json


@DECODING_ONLY
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/keys"),
        ("PUT", "/api/v1/routes/r"),
        ("POST", "/api/v1/routes/test"),
        ("POST", "/api/v1/session"),
        ("POST", "/api/v1/teams"),
        ("PATCH", "/api/v1/users/usr_x"),
        ("POST", "/api/v1/checks"),
    ],
)
@pytest.mark.parametrize("content_type", [None, "application/json"])
async def test_json_endpoints_without_their_body_say_so(client, admin_headers, method, path, content_type):
    """Litestar's own answer to a missing body was `{"message": "'data'"}`, which names no rule."""
    headers = admin_headers | ({"content-type": content_type} if content_type else {})
    response = await client.request(method, path, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "the request body is empty; send a JSON object"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/events", {"event": "a\x00b", "project": "p"}, "event"),
        ("/api/v1/events", {"event": "x", "project": "p", "tags": {"env": "\x00"}}, "tags.env"),
    ],
)
async def test_a_nul_character_is_refused_naming_its_field(client, admin_headers, path, body, field):
    response = await client.post(path, json=body, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert response.json()["message"] == f"`{field}` contains a NUL character (\\u0000), which the hub does not store"


async def test_a_nul_character_in_a_batch_refuses_its_item_only(client, admin_headers):
    """Each item is answered on its own, as the README says; a NUL in one refused the whole batch with a 400."""
    items = [{"event": "kept", "project": "p"}, {"event": "\x00", "project": "p"}, {"event": "x", "tags": {"\x00": 1}}]
    response = await client.post("/api/v1/events/batch", json={"events": items}, headers=admin_headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["stored"], answer["failed"]) == (1, 2)
    nul = "contains a NUL character (\\u0000), which the hub does not store"
    assert [r.get("error") for r in answer["results"]] == [
        None,
        {"message": f"`events[1].event` {nul}", "field": "events[1].event", "status": 400},
        {"message": f"`events[2].tags` {nul}", "field": "events[2].tags", "status": 400},
    ]
    [stored] = (await client.get("/api/v1/events", headers=admin_headers)).json()["items"]
    assert stored["event"] == "kept"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/events", {"event": "x", "project": "p", "tags": {"plan": "pro", "seats": [1]}}, "tags.seats"),
        ("/api/v1/events/batch", {"events": [{"event": "x", "project": "p", "tags": {"a": None}}]}, "events[0].tags.a"),
        ("/v1/log", {"project": "p", "channel": "c", "event": "x", "tags": {"a": 1, "b": 2, "c": {}}}, "tags.c"),
    ],
)
async def test_a_bad_tag_value_is_refused_naming_its_key(client, admin_headers, path, body, field):
    """msgspec says `$.tags[...]` for any key; the answer named only `tags`, though `field` is documented as
    `tags.plan`, so a client with 30 tags could not tell which one."""
    response = await client.post(path, json=body, headers=admin_headers)
    batch = path.endswith("batch")
    assert response.status_code == (200 if batch else 400), response.text
    error = response.json()["results"][0]["error"] if batch else response.json()
    assert error["message"].endswith(f" - at `$.{field}`"), error["message"]
    assert error.get("field", field) == field  # LogSnag's answer has no `field`, only the message
    assert (await client.get("/api/v1/events", headers=admin_headers)).json()["items"] == []


async def refusal(client, headers, path: str, body: bytes) -> dict:
    """The error a JSON body is refused with: the answer's, or a batch's first item's (the batch answers 200)."""
    response = await client.post(path, content=body, headers={**headers, "content-type": "application/json"})
    batch = path.endswith("batch")
    assert response.status_code == (200 if batch else 400), response.text
    return response.json()["results"][0]["error"] if batch else response.json()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/events", b'{"event": "x", "project": "p", "tags": {"plan": "pro", "seats": 1e400}}', "tags.seats"),
        ("/api/v1/events", b'{"event": "x", "project": "p", "content": {"a": 1.5, "b": -1e400}}', "content.b"),
        ("/api/v1/events/batch", b'{"events": [{"event": "x", "tags": {"a": 1, "b": 1e400}}]}', "events[0].tags.b"),
        ("/v1/log", b'{"project": "p", "channel": "c", "event": "x", "timestamp": 1e400}', "timestamp"),
        ("/api/event", b'{"workspace": "w", "event": "x", "metadata": {"a": 1, "n": 1e400}}', "metadata.n"),
        # Deep in an object of free keys, every key on the way (msgspec says `$.content[...][...][2]`).
        ("/api/v1/events", b'{"event": "x", "project": "p", "content": {"z": 1, "a": {"b": [1, 2, 1e400]}}}',
         "content.a.b[2]"),
        ("/api/v1/events/batch", b'{"events": [{"event": "x", "content": [{"a": 1}, {"b": {"c": -1e400}}]}]}',
         "events[0].content[1].b.c"),
        ("/api/v1/events", b'{"event": "x", "project": "p", "actions": [{"label": "l", "url": "https://x.io", '
         b'"key": "k", "meta": {"a": {"b": [1, 1e400]}}}]}', "actions[0].meta.a.b[1]"),
        ("/v1/log", b'{"project": "p", "channel": "c", "event": "x", "content": {"a": {"b": 1e400}}}', "content.a.b"),
    ],
)  # fmt: skip
async def test_a_number_no_float_holds_is_refused_naming_its_field(client, admin_headers, path, body, field):
    """A number past a float's range in an object of free keys is `Number out of range - at `$[...]``; naming the
    key took decoding the body again, which failed the same way, so LogSnag's route answered with no field at all."""
    error = await refusal(client, admin_headers, path, body)
    assert error["message"] == f"Number out of range - at `$.{field}`", error["message"]
    assert error.get("field", field) == field  # LogSnag's and Logsh's answers have no `field`, only the message
    assert (await client.get("/api/v1/events", headers=admin_headers)).json()["items"] == []


LONG_INTEGER = b"-" + b"9" * 4301  # one digit past what Python's int() reads from text


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/events", b'{"event": "x", "project": "p", "content": {"z": 1, "a": {"b": [1, 2, %s]}}}',
         "content.a.b[2]"),
        ("/api/v1/events", b'{"event": "x", "project": "p", "content": {"a": 1%s}, "tags": {"n": %s}}', "tags.n"),
        ("/api/v1/events/batch", b'{"events": [{"event": "x", "content": [{"a": 1}, {"b": {"c": %s}}]}]}',
         "events[0].content[1].b.c"),
        ("/v1/log", b'{"project": "p", "channel": "c", "event": "x", "content": {"a": {"b": %s}}}', "content.a.b"),
        ("/api/v1/routes/test", b'{"event": "x", "content": {"z": 1, "a": {"b": [2, %s]}}}', "content.a.b[1]"),
    ],
)  # fmt: skip
async def test_an_integer_too_long_to_read_is_refused_naming_its_field(client, admin_headers, path, body, field):
    """msgspec reads no integer of more digits than Python's int() takes from text, nor could the hub, whose second
    reading (to name the key) failed the same way: the answer named `content[2]` for `content.a.b[2]`."""
    body = body.replace(b"1%s", b"1" + b"0" * 400).replace(b"%s", LONG_INTEGER)  # a long integer before is fine
    error = await refusal(client, admin_headers, path, body)
    assert error["message"] == f"Integer value out of range - at `$.{field}`", error["message"]
    assert error.get("field", field) == field
    assert (await client.get("/api/v1/events", headers=admin_headers)).json()["items"] == []


@pytest.mark.parametrize(
    "path",
    ["/api/v1/events", "/v1/log", "/api/v1/log", "/api/v1/routes/test"],
)
@pytest.mark.parametrize(
    "body",
    [
        # A key given twice, which the standard library's reading (the one that reads long integers) keeps once.
        b'{"event": "x", "content": {"a": {"x": %s}, "a": 1, "b": {"y": %s}}, "description": "\\ud800"}',
        # A field msgspec skips unread (Operational.co's routes ignore unknown ones), then a lone surrogate.
        b'{"zz": %s, "event": "x", "name": "x", "project": "p", "content": {"a": %s}, "s": "\\ud800"}',
    ],
)  # fmt: skip
async def test_an_integer_too_long_to_read_beside_what_only_the_standard_library_reads_is_a_400(
    client, admin_headers, path, body
):
    """Naming the key fell back to cutting the object short and writing it again, which a lone surrogate the
    standard library had read made fail with a UnicodeEncodeError: a 500."""
    body = body.replace(b"%s", LONG_INTEGER)
    response = await client.post(path, content=body, headers={**admin_headers, "content-type": "application/json"})
    assert response.status_code == 400, response.text
    json_answer = response.headers["content-type"].startswith("application/json")
    message = response.json()["message"] if json_answer else response.text  # Operational.co's errors are text
    assert message.startswith(("Integer value out of range", "Object contains unknown field")), message


@pytest.mark.parametrize(
    "number", ["1.0", "300000.0", "0.30000000000000004", "18446744073709551616", "-9223372036854775809"]
)
async def test_content_that_is_a_bare_number_reads_back_as_sent(client, admin_headers, number):
    """SQLite stored a JSON column's text that reads as a number as that number (NUMERIC affinity): `1.0` came back
    as `1`, and integers past 64 bits rounded to a float, unlike the answer to the POST and unlike PostgreSQL."""
    body = f'{{"event": "x", "project": "p", "content": {number}}}'
    posted = await client.post(
        "/api/v1/events", content=body, headers={**admin_headers, "content-type": "application/json"}
    )
    assert posted.status_code == 201, posted.text
    read = await client.get(f"/api/v1/events/{posted.json()['id']}", headers=admin_headers)
    feed = await client.get("/api/v1/events", headers=admin_headers)
    for answer in (posted.text, read.text, feed.text):
        assert f'"content":{number},' in answer, answer


async def test_a_literal_backslash_u0000_is_text_not_nul(client, admin_headers):
    body = b'{"event": "C:\\\\u0000 path", "project": "p"}'
    response = await client.post(
        "/api/v1/events", content=body, headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["event"] == "C:\\u0000 path"


async def test_nul_in_query_parameters_is_harmless(client, admin_headers):
    for query in ("q=%00", "channel=%00", "tag=a:%00", "user_id=%00", "project=%00"):
        response = await client.get(f"/api/v1/events?{query}", headers=admin_headers)
        assert response.status_code in (200, 400), (query, response.text)


async def test_an_event_id_of_other_digits_is_not_found(client, admin_headers):
    """`³` and `²` are digits to `str.isdigit()` but not to `int()`; the id parser took them once and answered 500."""
    for path in ("/api/v1/events/%C2%B3", "/api/v1/events/1%C2%B2/runs", "/api/v1/deliveries?event_id=%C2%B3"):
        response = await client.get(path, headers=admin_headers)
        assert response.status_code in (200, 404), (path, response.text)
        if response.status_code == 404:
            assert "no event with id" in response.json()["message"], path


async def test_body_limit_is_413(client, admin_headers):
    body = b'{"event": "x", "project": "p", "description": "' + b"x" * 300_000 + b'"}'
    response = await client.post(
        "/api/v1/events", content=body, headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "262144 bytes" in response.json()["message"]


async def test_idempotency_key_returns_original(client, admin_headers):
    first = await client.post("/api/v1/events", json={**EVENT, "idempotency_key": "order-1"}, headers=admin_headers)
    again = await client.post(
        "/api/v1/events", json={**EVENT, "idempotency_key": "order-1", "event": "changed"}, headers=admin_headers
    )
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    other_project = await client.post(
        "/api/v1/events", json={**EVENT, "project": "b", "idempotency_key": "order-1"}, headers=admin_headers
    )
    assert other_project.status_code == 201
    page = (await client.get("/api/v1/events?project=my-saas", headers=admin_headers)).json()
    assert len(page["items"]) == 1


async def test_an_idempotency_key_used_in_test_mode_does_not_swallow_the_real_event(client, admin_headers):
    """Test events are kept apart: trying an integration with `test: true` and then sending the real order with the
    same key must store it (it answered 200 with the test event, and the live feed never had it)."""
    body = {"project": "shop", "event": "Order 1001", "idempotency_key": "order-1001"}
    trial = await client.post("/api/v1/events", json={**body, "test": True}, headers=admin_headers)
    real = await client.post("/api/v1/events", json=body, headers=admin_headers)
    assert (trial.status_code, real.status_code) == (201, 201)
    assert real.json()["test"] is False
    retried = await client.post("/api/v1/events", json=body, headers=admin_headers)
    assert (retried.status_code, retried.json()["id"]) == (200, real.json()["id"])
    batch = [{**body, "test": True}, body, {**body, "project": "other"}]
    answers = (await client.post("/api/v1/events/batch", json={"events": batch}, headers=admin_headers)).json()
    assert [r["status"] for r in answers["results"]] == [200, 200, 201]
    assert [r["event"]["id"] for r in answers["results"][:2]] == [trial.json()["id"], real.json()["id"]]
    feed = (await client.get("/api/v1/events?project=shop", headers=admin_headers)).json()
    assert [e["id"] for e in feed["items"]] == [real.json()["id"]]


async def test_concurrent_idempotent_retries_store_one(client, admin_headers):
    body = {**EVENT, "idempotency_key": "race"}
    responses = await asyncio.gather(
        *[client.post("/api/v1/events", json=body, headers=admin_headers) for _ in range(10)]
    )
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1


async def test_idempotency_window_expires(client, hub, admin_headers):
    first = (await client.post("/api/v1/events", json={**EVENT, "idempotency_key": "k"}, headers=admin_headers)).json()
    hub.ingestor.idempotency_window = timedelta(seconds=0)
    second = await client.post("/api/v1/events", json={**EVENT, "idempotency_key": "k"}, headers=admin_headers)
    assert second.status_code == 201
    assert second.json()["id"] != first["id"]


async def test_batch_answers_per_item(client, admin_headers):
    events = [{"project": "p", "event": f"e{i}"} for i in range(5)]
    events[2] = {"project": "p", "event": ""}
    events[3] = {"project": "p", "event": "deep", "content": _nested(33)}
    events[4] = {"project": "p", "event": "ok", "tags": {"UPPER": 1}}
    response = await client.post("/api/v1/events/batch", json={"events": events}, headers=admin_headers)
    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["failed"]) == (2, 3)
    assert [r["status"] for r in body["results"]] == [201, 201, 400, 400, 400]
    assert body["results"][3]["error"]["field"] == "events[3].content"
    assert body["results"][2]["error"]["field"] == "events[2].event"
    assert "events[2].event" in body["results"][2]["error"]["message"]
    assert body["results"][4]["error"]["field"] == "events[4].tags"


async def test_content_nested_to_the_limit_is_stored_and_reads_back(client, admin_headers):
    event = {**EVENT, "content": {"a": _nested(31)}}
    stored = await client.post("/api/v1/events", json=event, headers=admin_headers)
    assert stored.status_code == 201, stored.text
    one = await client.get(f"/api/v1/events/{stored.json()['id']}", headers=admin_headers)
    assert one.json()["event"]["content"] == event["content"]
    assert (await client.get("/api/v1/events", headers=admin_headers)).status_code == 200


@DECODING_ONLY
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/events", '{"project": "p", "event": "x", "content": %s}'),
        ("/api/v1/events/batch", '{"events": [{"project": "p", "event": "x", "content": %s}]}'),
        ("/v1/log", '{"project": "p", "channel": "c", "event": "x", "tags": %s}'),
        ("/api/v1/log", '{"name": "x", "content": %s}'),
        ("/api/v1/routes/test", '{"project": "p", "event": "x", "content": %s}'),
    ],
)
async def test_json_nested_past_the_stack_is_a_400(client, admin_headers, path, body):
    """Deeper than Python's recursion limit: msgspec gives up while decoding, which must not become a 500. (Python
    3.13 lets C code recurse 10,000 levels, so 5,000 decoded there and met the `content` depth rule instead.)"""
    deep = "[" * 100_000 + "]" * 100_000
    response = await client.post(
        path, content=body % deep, headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "nests JSON too deeply" in response.text  # Operational.co's errors are plain text


@DECODING_ONLY
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/events", '{"project": "p", "event": "%s"}'),
        ("/api/v1/events/batch", '{"events": [{"project": "p", "event": "%s"}]}'),
        ("/v1/log", '{"project": "p", "channel": "c", "event": "%s"}'),
        ("/api/v1/log", '{"name": "%s"}'),
    ],
)
@pytest.mark.parametrize("text", ["\\ud83d", "a\\ud83dz", "\\ud83d\\u0041"])
async def test_an_unpaired_surrogate_escape_is_named_as_such(client, admin_headers, path, body, text):
    """msgspec reports a high surrogate escape with nothing to pair it as truncated input."""
    response = await client.post(
        path, content=body % text, headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert "surrogate" in response.text and "truncated" not in response.text


async def test_a_truncated_body_is_still_called_truncated(client, admin_headers):
    body = '{"project": "p", "event": "a \\\\ud83d text'  # an escaped backslash, then the end of the input
    response = await client.post(
        "/api/v1/events", content=body, headers={**admin_headers, "content-type": "application/json"}
    )
    assert response.status_code == 400 and "truncated" in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/routes/test", b'{"event": "x", "content": {"z": 1, "a": {"b": [2, 1e400]}}}', "content.a.b[1]"),
        ("/api/v1/users", b'{"email": "ada@example.com", "name": "Ada", "role": -1e400}', "role"),
    ],
)
async def test_a_number_no_float_holds_in_a_body_the_framework_decodes_is_named(
    client, admin_headers, path, body, field
):
    """Litestar decodes these bodies as plain JSON first, so msgspec said `$[...][...]`: no key and no `field`."""
    response = await client.post(path, content=body, headers={**admin_headers, "content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json() == {"message": f"Number out of range - at `$.{field}`", "status": 400, "field": field}


@DECODING_ONLY
@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("PUT", "/api/v1/routes/r", b"%s", "Expected `object`, got `array`"),
        ("POST", "/api/v1/users", b"%s", "Expected `object`, got `array`"),
        ("POST", "/api/v1/actions/deploy/runs", b'{"inputs": {"a": %s}}', "the body nests JSON too deeply to be read"),
    ],
)
async def test_json_nested_past_the_stack_is_a_400_on_every_json_endpoint(
    client, admin_headers, method, path, body, message
):
    """Bodies the framework decodes (`data: JSONBody[...]`), not the ingest routes' own decoding."""
    deep = b"[" * 100_000 + b"]" * 100_000
    headers = {**admin_headers, "content-type": "application/json"}
    response = await client.request(method, path, content=body % deep, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == message


@DECODING_ONLY
@pytest.mark.parametrize(
    ("method", "path", "body", "message", "field"),
    [
        (
            "POST",
            "/api/v1/checks",
            {"name": "x", "project": "ops", "period": "60"},
            "Expected `int | null`, got `str`",
            "period",
        ),
        (
            "POST",
            "/api/v1/checks",
            {"name": "x", "project": "ops", "manual_resume": "true"},
            "Expected `bool`, got `str`",
            "manual_resume",
        ),
        (
            "POST",
            "/api/v1/checks",
            {"name": "x", "project": "ops", "methods": "GET"},
            "Invalid enum value 'GET' (expected one of '', 'POST')",
            "methods",
        ),
        (
            "POST",
            "/api/v1/keys",
            {"scopes": ["read"], "rate_limit": "5"},
            "Expected `float | null`, got `str`",
            "rate_limit",
        ),
        (
            "PUT",
            "/api/v1/routes/r",
            {"targets": [{"everyone": "true"}]},
            "Expected `bool`, got `str`",
            "targets[0].everyone",
        ),
        (
            "POST",
            "/api/v1/users",
            {"email": "ada@example.com", "name": "Ada", "role": "god"},
            "Invalid enum value 'god' (expected one of 'admin', 'member', 'viewer')",
            "role",
        ),
    ],
)
async def test_bodies_the_framework_decodes_are_checked_as_strictly_as_events(
    client, admin_headers, method, path, body, message, field
):
    """Litestar converts leniently: a check's period of "60" was stored as 60, and `"true"` taken for true, where
    an event's `notify: "true"` is refused. Enum refusals now list the allowed values, as the events API does."""
    response = await client.request(method, path, json=body, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert response.json()["message"].startswith(message), response.json()["message"]


@DECODING_ONLY
async def test_a_whole_number_written_as_a_float_is_still_that_number(client, admin_headers):
    """As `timedelta(minutes=5).total_seconds()` gives it: strict decoding refused 300.0 for a period of 300."""
    check = {"name": "x", "project": "ops", "period": 300.0, "grace": 60.0}
    created = await client.post("/api/v1/checks", json=check, headers=admin_headers)
    assert created.status_code == 201, created.text
    assert (created.json()["period"], created.json()["grace"]) == (300, 60)
    half = await client.post("/api/v1/checks", json={**check, "name": "y", "period": 300.5}, headers=admin_headers)
    assert (half.status_code, half.json()["field"]) == (400, "period")
    assert half.json()["message"].startswith("Expected `int | null`, got `float`")


async def test_batch_limits(client, admin_headers):
    too_many = {"events": [{"project": "p", "event": "x"}] * 1001}
    response = await client.post("/api/v1/events/batch", json=too_many, headers=admin_headers)
    assert response.status_code == 400
    assert "at most 1000" in response.json()["message"]
    assert (await client.post("/api/v1/events/batch", json={"events": []}, headers=admin_headers)).status_code == 400


async def test_contexts_group_into_a_timeline(client, admin_headers):
    def event(name: str, **extra):
        return {"project": "p", "event": name, "context_id": "deploy-42", **extra}

    parent = (await client.post("/api/v1/events", json=event("Deploy started"), headers=admin_headers)).json()
    child1 = (await client.post("/api/v1/events", json=event("Build done"), headers=admin_headers)).json()
    child2 = (await client.post("/api/v1/events", json=event("Deploy finished"), headers=admin_headers)).json()
    assert parent["parent_id"] is None
    assert child1["parent_id"] == child2["parent_id"] == parent["id"]
    detail = (await client.get(f"/api/v1/events/{parent['id']}", headers=admin_headers)).json()
    assert [c["event"] for c in detail["children"]] == ["Build done", "Deploy finished"]
    feed = (await client.get("/api/v1/events", headers=admin_headers)).json()
    assert [e["id"] for e in feed["items"]] == [parent["id"]]
    restart = (
        await client.post("/api/v1/events", json=event("Deploy again", context_start=True), headers=admin_headers)
    ).json()
    assert restart["parent_id"] is None
    later = (await client.post("/api/v1/events", json=event("Step"), headers=admin_headers)).json()
    assert later["parent_id"] == restart["id"]


async def test_the_first_events_of_a_context_from_two_processes_make_one_card(client, hub, settings):
    """On PostgreSQL, two hub processes storing a new context's first events at the same moment both find no card
    for it: the one that commits second must hang its events under the other's card, not start a second one."""
    other = Hub(settings)
    await other.start(run_migrations=False, run_jobs=False)
    try:
        for attempt in range(5):

            def draft(name: str, context: str = f"run-{attempt}") -> Draft:
                now = datetime.now(UTC)
                return Draft(project="p", channel="ci", event=name, context_id=context, created_at=now, received_at=now)

            both = await asyncio.gather(
                hub.ingestor.store([draft("job a"), draft("job a step")]), other.ingestor.store([draft("job b")])
            )
            events = [r.event for stored in both for r in stored]
            cards = [e for e in events if e.parent_id is None]
            assert len(cards) == 1, f"attempt {attempt}: {[(e.event, e.parent_id) for e in events]}"
            assert all(e.parent_id == cards[0].id for e in events if e is not cards[0])
            later = await other.ingestor.store([draft("job c")])
            assert later[0].event.parent_id == cards[0].id
    finally:
        await other.stop()


async def test_an_alert_filter_lists_the_alerts_inside_contexts(client, admin_headers):
    def event(name: str, severity: str = "info", **extra):
        return {"project": "p", "event": name, "severity": severity, **extra}

    async def listed(query: str) -> list[str]:
        answer = await client.get(f"/api/v1/events?{query}", headers=admin_headers)
        assert answer.status_code == 200, answer.text
        return [e["event"] for e in answer.json()["items"]]

    for name, severity in [("Deploy started", "info"), ("Tests slow", "warning"), ("Deploy failed", "critical")]:
        await client.post("/api/v1/events", json=event(name, severity, context_id="deploy-7"), headers=admin_headers)
    await client.post("/api/v1/events", json=event("Disk full", "critical"), headers=admin_headers)
    await client.post("/api/v1/events", json=event("Test alert", "critical", test=True), headers=admin_headers)

    assert await listed("severity=critical") == ["Disk full", "Deploy failed"]
    assert await listed("severity=warning,critical&project=p") == ["Disk full", "Deploy failed", "Tests slow"]
    assert await listed("severity=critical&limit=1&project=p") == ["Disk full"]
    assert await listed("severity=critical&test=true") == ["Test alert"]
    # With `info` the filter is a broad one, like the plain feed: context cards only.
    assert await listed("severity=info,critical") == ["Disk full", "Deploy started"]
    assert await listed("") == ["Disk full", "Deploy started"]


async def test_the_alert_filter_reads_its_own_indexes(hub):
    db = hub.db
    for project_ids, index in [(None, "ix_events_alerts_feed"), ([1], "ix_events_alerts_project_feed")]:
        f = EventFilter(severity=["warning", "critical"], project_ids=project_ids)
        query = feed_query(db, f, encode_cursor(datetime(2026, 1, 1, tzinfo=UTC), 5), 50)
        sql = str(query.compile(db.reader.sync_engine, compile_kwargs={"literal_binds": True}))
        async with db.reader.connect() as conn:
            if db.is_sqlite:
                plan = " ".join(str(row[-1]) for row in await conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            else:
                # The table is empty: ask whether the index can serve the page in order on its own.
                for method in ["seqscan", "bitmapscan", "sort"]:
                    await conn.execute(text(f"SET LOCAL enable_{method} = off"))
                plan = " ".join(str(row[0]) for row in await conn.execute(text("EXPLAIN " + sql)))
        assert index in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # newest first straight from the index


async def test_a_context_with_more_children_than_one_answer_holds_pages_through_them(
    client, admin_headers, monkeypatch
):
    monkeypatch.setattr("hub.db.events.MAX_CHILDREN", 3)
    batch = [{"project": "p", "event": f"step {n}", "context_id": "big"} for n in range(8)]  # one time for all
    response = await client.post("/api/v1/events/batch", json={"events": batch}, headers=admin_headers)
    card = response.json()["results"][0]["event"]
    seen, cursor = [], None
    for _ in range(5):
        params = {"children_cursor": cursor} if cursor else {}
        detail = (await client.get(f"/api/v1/events/{card['id']}", params=params, headers=admin_headers)).json()
        assert detail["event"]["id"] == card["id"] and len(detail["children"]) <= 3
        seen += [c["event"] for c in detail["children"]]
        if not (cursor := detail["next_children_cursor"]):
            break
    assert seen == [f"step {n}" for n in range(1, 8)]
    bad = await client.get(f"/api/v1/events/{card['id']}?children_cursor=garbage", headers=admin_headers)
    assert bad.status_code == 400 and bad.json()["field"] == "children_cursor"


async def test_test_events_and_real_ones_never_share_a_timeline(client, admin_headers):
    """A real event with a test event's context_id starts a real card (it would be hidden from the feed and
    expire with the test card), and a test event never shows among a real card's children."""

    async def post(name: str, test: bool) -> dict:
        body = {"project": "p", "event": name, "context_id": "checkout-7", "test": test}
        response = await client.post("/api/v1/events", json=body, headers=admin_headers)
        assert response.status_code == 201, response.text
        return response.json()

    test_card = await post("Trying checkout", test=True)
    real_card = await post("Checkout started", test=False)
    test_child = await post("Trying payment", test=True)
    real_child = await post("Payment taken", test=False)
    assert test_card["parent_id"] is None and real_card["parent_id"] is None
    assert test_child["parent_id"] == test_card["id"] and real_child["parent_id"] == real_card["id"]
    feed = (await client.get("/api/v1/events?project=p", headers=admin_headers)).json()
    assert [e["event"] for e in feed["items"]] == ["Checkout started"]
    detail = (await client.get(f"/api/v1/events/{real_card['id']}", headers=admin_headers)).json()
    assert [c["event"] for c in detail["children"]] == ["Payment taken"]
    detail = (await client.get(f"/api/v1/events/{test_card['id']}", headers=admin_headers)).json()
    assert [c["event"] for c in detail["children"]] == ["Trying payment"]


async def test_a_card_tells_what_happened_in_its_timeline(client, admin_headers):
    """Count, newest follow-up's time (not the last one sent) and worst severity, in the feed and on the card's
    page; a card without follow-ups, an event without a context and a follow-up itself have none."""
    now = datetime.now(UTC).replace(microsecond=0)

    async def post(name: str, minutes_ago: int = 0, **fields) -> dict:
        stamp = (now - timedelta(minutes=minutes_ago)).isoformat()
        body = {"project": "p", "event": name, "timestamp": stamp, **fields}
        response = await client.post("/api/v1/events", json=body, headers=admin_headers)
        assert response.status_code == 201, response.text
        return response.json()

    deploy = await post("Deploy", 4, context_id="deploy-7")
    await post("Migrations", 2, context_id="deploy-7")
    await post("Health check failed", 0, context_id="deploy-7", severity="critical")
    await post("Slow start", 1, context_id="deploy-7", severity="warning")  # the last sent, not the newest
    await post("Backup", context_id="backup-1")
    await post("Signed up")
    summary = {"events": 3, "last_at": now.isoformat().replace("+00:00", "Z"), "severity": "critical"}

    feed = (await client.get("/api/v1/events?project=p", headers=admin_headers)).json()["items"]
    assert {e["event"]: e["timeline"] for e in feed} == {"Deploy": summary, "Backup": None, "Signed up": None}
    detail = (await client.get(f"/api/v1/events/{deploy['id']}", headers=admin_headers)).json()
    assert detail["event"]["timeline"] == summary
    alerts = (await client.get("/api/v1/events?severity=critical", headers=admin_headers)).json()["items"]
    assert [(e["event"], e["timeline"]) for e in alerts] == [("Health check failed", None)]
    one = (await client.get(f"/api/v1/events/{alerts[0]['id']}", headers=admin_headers)).json()
    assert one["event"]["timeline"] is None
    found = (await client.get("/api/v1/events?q=deploy", headers=admin_headers)).json()["items"]
    assert [(e["event"], e["timeline"]) for e in found] == [("Deploy", summary)]  # a search's page too


async def test_a_timeline_summary_counts_its_own_test_mode_only(client, admin_headers):
    async def post(name: str, test: bool, severity: str = "info") -> None:
        body = {"project": "p", "event": name, "context_id": "checkout-7", "test": test, "severity": severity}
        assert (await client.post("/api/v1/events", json=body, headers=admin_headers)).status_code == 201

    await post("Checkout started", test=False)
    await post("Trying checkout", test=True)
    await post("Payment taken", test=False)
    await post("Payment refused", test=True, severity="critical")
    await post("Retried", test=True)

    async def summary(test: str) -> dict:
        [card] = (await client.get(f"/api/v1/events?test={test}", headers=admin_headers)).json()["items"]
        return {"events": card["timeline"]["events"], "severity": card["timeline"]["severity"]}

    assert await summary("false") == {"events": 1, "severity": "info"}
    assert await summary("true") == {"events": 2, "severity": "critical"}


async def test_a_page_of_cards_reads_their_timelines_in_one_query(client, hub, admin_headers):
    """However many cards a page holds, their summaries cost one grouped query; a page without a context none."""
    batch = [{"project": "solo", "event": "Alone"}]
    for n in range(6):
        batch += [{"project": "many", "event": f"{step} {n}", "context_id": f"job-{n}"} for step in ("Job", "Step")]
    batch += [{"project": "one", "event": step, "context_id": "job"} for step in ("Job", "Step")]
    assert (await client.post("/api/v1/events/batch", json={"events": batch}, headers=admin_headers)).is_success
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM events" in statement:
            statements.append(statement)

    async def reads(project: str) -> int:
        statements.clear()
        page = (await client.get(f"/api/v1/events?project={project}", headers=admin_headers)).json()
        assert all(e["timeline"]["events"] == 1 for e in page["items"] if e["event"].startswith("Job"))
        return len(statements)

    sql_events.listen(hub.db.reader.sync_engine, "before_cursor_execute", record)
    try:
        assert await reads("solo") == 1
        assert await reads("one") == 2
        assert await reads("many") == 2
    finally:
        sql_events.remove(hub.db.reader.sync_engine, "before_cursor_execute", record)


async def _plan(db, query) -> str:
    """The plan of `query` on an empty table: what the planner would use were the table large."""
    sql = str(query.compile(db.reader.sync_engine, compile_kwargs={"literal_binds": True}))
    async with db.reader.connect() as conn:
        if db.is_sqlite:
            return " ".join(str(row[-1]) for row in await conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
        for method in ["seqscan", "bitmapscan", "sort"]:
            await conn.execute(text(f"SET LOCAL enable_{method} = off"))
        return " ".join(str(row[0]) for row in await conn.execute(text("EXPLAIN " + sql)))


async def test_timeline_summaries_read_the_follow_ups_index_and_a_catch_up_the_newest_ids(hub):
    """A page's summaries look up its cards' follow-ups only; a stream's catch-up after a reconnection walks the
    ids down from the newest, not every follow-up there is (SQLite took their index, for its GROUP BY)."""
    plan = await _plan(hub.db, timelines_query([1, 2, 3]))
    assert "ix_events_parent" in plan, plan
    plan = await _plan(hub.db, follow_ups_after_query(EventFilter(project_ids=[1]), 5, 100))
    assert ("INTEGER PRIMARY KEY" if hub.db.is_sqlite else "Index Scan Backward using pk_events") in plan, plan


async def test_timestamps_backfill_and_never_notify(client, admin_headers):
    old = datetime.now(UTC) - timedelta(days=2)
    for stamp in (old.timestamp(), old.isoformat(), int(old.timestamp() * 1000)):
        response = await client.post("/api/v1/events", json={**EVENT, "timestamp": stamp}, headers=admin_headers)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["notify"] is False
        assert abs(datetime.fromisoformat(body["created_at"]) - old) < timedelta(seconds=1)
    future = (datetime.now(UTC) + timedelta(hours=1)).timestamp()
    response = await client.post("/api/v1/events", json={**EVENT, "timestamp": future}, headers=admin_headers)
    assert response.status_code == 400
    assert response.json()["field"] == "timestamp"


async def test_feed_filters_and_pagination(client, admin_headers):
    events = []
    for i in range(7):
        events.append(
            {
                "project": "shop" if i % 2 else "blog",
                "channel": "orders" if i < 4 else "signups",
                "event": f"event number {i}",
                "tags": {"n": i, "parity": "odd" if i % 2 else "even"},
                "user_id": f"u{i % 3}",
                "severity": ["info", "warning", "critical"][i % 3],
                "content": {"note": f"needle{i}"},
            }
        )
    response = await client.post("/api/v1/events/batch", json={"events": events}, headers=admin_headers)
    assert response.json()["stored"] == 7

    async def names(query: str) -> list[str]:
        page = (await client.get(f"/api/v1/events?{query}", headers=admin_headers)).json()
        return [e["event"] for e in page["items"]]

    assert await names("project=SHOP") == ["event number 5", "event number 3", "event number 1"]
    assert await names("project=shop&channel=orders") == ["event number 3", "event number 1"]
    assert await names("tag=parity:even&tag=n:4") == ["event number 4"]
    assert await names("tag=n:6") == ["event number 6"]
    assert await names("user_id=u1") == ["event number 4", "event number 1"]
    assert await names("severity=critical") == ["event number 5", "event number 2"]
    assert await names("severity=critical,warning&project=blog") == ["event number 4", "event number 2"]
    assert await names("q=needle3") == ["event number 3"]
    assert await names("q=NUMBER 6") == ["event number 6"]
    assert await names("q=parity odd&project=shop") == ["event number 5", "event number 3", "event number 1"]
    assert await names("project=nope") == []

    seen, cursor = [], None
    while True:
        url = "/api/v1/events?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(url, headers=admin_headers)).json()
        seen += [e["event"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"event number {i}" for i in reversed(range(7))]

    bad = await client.get("/api/v1/events?cursor=garbage", headers=admin_headers)
    assert bad.status_code == 400
    assert bad.json()["field"] == "cursor"
    bad = await client.get("/api/v1/events?tag=novalue", headers=admin_headers)
    assert bad.status_code == 400
    bad = await client.get("/api/v1/events?limit=1000", headers=admin_headers)
    assert bad.status_code == 400
    assert "limit" in bad.json()["message"]


async def test_search_finds_non_ascii_words_in_tags_and_content(client, admin_headers):
    event = {"project": "shop", "event": "Order", "tags": {"city": "Zürich"}, "content": {"note": "crème brûlée"}}
    assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
    for q in ("zürich", "brûlée", "crème"):
        page = (await client.get("/api/v1/events", params={"q": q}, headers=admin_headers)).json()
        assert [e["event"] for e in page["items"]] == ["Order"], q


async def test_search_pages_follow_created_at_with_backfilled_events_mixed_in(client, admin_headers, monkeypatch):
    """Search walks matches newest id first; backfilled events (old `created_at`, new id) must still sort right."""
    monkeypatch.setattr(hub.db.events, "MIN_SEARCH_CHUNK", 2)  # many small steps, so the early stop is tested
    monkeypatch.setattr(hub.db.events, "MAX_SEARCH_CHUNK", 8)
    now = datetime.now(UTC)
    events = []
    for i in range(40):
        offset = timedelta(days=(i * 7) % 30, minutes=i) if i % 3 == 0 else timedelta(seconds=40 - i)
        if i % 5 == 0:
            # Up to 5 minutes ahead of the hub's clock is allowed; the oldest ids get the latest times.
            offset = -timedelta(minutes=4) + timedelta(seconds=i)
        events.append({"project": "shop", "event": f"common word {i}", "timestamp": (now - offset).isoformat()})
        if i % 4 == 0:
            events.append({"project": "shop", "event": f"other {i}"})
    for start in range(0, len(events), 7):  # several writes, so ids and timestamps interleave
        response = await client.post(
            "/api/v1/events/batch", json={"events": events[start : start + 7]}, headers=admin_headers
        )
        assert response.json()["failed"] == 0, response.text

    everything = (await client.get("/api/v1/events?limit=200", headers=admin_headers)).json()["items"]
    expected = [e["event"] for e in everything if e["event"].startswith("common")]
    assert len(expected) == 40
    for limit in (1, 3, 50):
        seen, cursor = [], None
        while True:
            params = {"q": "common", "limit": limit} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/events", params=params, headers=admin_headers)).json()
            seen += [e["event"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == expected, limit


async def test_test_mode_events_are_apart(client, admin_headers):
    await client.post("/api/v1/events", json={**EVENT, "test": True, "event": "trial"}, headers=admin_headers)
    await client.post("/api/v1/events", json={**EVENT, "event": "real"}, headers=admin_headers)
    real = (await client.get("/api/v1/events", headers=admin_headers)).json()["items"]
    test = (await client.get("/api/v1/events?test=true", headers=admin_headers)).json()["items"]
    assert [e["event"] for e in real] == ["real"]
    assert [e["event"] for e in test] == ["trial"]
    assert test[0]["notify"] is False
    channels = (await client.get("/api/v1/projects/my-saas/channels", headers=admin_headers)).json()
    assert channels[0]["event_count"] == 1


async def test_project_bound_read_key_sees_only_its_project(client, hub, admin_headers):
    await client.post("/api/v1/events", json={**EVENT, "project": "a"}, headers=admin_headers)
    stored_b = (await client.post("/api/v1/events", json={**EVENT, "project": "b"}, headers=admin_headers)).json()
    reader = bearer(await make_key(hub, "read", project="a"))
    items = (await client.get("/api/v1/events", headers=reader)).json()["items"]
    assert {e["project"] for e in items} == {"a"}
    refused = await client.get("/api/v1/events?project=b", headers=reader)
    assert refused.status_code == 403 and refused.json()["field"] == "project"
    assert (await client.get(f"/api/v1/events/{stored_b['id']}", headers=reader)).status_code == 404
    projects = (await client.get("/api/v1/projects", headers=reader)).json()
    assert [p["slug"] for p in projects] == ["a"]
    for project in ("b", "nowhere"):  # one it may not read answers as one that does not exist
        response = await client.get(f"/api/v1/projects/{project}/channels", headers=reader)
        assert (response.status_code, response.json()["message"]) == (404, f"no project {project}")


async def test_channels_and_insights_of_an_unknown_project_are_404(client, admin_headers):
    """They were 200 with an empty list, as if the project were there with nothing in it."""
    for listing in ("channels", "insights"):
        response = await client.get(f"/api/v1/projects/nowhere/{listing}", headers=admin_headers)
        assert response.status_code == 404, response.text
        assert response.json()["message"] == "no project nowhere"


async def test_a_project_with_no_events_yet_has_no_channels_or_insights(client, hub, admin_headers):
    await make_key(hub, "ingest", project="fresh")  # a bound key makes its project
    for listing in ("channels", "insights"):
        response = await client.get(f"/api/v1/projects/Fresh/{listing}", headers=admin_headers)
        assert (response.status_code, response.json()) == (200, [])


async def test_rate_limit_answers_429_with_retry_after(client, hub):
    key = bearer(await make_key(hub, "ingest", rate_limit=1))
    statuses = [(await client.post("/api/v1/events", json=EVENT, headers=key)).status_code for _ in range(4)]
    assert statuses[:2] == [201, 201]
    assert 429 in statuses
    response = await client.post("/api/v1/events", json=EVENT, headers=key)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize(
    ("query", "field", "rule"),
    [("limit=999", "limit", "<= 200"), ("test=maybe", "test", "`bool`")],
)
async def test_bad_query_parameters_name_the_parameter(client, admin_headers, query, field, rule):
    response = await client.get(f"/api/v1/events?{query}", headers=admin_headers)
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == field
    assert rule in body["message"] and body["message"].endswith("(query parameter)")


@pytest.mark.parametrize(
    ("path", "field", "rule"),
    [
        ("/api/v1/events?project=a/b", "project", "must be a slug"),
        ("/api/v1/events?channel=a%20b", "channel", "must be a slug"),
        ("/api/v1/projects/a%20b/channels", "project", "must be a slug"),
        ("/api/v1/events?" + "&".join(f"tag=k:v{i}" for i in range(33)), "tag", "at most 32 `tag` filters"),
        ("/api/v1/events?q=!!!", "q", "at least one letter or digit"),
        ("/api/v1/events?tag=plan%20name:pro", "tag", "keys are 1 to 64 characters of [a-z0-9_-]: 'plan name'"),
        ("/api/v1/events?tag=" + "k" * 65 + ":v", "tag", "keys are 1 to 64 characters"),
        ("/api/v1/events?tag=k:" + "v" * 1025, "tag", "values are at most 1,024 characters"),
        ("/api/v1/events?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until", "later than `since`"),
        ("/api/v1/events?since=yesterday", "since", "`since` must be Unix seconds or milliseconds, or RFC 3339"),
        ("/api/v1/events?until=1e400", "until", "`until` must be Unix seconds or milliseconds, or RFC 3339"),
        ("/api/v1/events?until=1e", "until", "`until` must be Unix seconds or milliseconds, or RFC 3339"),
        ("/api/v1/events?since=" + "9" * 20, "since", "within years 1 to 9999, such as 2026-01-15T09:00:00Z"),
        ("/api/v1/events?since=2026-01-01T01:00:00%2B01:00&until=2026-01-01T00:00:00Z", "until", "later than"),
        ("/api/v1/events?tags=plan:pro", "tags", "not a parameter here; the ones taken are project, channel, tag,"),
        ("/api/v1/events?severty=critical", "severty", "not a parameter here"),
        (
            "/api/v1/events?severity=warning&severity=critical",
            "severity",
            "`severity` is given more than once; it takes one value (list severities as `severity=warning,critical`)",
        ),
        ("/api/v1/events?project=shop&project=lim", "project", "`project` is given more than once; it takes one"),
        ("/api/v1/events?limit=1&limit=2", "limit", "`limit` is given more than once"),
        ("/api/v1/events/1?cursor=abc", "cursor", "the ones taken are children_cursor"),
    ],
)
async def test_filters_no_event_could_match_are_refused(client, admin_headers, path, field, rule):
    """Rather than an empty page (or, with a thousand tag filters, SQLite's "Expression tree is too large")."""
    response = await client.get(path, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and rule in response.json()["message"]


async def test_tag_filters_read_values_as_stored_text(client, admin_headers):
    """The value is all after the first colon, compared with the tag as text: numbers in their JSON spelling,
    booleans as true/false; the key is read without case, as tag keys are lower case."""
    tags = {"url": "https://x.io:8080/a", "n": 42, "f": 1.5, "ok": True, "city": "Zürich ☃", "note": "a b", "e": ""}
    stored = (await client.post("/api/v1/events", json={**EVENT, "tags": tags}, headers=admin_headers)).json()
    for tag, found in [
        ("url:https://x.io:8080/a", True),
        ("URL:https://x.io:8080/a", True),
        ("n:42", True),
        ("n:42.0", False),
        ("f:1.5", True),
        ("ok:true", True),
        ("ok:True", False),
        ("city:Zürich ☃", True),
        ("note:a b", True),
        ("e:", True),
    ]:
        page = await client.get("/api/v1/events", params={"tag": tag}, headers=admin_headers)
        assert page.status_code == 200, page.text
        assert [e["id"] for e in page.json()["items"]] == ([stored["id"]] if found else []), tag


async def test_since_and_until_compare_the_event_time_not_when_it_was_received(client, admin_headers):
    """A backfilled event is found by its `timestamp`; `since` takes its own instant, `until` leaves it out."""
    stamp = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    body = {**EVENT, "timestamp": stamp.isoformat()}
    stored = (await client.post("/api/v1/events", json=body, headers=admin_headers)).json()
    at = stamp.isoformat()
    for params, found in [
        ({"since": at}, True),
        ({"until": at}, False),
        ({"since": (stamp + timedelta(seconds=1)).isoformat()}, False),
        ({"since": (stamp - timedelta(hours=1)).isoformat(), "until": (stamp + timedelta(hours=1)).isoformat()}, True),
        ({"since": int(stamp.timestamp())}, True),  # Unix seconds
        ({"since": f"{stamp.timestamp():.9e}"}, True),  # written with an exponent
        ({"since": int(stamp.timestamp() * 1000)}, True),  # milliseconds, as JavaScript's Date.now() gives
        ({"until": int(stamp.timestamp() * 1000) + 1}, True),
        ({"since": int(stamp.timestamp() * 1000) + 1}, False),
        ({"since": at, "q": "subscription"}, True),
        ({"since": (stamp + timedelta(seconds=1)).isoformat(), "q": "subscription"}, False),
    ]:
        page = await client.get("/api/v1/events", params=params, headers=admin_headers)
        assert page.status_code == 200, page.text
        assert [e["id"] for e in page.json()["items"]] == ([stored["id"]] if found else []), params


async def test_a_search_with_since_finds_events_stamped_ahead_of_their_receipt(hub, client, admin_headers):
    """The search walk stops at ids received more than 5 minutes (and a second) before `since`: an event received
    4 minutes before it, stamped 4 minutes ahead, is still found."""
    since = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    drafts = [
        Draft(
            project="p", channel="c", event="needle ahead", created_at=since, received_at=since - timedelta(minutes=4)
        ),
        Draft(
            project="p", channel="c", event="needle before", created_at=since - timedelta(seconds=1), received_at=since
        ),
        Draft(project="p", channel="c", event="needle old", created_at=since - timedelta(hours=1), received_at=since),
        Draft(project="p", channel="c", event="needle after", created_at=since, received_at=since + timedelta(hours=1)),
    ]
    for draft in drafts:  # one at a time, so each gets the id of its own `received_at`
        await hub.ingestor.store([draft])
    page = await client.get("/api/v1/events", params={"q": "needle", "since": since.isoformat()}, headers=admin_headers)
    assert sorted(e["event"] for e in page.json()["items"]) == ["needle after", "needle ahead"]


async def test_a_children_cursor_is_checked_on_any_event(client, admin_headers):
    """An event inside a context has no children to page through, but a garbage cursor is still a mistake."""
    batch = [{"project": "p", "event": f"step {n}", "context_id": "c"} for n in range(2)]
    results = (await client.post("/api/v1/events/batch", json={"events": batch}, headers=admin_headers)).json()
    child = results["results"][1]["event"]
    assert child["parent_id"] is not None
    response = await client.get(f"/api/v1/events/{child['id']}?children_cursor=garbage", headers=admin_headers)
    assert response.status_code == 400 and response.json()["field"] == "children_cursor"


async def test_empty_project_and_channel_filters_are_no_filter(client, admin_headers):
    await client.post("/api/v1/events", json=EVENT, headers=admin_headers)
    page = await client.get("/api/v1/events?project=&channel=", headers=admin_headers)
    assert page.status_code == 200 and len(page.json()["items"]) == 1


async def test_since_and_until_without_an_offset_are_utc(client, admin_headers):
    stored = (await client.post("/api/v1/events", json=EVENT, headers=admin_headers)).json()
    at = stored["created_at"].removesuffix("Z")  # "2026-12-06T03:20:00.123456"
    page = await client.get(f"/api/v1/events?since={at}&until=2999-01-01T00:00:00", headers=admin_headers)
    assert page.status_code == 200, page.text
    assert [e["id"] for e in page.json()["items"]] == [stored["id"]]
    later = await client.get("/api/v1/events?until=2021-01-01T00:00:00", headers=admin_headers)
    assert later.status_code == 200 and later.json()["items"] == []


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"since": "9999-12-31T23:59:59-05:00"}, False),  # past the year 9999 in UTC
        ({"until": "9999-12-31T23:59:59-05:00"}, True),
        ({"until": "0001-01-01T00:00:00+01:00"}, False),  # before the year 1 in UTC
        ({"since": "0001-01-01T00:00:00+01:00"}, True),
        ({"since": "0001-01-01T00:00:00+01:00", "q": "subscription"}, True),
    ],
)
async def test_since_and_until_past_the_ends_of_the_calendar_stand_for_those_ends(client, admin_headers, params, found):
    stored = (await client.post("/api/v1/events", json=EVENT, headers=admin_headers)).json()
    page = await client.get("/api/v1/events", params=params, headers=admin_headers)
    assert page.status_code == 200, page.text
    assert [e["id"] for e in page.json()["items"]] == ([stored["id"]] if found else [])


@pytest.mark.parametrize(
    "raw",
    [
        "2026-01-01T00:00:00+00:00|99999999999999999999999",  # an id past 64 bits
        "2026-01-01T00:00:00+00:00|-1",
        "2026-01-01T00:00:00|5",  # no offset
        "9999-12-31T23:59:59-05:00|5",  # past the year 9999 in UTC
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events?q=subscription", "/api/v1/deliveries"])
async def test_a_forged_cursor_is_a_400_naming_it(client, admin_headers, raw, path):
    import base64

    cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    separator = "&" if "?" in path else "?"
    response = await client.get(f"{path}{separator}cursor={cursor}", headers=admin_headers)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "cursor"


@pytest.mark.parametrize("path", ["/api/v1/events", "/v1/log"])
async def test_a_timestamp_past_the_year_9999_in_utc_is_in_the_future(client, admin_headers, path):
    body = {"project": "p", "channel": "c", "event": "e", "timestamp": "9999-12-31T23:59:59-05:00"}
    response = await client.post(path, json=body, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert "5 minutes in the future" in response.text
    batch = await client.post("/api/v1/events/batch", json={"events": [body]}, headers=admin_headers)
    [item] = batch.json()["results"]
    assert item["status"] == 400 and item["error"]["field"] == "events[0].timestamp"


async def test_events_stored_under_looser_rules_still_read_back(client, hub, admin_headers):
    """Input rules tightened later (a default of the input's type, no trailing newline) apply to new events only."""
    action = {"label": "Refund", "url": "https://a", "key": "refund", "inputs": [{"name": "amount", "type": "number"}]}
    stored = (await client.post("/api/v1/events", json={**EVENT, "actions": [action]}, headers=admin_headers)).json()
    e = schema.events.c
    async with hub.db.writer.begin() as conn:
        [actions] = (await conn.execute(select(e.actions).where(e.id == int(stored["id"])))).one()
        actions[0]["inputs"] = [{"name": "amount\n", "type": "number", "default": "5"}]
        await conn.execute(update(schema.events).where(e.id == int(stored["id"])).values(actions=actions))
    page = await client.get("/api/v1/events", headers=admin_headers)
    assert page.status_code == 200, page.text
    assert page.json()["items"][0]["actions"][0]["inputs"] == [{"name": "amount\n", "type": "number", "default": "5"}]
    assert (await client.get(f"/api/v1/events/{stored['id']}", headers=admin_headers)).status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/events", {"event": "x", "project": "shop\n"}),  # the hub's own decoding
        ("/api/v1/keys", {"name": "k", "scopes": ["read"], "project": "shop\n"}),  # Litestar's, for a `data` body
    ],
)
async def test_pattern_errors_show_the_pattern_as_people_know_it(client, admin_headers, path, body):
    response = await client.post(path, json=body, headers=admin_headers)
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert "{0,63}$'" in message and "\\Z" not in message


async def test_a_pattern_with_backslashes_is_shown_as_written(client, admin_headers):
    """msgspec shows a pattern as Python's repr: '^https?://[^\\\\s]+' for the pattern '^https?://[^\\s]+'."""
    action = {"label": "Go", "url": "ftp://example.com", "key": "go"}
    response = await client.post(
        "/api/v1/events", json={"event": "x", "project": "p", "actions": [action]}, headers=admin_headers
    )
    assert "regex '^https?://[^\\s]+$' - at `$.actions[0].url`" in response.json()["message"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/keys", "/api/v1/sources", "/api/v1/users", "/api/v1/teams", "/api/v1/routes", "/api/v1/deliveries"],
)
async def test_a_key_bound_to_a_project_does_not_administer_the_hub(client, hub, path):
    """Else an admin key for one project could move other projects' webhook sources or mint an unbound key."""
    bound = bearer(await make_key(hub, "admin", project="shop"))
    response = await client.get(path, headers=bound)
    assert response.status_code == 403, response.text
    assert "bound to project `shop`" in response.json()["message"]


async def test_a_bound_key_cannot_mint_an_unbound_one(client, hub):
    bound = bearer(await make_key(hub, "admin", project="shop"))
    response = await client.post("/api/v1/keys", json={"name": "escape", "scopes": ["admin"]}, headers=bound)
    assert response.status_code == 403
