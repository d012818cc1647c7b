"""The OpenAPI description is a product surface: every route that takes a body says which."""

from __future__ import annotations

import html
import json
import re

import pytest

from hub.api.compat.logsnag import LOG_FIELDS
from hub.api.openapi import SCALAR_INTEGRITY, SCALAR_VERSION

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE_ONLY
async def test_every_ingest_route_describes_its_body(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path, method in [
        ("/api/v1/events", "post"),
        ("/api/v1/events/batch", "post"),
        ("/v1/log", "post"),
        ("/v1/insight", "post"),
        ("/v1/insight", "patch"),
        ("/v1/identify", "post"),
        ("/v1/group", "post"),
        ("/api/event", "post"),
        ("/api/v1/log", "post"),
    ]:
        body = paths[path][method].get("requestBody")
        assert body and body["required"], f"{method.upper()} {path} describes no body"
        schema = body["content"]["application/json"]["schema"]
        assert schema["type"] == "object" and schema["properties"], (path, schema)
        assert "$ref" not in str(schema), "a reference into `$defs`, which the document does not have"


@SQLITE_ONLY
async def test_the_native_route_describes_its_fields_answers_and_errors(client):
    operation = (await client.get("/schema/openapi.json")).json()["paths"]["/api/v1/events"]["post"]
    fields = operation["requestBody"]["content"]["application/json"]["schema"]["properties"]
    tags = fields["tags"]["anyOf"][0]
    assert fields["event"]["maxLength"] == 250 and tags["maxProperties"] == 32
    assert tags["propertyNames"]["pattern"] == "^[a-z0-9_-]{1,64}$"  # ECMA-262: `$` is the very end
    assert fields["actions"]["items"]["properties"]["label"]["maxLength"] == 48
    assert {"200", "201", "400", "401", "403", "429"} <= set(operation["responses"])


@SQLITE_ONLY
async def test_logsnag_log_shows_logsnag_fields_only(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    schema = paths["/v1/log"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == set(LOG_FIELDS)
    assert paths["/api/v1/log"]["post"]["requestBody"]["content"]["text/plain"]["schema"]["type"] == "string"


@SQLITE_ONLY
async def test_patterns_are_in_the_spelling_of_json_schema(client):
    """ECMA-262, where Python's `\\Z` (the hub's patterns' end, see hub.models.plain_patterns) is `$`."""
    text = (await client.get("/schema/openapi.json")).text
    assert "\\\\Z" not in text and "{0,63}$" in text


@SQLITE_ONLY
async def test_heartbeat_checks_describe_their_bodies(client):
    document = (await client.get("/schema/openapi.json")).json()
    for path, method in [("/api/v1/checks", "post"), ("/api/v1/checks/{check_id}", "patch")]:
        body = document["paths"][path][method].get("requestBody")
        assert body, f"{method.upper()} {path} describes no body"
        schema = body["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        assert {"name", "period", "cron", "tz", "grace"} <= set(schema["properties"]), (path, schema)


async def test_the_reference_page_loads_a_pinned_scalar_release_held_to_its_hash(client):
    """The page's script runs on the hub's origin, where a signed-in admin's session lives: never `latest`, and
    only the bytes whose hash the hub knows (a CDN or a package serving other ones is refused by the browser).
    Nothing else comes from elsewhere: Litestar's page took a stylesheet and an icon from a GitHub branch."""
    page = (await client.get("/schema")).text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources == [
        "/icons/icon.svg",
        "/schema/openapi.json",
        f"https://cdn.jsdelivr.net/npm/@scalar/api-reference@{SCALAR_VERSION}/dist/browser/standalone.js",
    ], sources
    script = re.search(r"<script src=[^>]*>", page).group(0)
    assert f'integrity="{SCALAR_INTEGRITY}"' in script and 'crossorigin="anonymous"' in script
    assert re.fullmatch(r"sha384-[A-Za-z0-9+/]{64}", SCALAR_INTEGRITY)
    assert 'data-url="/schema/openapi.json"' in page
    # No fonts from Scalar's servers, no telemetry, none of its hosted services offered.
    configuration = html.unescape(re.search(r'data-configuration="([^"]*)"', page).group(1))
    assert json.loads(configuration) == {
        "withDefaultFonts": False,
        "telemetry": False,
        "showDeveloperTools": "never",
        "agent": {"disabled": True},
        "mcp": {"disabled": True},
    }


@SQLITE_ONLY
async def test_error_answers_are_described_as_the_hub_sends_them(client, admin_headers):
    """Litestar described every error as its own exception body (`status_code`, `detail`, `extra`), so an answer
    checked against the document (schemathesis's response check, a generated client) never matched it."""
    document = (await client.get("/schema/openapi.json")).json()
    errors = [
        (path, status, response["content"]["application/json"]["schema"])
        for path, item in document["paths"].items()
        for operation in item.values()
        if isinstance(operation, dict)
        for status, response in operation["responses"].items()
        if status[0] in "45" and "application/json" in response.get("content", {})
    ]
    assert len(errors) > 50
    assert [e for e in errors if e[2] != {"$ref": "#/components/schemas/ErrorBody"}] == []
    error_body = document["components"]["schemas"]["ErrorBody"]
    answer = (await client.post("/api/v1/keys", json={"name": 5}, headers=admin_headers)).json()
    assert set(error_body["required"]) <= set(answer) <= set(error_body["properties"])


@SQLITE_ONLY
async def test_a_union_of_whole_and_decimal_numbers_is_any_of(client):
    """As `oneOf`, `str | int | float | bool` refuses a whole number, which is both an `integer` and a `number`:
    every insight and identity answer holding one broke the document."""
    document = (await client.get("/schema/openapi.json")).json()

    def unions(node):
        if isinstance(node, dict):
            if "oneOf" in node:
                yield {member.get("type") for member in node["oneOf"]}
            for value in node.values():
                yield from unions(value)
        elif isinstance(node, list):
            for item in node:
                yield from unions(item)

    assert not [types for types in unions(document) if {"integer", "number"} <= types]
    properties = document["components"]["schemas"]["Identity"]["properties"]["properties"]
    assert {member["type"] for member in properties["additionalProperties"]["anyOf"]} >= {"integer", "number"}


@SQLITE_ONLY
async def test_the_feed_describes_each_cards_timeline_summary_and_ingest_answers_none(client):
    """`items` was a list of anything; a stored event has no follow-ups yet, so ingest's answer has no summary."""
    document = (await client.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]
    feed = document["paths"]["/api/v1/events"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    page = schemas[feed["$ref"].rsplit("/", 1)[1]]
    card = schemas[page["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[1]]
    assert schemas["EventDetail"]["properties"]["event"] == page["properties"]["items"]["items"]
    assert "timeline" in card["required"]
    assert card["properties"]["timeline"]["oneOf"] == [{"$ref": "#/components/schemas/Timeline"}, {"type": "null"}]
    assert set(schemas["Timeline"]["required"]) == {"events", "last_at", "severity"}
    assert "timeline" not in schemas["EventOut"]["properties"]
