"""Users, teams and push subscriptions through the admin API, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from hub.testing import bearer, make_key

P256DH = "B" + "A" * 86
AUTH = "A" * 22


async def test_users_and_teams_round_trip(client, admin_headers):
    created = await client.post(
        "/api/v1/users",
        json={
            "email": "Alice@Example.com",
            "name": "Alice",
            "timezone": "Europe/Berlin",
            "quiet_hours": {"start": "22:00", "end": "07:00"},
            "projects": ["shop"],
        },
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    alice = created.json()
    assert alice["email"] == "alice@example.com"
    assert alice["role"] == "member"
    assert alice["projects"] == ["shop"]
    assert "password_hash" not in alice

    again = await client.post("/api/v1/users", json={"email": "alice@example.com", "name": "A"}, headers=admin_headers)
    assert again.status_code == 409

    bob = (
        await client.post("/api/v1/users", json={"email": "bob@example.com", "name": "Bob"}, headers=admin_headers)
    ).json()
    team = await client.post(
        "/api/v1/teams",
        json={"slug": "ops", "name": "Operations", "members": ["alice@example.com", bob["id"]]},
        headers=admin_headers,
    )
    assert team.status_code == 201, team.text
    assert team.json()["members"] == ["alice@example.com", "bob@example.com"]

    removed = await client.delete("/api/v1/teams/ops/members/bob@example.com", headers=admin_headers)
    assert removed.json()["members"] == ["alice@example.com"]
    assert (await client.get(f"/api/v1/users/{alice['id']}", headers=admin_headers)).json()["teams"] == ["ops"]

    patched = await client.patch(
        "/api/v1/users/alice@example.com", json={"role": "admin", "quiet_hours": None}, headers=admin_headers
    )
    assert patched.json()["role"] == "admin" and patched.json()["quiet_hours"] is None

    assert (await client.delete(f"/api/v1/users/{bob['id']}", headers=admin_headers)).status_code == 204
    assert [u["email"] for u in (await client.get("/api/v1/users", headers=admin_headers)).json()] == [
        "alice@example.com"
    ]


@pytest.mark.parametrize(
    ("body", "field", "rule"),
    [
        ({"email": "nope", "name": "x"}, "email", "regex"),
        ({"email": "a@b.co", "name": ""}, "name", "length >= 1"),
        ({"email": "a@b.co", "name": "x", "role": "owner"}, "role", "Invalid enum value 'owner'"),
        ({"email": "a@b.co", "name": "x", "timezone": "Mars/Olympus"}, None, "IANA time zone"),
        # ZoneInfo opens these, but they are no zone: the tz rules file, the server's own zone (Debian's link).
        ({"email": "a@b.co", "name": "x", "timezone": "posixrules"}, None, "must be an IANA time zone name"),
        ({"email": "a@b.co", "name": "x", "timezone": "localtime"}, None, "must be an IANA time zone name"),
        (
            {"email": "a@b.co", "name": "x", "quiet_hours": {"start": "25:00", "end": "07:00"}},
            "quiet_hours.start",
            "regex",
        ),
    ],
)
async def test_bad_users_name_the_field(client, admin_headers, body, field, rule):
    response = await client.post("/api/v1/users", json=body, headers=admin_headers)
    assert response.status_code == 400, response.text
    assert rule in response.json()["message"]
    if field:
        assert response.json()["field"] == field


async def test_push_subscriptions(client, admin_headers):
    user = (
        await client.post("/api/v1/users", json={"email": "c@example.com", "name": "C"}, headers=admin_headers)
    ).json()
    sub = {"endpoint": "https://push.example.com/abc", "keys": {"p256dh": P256DH, "auth": AUTH}, "expirationTime": None}
    created = await client.post(f"/api/v1/users/{user['id']}/push-subscriptions", json=sub, headers=admin_headers)
    assert created.status_code == 201, created.text
    # The same browser again replaces the old registration.
    await client.post(f"/api/v1/users/{user['id']}/push-subscriptions", json=sub, headers=admin_headers)
    listed = (await client.get(f"/api/v1/users/{user['id']}/push-subscriptions", headers=admin_headers)).json()
    assert len(listed) == 1
    bad = await client.post(
        f"/api/v1/users/{user['id']}/push-subscriptions",
        json={**sub, "keys": {"p256dh": "x", "auth": AUTH}},
        headers=admin_headers,
    )
    assert bad.status_code == 400 and bad.json()["field"] == "keys.p256dh"
    gone = await client.delete(
        f"/api/v1/users/{user['id']}/push-subscriptions/{listed[0]['id']}", headers=admin_headers
    )
    assert gone.status_code == 204


async def test_nul_characters_are_refused_naming_the_field(client, admin_headers):
    """PostgreSQL's text cannot hold NUL: a team renamed to one, or a push endpoint with one, was a 500 there."""
    user = (
        await client.post("/api/v1/users", json={"email": "d@example.com", "name": "D"}, headers=admin_headers)
    ).json()
    await client.post("/api/v1/teams", json={"slug": "ops", "name": "Ops"}, headers=admin_headers)
    keys = {"p256dh": P256DH, "auth": AUTH}
    for method, path, body, field in [
        ("PATCH", "/api/v1/teams/ops", {"name": "a\u0000b"}, "name"),
        (
            "PATCH",
            f"/api/v1/users/{user['id']}",
            {"name": "x", "quiet_hours": {"days": ["\u0000"]}},
            "quiet_hours.days[0]",
        ),
        ("POST", "/api/v1/users", {"email": "e@example.com", "name": "\u0000"}, "name"),
        (
            "POST",
            f"/api/v1/users/{user['id']}/push-subscriptions",
            {"endpoint": "http://\u0000h", "keys": keys},
            "endpoint",
        ),
    ]:
        response = await client.request(method, path, json=body, headers=admin_headers)
        assert response.status_code == 400, (path, response.text)
        assert "NUL character" in response.json()["message"] and response.json()["field"] == field, response.text


async def test_people_api_needs_admin(client, hub):
    key = await make_key(hub, "read")
    assert (await client.get("/api/v1/users", headers=bearer(key))).status_code == 403
    assert (await client.get("/api/v1/teams")).status_code == 401
