"""Numbers users store read back as they sent them, on SQLite and PostgreSQL: a float stays a float of the same
value (1.5e300, -0.0, 3.0), an integer an integer of any size, and an object's keys keep their order.

PostgreSQL's jsonb keeps numbers as `numeric`, whose text has no exponent and no negative zero: 1.5e300 came back
as a 301-digit integer, 1e16 as 10000000000000000, -0.0 as 0.0; and it sorts an object's keys by length."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from hub.testing import bearer

# Floats past 2**53 whose text has an exponent, the edges of a float's range, and integers past 64 bits.
NUMBERS: list[Any] = [
    1.5e300, 1e16, 1.7976931348623157e308, 5e-324, 1e-300, -0.0, 0.1, 3.0, 123456789.125, -2.5e-7,
    0, -5, 2**53 + 1, 2**63 - 1, 2**64, -(2**63) - 1, 10**40, -(10**100),
]  # fmt: skip
# An object whose keys jsonb would reorder (it sorts them shortest first).
CONTENT = {"numbers": NUMBERS, "zz": {"deep": [1e300, {"b": -0.0, "a": 2.0}]}, "a": 1e22}
TAGS = {"big": 1.5e300, "round": 1e16, "negative_zero": -0.0, "whole": 3.0, "huge": 2**64, "tiny": 1e-300}


def as_sent(value: Any) -> bytes:
    """The JSON of a value, which tells 3.0 from 3 and -0.0 from 0.0, and shows the keys' order."""
    return msgspec.json.encode(value)


def assert_same(answer: Any, sent: Any) -> None:
    assert as_sent(answer) == as_sent(sent)


async def _post(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await client.post(path, content=as_sent(body), headers={**headers, "content-type": "application/json"})


async def test_event_numbers_read_back_as_sent(client, admin_headers):
    bare = [*NUMBERS, CONTENT]  # each number as a whole `content` too: SQLite stores those apart
    events = [{"event": "numbers", "project": "p", "content": CONTENT, "tags": TAGS}]
    events += [{"event": f"bare {n}", "project": "p", "content": value} for n, value in enumerate(bare)]
    batch = await _post(client, "/api/v1/events/batch", {"events": events}, admin_headers)
    assert batch.status_code == 200, batch.text
    results = msgspec.json.decode(batch.content)["results"]
    assert all(r["status"] == 201 for r in results), results

    ids = [r["event"]["id"] for r in results]
    feed = msgspec.json.decode((await client.get("/api/v1/events?limit=100", headers=admin_headers)).content)
    listed = {e["id"]: e for e in feed["items"]}
    for event_id, sent in zip(ids, events, strict=True):
        answer = await client.get(f"/api/v1/events/{event_id}", headers=admin_headers)
        read = msgspec.json.decode(answer.content)["event"]
        for shown in (read, listed[event_id]):
            assert_same(shown["content"], sent["content"])
            assert_same(shown["tags"], sent.get("tags", {}))


def test_the_stream_sends_numbers_as_sent(live_hub):
    key = live_hub.key("admin")
    posted = httpx.post(
        f"{live_hub.url}/api/v1/events",
        content=as_sent({"event": "numbers", "project": "p", "content": CONTENT, "tags": TAGS}),
        headers={**bearer(key), "content-type": "application/json"},
    )
    assert posted.status_code == 201, posted.text
    url = f"{live_hub.url}/api/v1/stream?since=2000-01-01T00:00:00Z"
    with httpx.stream("GET", url, headers=bearer(key), timeout=10) as response:
        data = next(line for line in response.iter_lines() if line.startswith("data: "))
    sent = msgspec.json.decode(data.removeprefix("data: "))
    assert_same(sent["content"], CONTENT)
    assert_same(sent["tags"], TAGS)


async def test_insight_and_identity_numbers_read_back_as_sent(client, admin_headers):
    values = {"big": 1.5e300, "round": 1e16, "negative zero": -0.0, "whole": 3.0, "tiny": 1e-300, "max": 2**63 - 1}
    for title, value in values.items():
        answer = await _post(client, "/v1/insight", {"project": "p", "title": title, "value": value}, admin_headers)
        assert answer.status_code == 200, answer.text
    listed = msgspec.json.decode((await client.get("/api/v1/projects/p/insights", headers=admin_headers)).content)
    by_title = {i["title"]: i["value"] for i in listed}
    assert_same({title: by_title[title] for title in values}, values)

    properties = {"zz": 1.5e300, "b": 1e16, "a": -0.0, "whole": 3.0, "tiny": 1e-300, "max": 2**63 - 1}
    identify = {"project": "p", "user_id": "u1", "properties": properties}
    assert (await _post(client, "/v1/identify", identify, admin_headers)).status_code == 200
    # A second call merges into what the first stored, read back from the database.
    merged = await _post(client, "/v1/identify", {**identify, "properties": {"later": 1}}, admin_headers)
    assert_same(msgspec.json.decode(merged.content)["properties"], {**properties, "later": 1})
