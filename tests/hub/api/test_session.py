"""Web app sessions: sign-in, the cookie's flags, CSRF, fixation, rate limiting, roles and project membership.

Every test runs on SQLite and PostgreSQL (the `client` fixture).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import msgspec
import pytest
from sqlalchemy import update

from hub import passwords
from hub.accounts import set_password
from hub.core import Hub
from hub.models import now_utc
from hub.people.models import SubscriptionIn, UserIn
from hub.sessions import COOKIE, SECURE_COOKIE, sessions, token_id

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Full-strength scrypt takes ~0.1-0.7 s a hash; the tests check behaviour, not cost."""
    monkeypatch.setattr(passwords, "LOG_N", 8)
    monkeypatch.setattr(passwords, "P", 1)


async def make_user(hub: Hub, email: str, role: str = "member", projects: list[str] | None = None) -> str:
    user = await hub.people.create_user(
        msgspec.convert({"email": email, "name": email.split("@")[0], "role": role, "projects": projects or []}, UserIn)
    )
    await set_password(hub.db, user.id, PASSWORD)
    return user.id


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/api/v1/session", json={"email": email, "password": password})


async def signed_in(client: httpx.AsyncClient, hub: Hub, email: str, role: str, projects: list[str]) -> str:
    """Sign in as a new user; returns the CSRF token (the cookie stays in the client)."""
    await make_user(hub, email, role, projects)
    response = await sign_in(client, email)
    assert response.status_code == 200, response.text
    return response.json()["csrf_token"]


async def post_events(client: httpx.AsyncClient, admin_headers: dict[str, str], *projects: str) -> dict[str, str]:
    ids = {}
    for project in projects:
        response = await client.post(
            "/api/v1/events", json={"project": project, "event": f"hello {project}"}, headers=admin_headers
        )
        ids[project] = response.json()["id"]
    return ids


async def test_sign_in_sets_a_hardened_cookie_and_reads_back(client: httpx.AsyncClient, hub: Hub) -> None:
    await make_user(hub, "ada@example.com", "admin")
    response = await sign_in(client, "Ada@Example.com")
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http in this test; see the https test below
    body = response.json()
    assert body["user"]["email"] == "ada@example.com" and body["user"]["role"] == "admin"
    me = await client.get("/api/v1/session")
    assert me.status_code == 200 and me.json()["csrf_token"] == body["csrf_token"]
    # The cookie slides with the session: reading it (the app does when it opens) sets it again for as long.
    renewed = me.headers["set-cookie"]
    assert renewed.split(";")[0] == cookie.split(";")[0] and f"Max-Age={14 * 86400}" in renewed


@pytest.mark.parametrize("settings_overrides", [{"HUB_SERVER_BASE_URL": "https://hub.example.com"}])
async def test_cookie_is_secure_when_served_over_https(client: httpx.AsyncClient, hub: Hub) -> None:
    """Over HTTPS the cookie is `__Host-` prefixed, so a sibling subdomain's page cannot plant one (a cookie it
    sets for the parent domain has another name, and browsers refuse a `__Host-` one with a Domain)."""
    await make_user(hub, "ada@example.com", "admin")
    response = await sign_in(client, "ada@example.com")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SECURE_COOKIE}=") and SECURE_COOKIE == "__Host-hub_session"
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.clear()  # the test client, on http://, would not send a Secure cookie back: send it by hand
    me = await client.get("/api/v1/session", headers={"Cookie": f"{SECURE_COOKIE}={token}"})
    assert me.status_code == 200 and me.json()["user"]["email"] == "ada@example.com"
    assert me.headers["set-cookie"].startswith(f"{SECURE_COOKIE}={token};")
    planted = await client.get("/api/v1/session", headers={"Cookie": f"{COOKIE}={token}"})
    assert planted.status_code == 401  # the unprefixed name is not read over HTTPS
    out = await client.delete(
        "/api/v1/session", headers={"Cookie": f"{SECURE_COOKIE}={token}", "X-CSRF-Token": me.json()["csrf_token"]}
    )
    assert out.status_code == 204 and out.headers["set-cookie"].startswith(f'{SECURE_COOKIE}=""')


@pytest.mark.parametrize("settings_overrides", [{"HUB_SERVER_BASE_URL": "https://hub.example.com"}])
async def test_signing_in_over_https_ends_the_session_of_the_cookie_named_before(client: httpx.AsyncClient, hub: Hub):
    """A browser signed in before the `__Host-` name kept its `hub_session` cookie, and the session behind it
    (and the push devices registered in it) stayed valid until it expired."""
    user_id = await make_user(hub, "ada@example.com", "admin")
    before = await hub.sessions.create(user_id, "old browser")
    client.cookies.clear()
    response = await client.post(
        "/api/v1/session",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"Cookie": f"{COOKIE}={before}"},
    )
    assert response.status_code == 200, response.text
    cookies = response.headers.get_list("set-cookie")
    assert [c.split("=", 1)[0] for c in cookies] == [SECURE_COOKIE, COOKIE]
    assert "Max-Age=0" in cookies[1] and "Secure" in cookies[1]
    assert await hub.sessions.load(before) is None


async def test_wrong_password_and_unknown_email_look_the_same(client: httpx.AsyncClient, hub: Hub) -> None:
    await make_user(hub, "ada@example.com")
    wrong = await sign_in(client, "ada@example.com", "not the password")
    unknown = await sign_in(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"] == "wrong email or password"
    assert "set-cookie" not in wrong.headers
    assert (await client.get("/api/v1/session")).status_code == 401


async def test_repeated_failures_are_rate_limited(client: httpx.AsyncClient, hub: Hub) -> None:
    await make_user(hub, "ada@example.com")
    for _ in range(hub.settings.auth.login_attempts):
        assert (await sign_in(client, "ada@example.com", "guess guess guess")).status_code == 401
    blocked = await sign_in(client, "ada@example.com")  # even the right password waits now
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0


async def test_anyones_wrong_guesses_do_not_lock_the_owner_out_elsewhere(
    client: httpx.AsyncClient, hub: Hub, hub_app
) -> None:
    """The limit per email held for every address: five wrong guesses by anyone, every 15 minutes, kept the
    owner (the admin, say) out of the web app (found by a security audit)."""
    await make_user(hub, "ada@example.com")
    for _ in range(hub.settings.auth.login_attempts):
        assert (await sign_in(client, "ada@example.com", "guess guess guess")).status_code == 401
    assert (await sign_in(client, "ada@example.com")).status_code == 429
    elsewhere = httpx.ASGITransport(app=hub_app, client=("192.0.2.7", 50000))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://hub.test") as owner:
        assert (await sign_in(owner, "ada@example.com")).status_code == 200


async def test_spacing_the_email_differently_is_the_same_counter(client: httpx.AsyncClient, hub: Hub) -> None:
    await make_user(hub, "ada@example.com")
    for _ in range(hub.settings.auth.login_attempts):
        assert (await sign_in(client, "ada@example.com", "guess guess guess")).status_code == 401
    assert (await sign_in(client, " ada@example.com", "guess guess guess")).status_code == 429
    assert (await sign_in(client, "ada@example.com ")).status_code == 429  # not signed in while locked


async def test_guesses_sent_at_once_are_counted_before_their_passwords_are_checked(
    client: httpx.AsyncClient, hub: Hub
) -> None:
    await make_user(hub, "ada@example.com")
    limit = hub.settings.auth.login_attempts
    answers = await asyncio.gather(*(sign_in(client, "ada@example.com", f"guess {i} guess") for i in range(30)))
    statuses = [r.status_code for r in answers]
    assert statuses.count(401) == limit and statuses.count(429) == 30 - limit


async def test_guesses_at_the_current_password_are_limited(client: httpx.AsyncClient, hub: Hub) -> None:
    csrf = await signed_in(client, hub, "ada@example.com", "member", [])
    change = {"current_password": "not it at all", "new_password": "a new passphrase"}
    statuses = [
        (await client.post("/api/v1/session/password", json=change, headers={"X-CSRF-Token": csrf})).status_code
        for _ in range(hub.settings.auth.login_attempts + 1)
    ]
    assert statuses == [403] * hub.settings.auth.login_attempts + [429]


async def test_sign_in_from_another_site_is_refused(client: httpx.AsyncClient, hub: Hub) -> None:
    await make_user(hub, "ada@example.com")
    response = await client.post(
        "/api/v1/session",
        json={"email": "ada@example.com", "password": PASSWORD},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403


async def test_session_authenticates_api_reads(
    client: httpx.AsyncClient, hub: Hub, admin_headers: dict[str, str]
) -> None:
    await post_events(client, admin_headers, "shop")
    assert (await client.get("/api/v1/events")).status_code == 401
    await signed_in(client, hub, "ada@example.com", "admin", [])
    listing = await client.get("/api/v1/events")
    assert listing.status_code == 200 and [e["project"] for e in listing.json()["items"]] == ["shop"]


async def test_changes_need_the_csrf_token(client: httpx.AsyncClient, hub: Hub) -> None:
    csrf = await signed_in(client, hub, "ada@example.com", "admin", [])
    body = {"name": "deploys", "scopes": ["ingest"]}
    missing = await client.post("/api/v1/keys", json=body)
    wrong = await client.post("/api/v1/keys", json=body, headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    assert missing.status_code == wrong.status_code == 403
    assert "CSRF" in missing.json()["message"]
    assert (await client.post("/api/v1/keys", json=body, headers={"X-CSRF-Token": csrf})).status_code == 201
    assert (await client.delete("/api/v1/session")).status_code == 403  # signing out is a change too


async def test_api_keys_need_no_csrf_token(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post("/api/v1/keys", json={"name": "ci", "scopes": ["read"]}, headers=admin_headers)
    assert response.status_code == 201


async def test_sign_in_replaces_a_planted_session(client: httpx.AsyncClient, hub: Hub) -> None:
    """Session fixation: an attacker's token in the victim's browser is ended, never promoted."""
    await make_user(hub, "mallory@example.com", "viewer")
    await make_user(hub, "victim@example.com", "admin")
    planted = (await sign_in(client, "mallory@example.com")).cookies[COOKIE]
    client.cookies.clear()
    response = await client.post(
        "/api/v1/session",
        json={"email": "victim@example.com", "password": PASSWORD},
        headers={"Cookie": f"{COOKIE}={planted}"},
    )
    fresh = response.cookies[COOKIE]
    assert fresh != planted
    client.cookies.clear()
    planted_reply = await client.get("/api/v1/session", headers={"Cookie": f"{COOKIE}={planted}"})
    assert planted_reply.status_code == 401
    victim = await client.get("/api/v1/session", headers={"Cookie": f"{COOKIE}={fresh}"})
    assert victim.json()["user"]["email"] == "victim@example.com"


async def test_sign_out_ends_the_session(client: httpx.AsyncClient, hub: Hub) -> None:
    csrf = await signed_in(client, hub, "ada@example.com", "member", [])
    token = client.cookies[COOKIE]
    response = await client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 204
    assert 'hub_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    client.cookies.set(COOKIE, token)  # replaying the old cookie does not work either
    assert (await client.get("/api/v1/session")).status_code == 401
    assert (await client.get("/api/v1/events")).status_code == 401


async def test_password_change_checks_the_old_one_and_ends_other_sessions(client: httpx.AsyncClient, hub: Hub) -> None:
    csrf = await signed_in(client, hub, "ada@example.com", "member", [])
    other = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with other:
        assert (await sign_in(other, "ada@example.com")).status_code == 200
        change = "/api/v1/session/password"
        wrong = await client.post(
            change,
            json={"current_password": "nope", "new_password": "a new passphrase"},
            headers={"X-CSRF-Token": csrf},
        )
        assert wrong.status_code == 403
        short = await client.post(
            change, json={"current_password": PASSWORD, "new_password": "short"}, headers={"X-CSRF-Token": csrf}
        )
        assert short.status_code == 400 and short.json()["field"] == "new_password"
        done = await client.post(
            change,
            json={"current_password": PASSWORD, "new_password": "a new passphrase"},
            headers={"X-CSRF-Token": csrf},
        )
        assert done.status_code == 200
        assert (await other.get("/api/v1/session")).status_code == 401
    assert (await client.get("/api/v1/session")).status_code == 200  # this browser got a fresh session
    assert (await sign_in(client, "ada@example.com")).status_code == 401
    assert (await sign_in(client, "ada@example.com", "a new passphrase")).status_code == 200


async def test_members_see_only_their_projects(
    client: httpx.AsyncClient, hub: Hub, admin_headers: dict[str, str]
) -> None:
    ids = await post_events(client, admin_headers, "shop", "payroll")
    await signed_in(client, hub, "sam@example.com", "member", ["shop"])
    listing = (await client.get("/api/v1/events")).json()["items"]
    assert [e["project"] for e in listing] == ["shop"]
    assert (await client.get(f"/api/v1/events/{ids['shop']}")).status_code == 200
    assert (await client.get(f"/api/v1/events/{ids['payroll']}")).status_code == 404
    refused = await client.get("/api/v1/events", params={"project": "payroll"})
    unknown = await client.get("/api/v1/events", params={"project": "no-such-project"})
    assert refused.status_code == unknown.status_code == 403  # the answer does not tell which names are taken
    assert "not a member of project `no-such-project`" in unknown.json()["message"]
    stream = await client.get("/api/v1/stream", params={"project": "no-such-project"})
    assert stream.status_code == 403
    assert (await client.get("/api/v1/events", params={"q": "hello"})).json()["items"][0]["project"] == "shop"
    assert [p["slug"] for p in (await client.get("/api/v1/projects")).json()] == ["shop"]
    assert (await client.get("/api/v1/projects/payroll/channels")).status_code == 404  # as for no such project


async def test_a_user_in_no_project_sees_nothing(
    client: httpx.AsyncClient, hub: Hub, admin_headers: dict[str, str]
) -> None:
    await post_events(client, admin_headers, "shop")
    await signed_in(client, hub, "new@example.com", "viewer", [])
    assert (await client.get("/api/v1/events")).json()["items"] == []
    assert (await client.get("/api/v1/projects")).json() == []


async def test_roles_map_to_scopes(client: httpx.AsyncClient, hub: Hub) -> None:
    csrf = await signed_in(client, hub, "vic@example.com", "viewer", ["shop"])
    assert (await client.get("/api/v1/events")).status_code == 200
    refused = await client.post("/api/v1/keys", json={"name": "x", "scopes": ["read"]}, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 403 and "role (viewer)" in refused.json()["message"]
    assert (await client.get("/api/v1/keys")).status_code == 403
    ingest = await client.post("/api/v1/events", json={"event": "x", "project": "shop"}, headers={"X-CSRF-Token": csrf})
    assert ingest.status_code == 403


async def test_members_see_only_their_projects_heartbeat_checks(client: httpx.AsyncClient, hub: Hub, admin_headers):
    """The heartbeat plugin's API answers within the member's projects too: a ping body may hold a secret."""
    made = {}
    for project in ("ops", "web"):
        body = {"name": f"{project} backup", "project": project, "period": 300}
        made[project] = (await client.post("/api/v1/checks", json=body, headers=admin_headers)).json()["uuid"]
    await client.post(f"/ping/{made['web']}", content=b"DB_PASSWORD=hunter2")
    await signed_in(client, hub, "gina@example.com", "member", ["ops"])
    listed = (await client.get("/api/v1/checks")).json()["items"]
    assert [(c["name"], c["uuid"]) for c in listed] == [("ops backup", None)]  # a member may not ping it
    for path in ("", "/pings", "/flips"):
        assert (await client.get(f"/api/v1/checks/{made['web']}{path}")).status_code == 404
    assert (await client.get("/api/v1/checks?project=web")).status_code == 403
    assert (await client.get(f"/api/v1/checks/{made['ops']}/pings")).status_code == 200


# What a session's end takes with it: the push devices registered in it. Someone who held a session for a while (a
# stolen cookie, a shared computer) must not keep receiving the person's notifications on a device of theirs.

PUSH_KEYS = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}


def push_device(name: str) -> dict[str, object]:
    return {"endpoint": f"https://push.example.com/{name}", "keys": PUSH_KEYS}


def another_browser(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """A second browser on the same hub: a cookie jar of its own."""
    return httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))


async def register_device(browser: httpx.AsyncClient, csrf: str, name: str) -> None:
    response = await browser.post("/api/v1/push/subscriptions", json=push_device(name), headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text


async def devices_of(hub: Hub, user_id: str) -> set[str]:
    return {device.endpoint.rsplit("/", 1)[1] for device in await hub.people.list_subscriptions(user_id) or []}


async def test_signing_out_removes_the_devices_registered_in_that_session_and_no_others(
    client: httpx.AsyncClient, hub: Hub, admin_headers: dict[str, str]
) -> None:
    ada = await make_user(hub, "ada@example.com")
    laptop_csrf = (await sign_in(client, "ada@example.com")).json()["csrf_token"]
    await register_device(client, laptop_csrf, "laptop")
    async with another_browser(client) as phone:
        phone_csrf = (await sign_in(phone, "ada@example.com")).json()["csrf_token"]
        await register_device(phone, phone_csrf, "phone")
        by_admin = await client.post(
            f"/api/v1/users/{ada}/push-subscriptions", json=push_device("desk"), headers=admin_headers
        )
        assert by_admin.status_code == 201
        assert await devices_of(hub, ada) == {"laptop", "phone", "desk"}

        assert (await client.delete("/api/v1/session", headers={"X-CSRF-Token": laptop_csrf})).status_code == 204
        assert await devices_of(hub, ada) == {"phone", "desk"}  # an admin's device belongs to no session
        listed = (await phone.get("/api/v1/push/subscriptions")).json()
        assert [device["endpoint"] for device in listed] == [
            "https://push.example.com/phone",
            "https://push.example.com/desk",
        ]


async def test_a_password_change_removes_every_device_but_this_browsers(
    client: httpx.AsyncClient, hub: Hub, admin_headers: dict[str, str]
) -> None:
    ada = await make_user(hub, "ada@example.com")
    csrf = (await sign_in(client, "ada@example.com")).json()["csrf_token"]
    await register_device(client, csrf, "laptop")
    await client.post(f"/api/v1/users/{ada}/push-subscriptions", json=push_device("desk"), headers=admin_headers)
    async with another_browser(client) as thief:
        thief_csrf = (await sign_in(thief, "ada@example.com")).json()["csrf_token"]
        await register_device(thief, thief_csrf, "thiefs-phone")
        changed = await client.post(
            "/api/v1/session/password",
            json={"current_password": PASSWORD, "new_password": "a new passphrase"},
            headers={"X-CSRF-Token": csrf},
        )
        assert changed.status_code == 200
        assert await devices_of(hub, ada) == {"laptop"}
    # The laptop's device moved to its new session: it ends with that one.
    fresh_csrf = changed.json()["csrf_token"]
    assert (await client.delete("/api/v1/session", headers={"X-CSRF-Token": fresh_csrf})).status_code == 204
    assert await devices_of(hub, ada) == set()


async def test_an_expired_session_loses_its_devices_to_the_sessions_job(client: httpx.AsyncClient, hub: Hub) -> None:
    ada = await make_user(hub, "ada@example.com")
    await register_device(client, (await sign_in(client, "ada@example.com")).json()["csrf_token"], "laptop")
    async with another_browser(client) as phone:
        await register_device(phone, (await sign_in(phone, "ada@example.com")).json()["csrf_token"], "phone")
        async with hub.db.writer.begin() as conn:
            phones = sessions.c.id == token_id(phone.cookies[COOKIE])
            await conn.execute(update(sessions).where(phones).values(expires_at=now_utc() - timedelta(seconds=1)))
    [job] = [job for job in hub.scheduler.jobs if job.name == "sessions"]
    await job.func(hub.context)
    assert await devices_of(hub, ada) == {"laptop"}


async def test_a_device_registered_as_its_session_ends_is_not_kept(client: httpx.AsyncClient, hub: Hub) -> None:
    """Signed out while the registration was on its way: the device must not outlive the session it names."""
    ada = await make_user(hub, "ada@example.com")
    device = msgspec.convert(push_device("laptop"), SubscriptionIn)
    assert await hub.people.add_subscription(ada, device, token_id("a session that has ended")) is None
    assert await devices_of(hub, ada) == set()


async def test_a_person_signed_out_everywhere_gets_the_failed_delivery_that_says_why(
    client: httpx.AsyncClient, hub: Hub, admin_headers: dict[str, str]
) -> None:
    await make_user(hub, "sam@example.com", projects=["shop"])
    csrf = (await sign_in(client, "sam@example.com")).json()["csrf_token"]
    await register_device(client, csrf, "laptop")
    await client.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    event = {"project": "shop", "event": "Big order", "notify": True}
    assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
    [delivery] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert (delivery["notifier"], delivery["state"]) == ("webpush", "failed")
    assert delivery["last_error"] == (
        "sam@example.com has no push device: notifications are not on in any browser they are signed in to"
    )
