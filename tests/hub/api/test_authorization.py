"""Who may call what: every route of the app, called by every kind of caller, with the status each must get.

The routes are taken from the app's own route table, so a route added without a row here fails the test. Each
row aims at a thing of project `beta`; the callers are API keys of each scope (unbound, and bound to project
`alpha`), web sessions of each role (the member and viewer belong to `alpha` only), an admin session that sends
no CSRF token, a signed-out session, a revoked key, a wrong key and no credentials. Callers confined to `alpha`
must also never read anything of `beta` in a successful answer (nothing else here contains the word).

Over real HTTP on loopback (the live stream needs a socket), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest

from hub import passwords
from hub.accounts import set_password
from hub.core import Hub
from hub.people.models import UserIn
from hub.sessions import COOKIE, token_id
from hub.testing import LiveHub, bearer, make_key

PASSWORD = "correct horse battery"
KEYS = ("ingest", "read", "act", "admin", "alpha_read", "alpha_admin")
SESSIONS = ("s_admin", "s_member", "s_viewer", "s_nocsrf")
CALLERS = ("none", "bad", "revoked", "s_ended", *KEYS, *SESSIONS)
# What each caller may do, as scopes; and whether it reaches project beta.
SCOPES = {
    "ingest": {"ingest"},
    "read": {"read"},
    "act": {"act"},
    "alpha_read": {"read"},
    "s_member": {"read", "act"},
    "s_viewer": {"read"},
}
OUTSIDERS = {"alpha_read", "alpha_admin", "s_member", "s_viewer"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PARTS = 4  # the walk's parts (see test_every_route_answers_each_caller_as_documented)
SELF_SERVICE = '[{name = "beta-deploy", label = "Deploy beta", project = "beta", url = "http://127.0.0.1:9/deploy"}]'
counter = itertools.count()


@pytest.fixture(autouse=True)
def cheap_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "LOG_N", 8)
    monkeypatch.setattr(passwords, "P", 1)


@pytest.fixture
def settings_overrides() -> dict[str, str]:
    return {"HUB_SELF_SERVICE_ACTIONS": SELF_SERVICE}


def scopes_of(caller: str) -> set[str]:
    return SCOPES.get(caller, {"ingest", "read", "act", "admin"})


def scoped(scope: str, ok: int, outsider: int | None = 404) -> Callable[[str, str], int]:
    """A route any caller with `scope` may call, within its projects; `outsider` is what a caller confined to
    `alpha` gets for beta's thing (None: the route is not about one project, it answers `ok` within theirs)."""

    def expect(caller: str, method: str) -> int:
        if caller in ("none", "bad", "revoked", "s_ended"):
            return 401
        if scope not in scopes_of(caller):
            return 403
        if caller == "s_nocsrf" and method in UNSAFE:
            return 403
        if caller in OUTSIDERS and outsider is not None:
            return outsider
        return ok

    expect.lists = outsider is None  # type: ignore[attr-defined]
    return expect


def hub_admin(ok: int) -> Callable[[str, str], int]:
    """Administering the hub: the admin scope on a key bound to no project, or an admin's session."""

    def expect(caller: str, method: str) -> int:
        if caller in ("none", "bad", "revoked", "s_ended"):
            return 401
        if caller in ("admin", "s_admin"):
            return ok
        return 403 if caller != "s_nocsrf" or method in UNSAFE else ok

    return expect


def public(status: int) -> Callable[[str, str], int]:
    """Anyone gets the same answer: what the caller sends in Authorization or the cookie makes no difference
    (a capability in the path, a signature, or nothing to hide)."""

    def expect(caller: str, method: str) -> int:
        return status

    expect.public = True  # type: ignore[attr-defined]
    return expect


def own_devices(ok: int) -> Callable[[str, str], int]:
    """A signed-in person's own devices: keys are pointed to the admin routes."""

    def expect(caller: str, method: str) -> int:
        if caller in ("none", "bad", "revoked", "s_ended"):
            return 401
        if caller in KEYS:
            return 403
        return 403 if caller == "s_nocsrf" and method in UNSAFE else ok

    return expect


def signed_in(ok: int) -> Callable[[str, str], int]:
    """The session routes: a key is no session (401), a change needs the CSRF token."""

    def expect(caller: str, method: str) -> int:
        if caller in SESSIONS:
            return 403 if caller == "s_nocsrf" and method in UNSAFE else ok
        return 401

    return expect


@dataclass
class World:
    """Project beta's things (and alpha's few), made once; `fresh_*` make one for a call that uses it up."""

    live: LiveHub
    admin: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.live.url + path, headers=self.admin, timeout=10, **kwargs)

    def made(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.call(method, path, **kwargs)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def fresh_check(self) -> str:
        body = {"name": f"beta job {next(counter)}", "project": "beta", "period": 300, "grace": 60}
        return self.made("POST", "/api/v1/checks", json=body)["uuid"]

    def fresh_user(self) -> str:
        body = {"email": f"gone{next(counter)}@beta.test", "name": "Gone", "projects": ["beta"]}
        return self.made("POST", "/api/v1/users", json=body)["id"]

    def fresh_key(self) -> str:
        return self.live.run(self.live.hub.keys.create(name="gone", scopes=["read"]))[0].id

    def fresh_source(self) -> str:
        body = {"plugin": "github", "name": f"gone-{next(counter)}", "project": "beta", "secrets": ["s" * 16]}
        return self.made("POST", "/api/v1/sources", json=body)["name"]

    def fresh_team(self) -> str:
        return self.made("POST", "/api/v1/teams", json={"slug": f"gone-{next(counter)}", "name": "Gone"})["slug"]

    def fresh_rule(self) -> str:
        return self.made("PUT", f"/api/v1/routes/gone-{next(counter)}", json={"targets": [{"team": "beta-team"}]})[
            "name"
        ]

    def fresh_subscription(self) -> str:
        return self.made("POST", f"/api/v1/users/{self.users['bo']}/push-subscriptions", json=push_device())["id"]


def push_device() -> dict[str, Any]:
    keys = {
        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        "auth": "tBHItJI5svbpez7KI4CCXg",
    }
    return {"endpoint": f"https://push.example.com/send/{next(counter)}", "keys": keys}


def build_world(live: LiveHub) -> World:
    world = World(live, bearer(live.key("admin")))
    event = {
        "project": "beta",
        "channel": "beta-orders",
        "event": "beta order",
        "notify": True,
        "context_id": "beta-deploy-1",
        "actions": [{"label": "Refund", "key": "refund", "url": "http://127.0.0.1:9/refund"}],
    }
    world.made("POST", "/api/v1/teams", json={"slug": "beta-team", "name": "Beta team"})
    world.made(
        "PUT",
        "/api/v1/routes/beta-rule",
        json={"match": {"projects": ["beta"]}, "targets": [{"slack": "https://hooks.slack.com/services/T/B/beta"}]},
    )
    world.ids["event"] = world.made("POST", "/api/v1/events", json=event)["id"]
    world.made("POST", "/api/v1/events", json={**event, "event": "beta step", "actions": []})
    world.made("POST", "/api/v1/events", json={"project": "alpha", "event": "alpha order"})
    world.made("POST", "/v1/insight", json={"project": "beta", "title": "beta revenue", "value": 42})
    world.made(
        "POST",
        "/api/v1/sources",
        json={"plugin": "stripe", "name": "beta-shop", "project": "beta", "secrets": ["whsec_beta_secret"]},
    )
    world.ids["check"] = world.fresh_check()
    world.ids["badge"] = world.made("GET", "/api/v1/check-projects/beta")["badge_key"]
    world.ids["delivery"] = world.made("GET", "/api/v1/deliveries")["items"][0]["id"]
    for name, email, role, projects in [
        ("ann", "ann@hub.test", "admin", []),
        ("mia", "mia@alpha.test", "member", ["alpha"]),
        ("vic", "vic@alpha.test", "viewer", ["alpha"]),
        ("bo", "bo@beta.test", "member", ["beta"]),
        ("sam", "sam@hub.test", "viewer", []),
    ]:
        user = msgspec.convert({"email": email, "name": name, "role": role, "projects": projects}, UserIn)
        world.users[name] = live.run(live.hub.people.create_user(user)).id
        live.run(set_password(live.hub.db, world.users[name], PASSWORD))
    world.ids["device"] = world.fresh_subscription()
    return world


class Callers:
    """The credentials of each caller; sessions are made afresh for each call (signing out or a password change
    ends them)."""

    def __init__(self, world: World) -> None:
        live = world.live
        self.live, self.world = live, world
        self.keys = {
            "ingest": live.key("ingest"),
            "read": live.key("read"),
            "act": live.key("act"),
            "admin": live.key("admin"),
            "alpha_read": live.key("read", project="alpha"),
            "alpha_admin": live.key("admin", project="alpha"),
            "revoked": live.key("admin"),
            "bad": "hub_" + "x" * 43,
        }
        revoked = next(k for k in live.run(live.hub.keys.list()) if k.prefix == self.keys["revoked"][:12])
        assert live.run(live.hub.keys.revoke(revoked.id))

    def headers(self, caller: str) -> dict[str, str]:
        if caller in self.keys:
            return bearer(self.keys[caller])
        if caller == "none":
            return {}
        user = {"s_admin": "ann", "s_nocsrf": "ann", "s_ended": "ann", "s_member": "mia", "s_viewer": "vic"}[caller]
        token = self.live.run(self.live.hub.sessions.create(self.world.users[user], None))
        session = self.live.run(self.live.hub.sessions.load(token))
        assert session is not None
        if caller == "s_ended":
            self.live.run(self.live.hub.sessions.end(token_id(token)))
        headers = {"Cookie": f"{COOKIE}={token}"}
        return headers if caller == "s_nocsrf" else {**headers, "X-CSRF-Token": session.csrf_token}


Request = tuple[str, dict[str, Any]]  # the path with its query, and httpx's keyword arguments (a body)


def at(path: str, **kwargs: Any) -> Callable[[World], Request]:
    return lambda world: (path.format(**world.ids, **world.users), kwargs)


def event_body(**fields: Any) -> dict[str, Any]:
    return {"json": {"project": "beta", "event": "beta signup", **fields}}


# method, route as the route table names it: what to send, and what each caller gets.
ROWS: dict[tuple[str, str], tuple[Callable[[World], Request], Callable[[str, str], int]]] = {
    ("GET", "/health"): (at("/health"), public(200)),
    # Events
    ("POST", "/api/v1/events"): (at("/api/v1/events", **event_body()), scoped("ingest", 201, 403)),
    ("POST", "/api/v1/events/batch"): (
        at("/api/v1/events/batch", json={"events": [event_body()["json"]]}),
        scoped("ingest", 200, 200),  # each item answers on its own: 403 inside for a project not theirs
    ),
    ("GET", "/api/v1/events"): (at("/api/v1/events?severity=info"), scoped("read", 200, None)),
    ("GET", "/api/v1/events/{event_id:str}"): (at("/api/v1/events/{event}"), scoped("read", 200)),
    ("GET", "/api/v1/events/{event_id:str}/runs"): (at("/api/v1/events/{event}/runs"), scoped("read", 200)),
    ("POST", "/api/v1/events/{event_id:str}/actions/{key:str}"): (
        at("/api/v1/events/{event}/actions/refund"),
        scoped("act", 200),
    ),
    ("GET", "/api/v1/stream"): (at("/api/v1/stream?since=2000-01-01T00:00:00Z"), scoped("read", 200, None)),
    # Projects
    ("GET", "/api/v1/projects"): (at("/api/v1/projects"), scoped("read", 200, None)),
    ("GET", "/api/v1/projects/{project:str}/channels"): (at("/api/v1/projects/beta/channels"), scoped("read", 200)),
    ("GET", "/api/v1/projects/{project:str}/insights"): (at("/api/v1/projects/beta/insights"), scoped("read", 200)),
    # Self-service actions and action secrets
    ("GET", "/api/v1/actions"): (at("/api/v1/actions"), scoped("read", 200, None)),
    ("POST", "/api/v1/actions/{name:str}/runs"): (at("/api/v1/actions/beta-deploy/runs"), scoped("act", 200)),
    ("GET", "/api/v1/actions/{name:str}/runs"): (at("/api/v1/actions/beta-deploy/runs"), scoped("read", 200)),
    ("GET", "/api/v1/action-secrets/{project:str}"): (at("/api/v1/action-secrets/beta"), hub_admin(200)),
    ("POST", "/api/v1/action-secrets/{project:str}/rotate"): (
        at("/api/v1/action-secrets/beta/rotate"),
        hub_admin(200),
    ),
    # Keys, sources, people, routing, deliveries: the hub's administration
    ("GET", "/api/v1/keys"): (at("/api/v1/keys"), hub_admin(200)),
    ("POST", "/api/v1/keys"): (at("/api/v1/keys", json={"name": "beta", "scopes": ["read"]}), hub_admin(201)),
    ("DELETE", "/api/v1/keys/{key_id:str}"): (lambda w: (f"/api/v1/keys/{w.fresh_key()}", {}), hub_admin(204)),
    ("GET", "/api/v1/sources"): (at("/api/v1/sources"), hub_admin(200)),
    ("POST", "/api/v1/sources"): (
        lambda w: (
            "/api/v1/sources",
            {"json": {"plugin": "github", "name": f"beta-{next(counter)}", "project": "beta", "secrets": ["s" * 16]}},
        ),
        hub_admin(201),
    ),
    ("PUT", "/api/v1/sources/{plugin:str}/{name:str}"): (
        at("/api/v1/sources/stripe/beta-shop", json={"project": "beta", "secrets": ["whsec_beta_secret"]}),
        hub_admin(200),
    ),
    ("DELETE", "/api/v1/sources/{plugin:str}/{name:str}"): (
        lambda w: (f"/api/v1/sources/github/{w.fresh_source()}", {}),
        hub_admin(204),
    ),
    ("GET", "/api/v1/users"): (at("/api/v1/users"), hub_admin(200)),
    ("POST", "/api/v1/users"): (
        lambda w: ("/api/v1/users", {"json": {"email": f"new{next(counter)}@beta.test", "name": "New"}}),
        hub_admin(201),
    ),
    ("GET", "/api/v1/users/{user:str}"): (at("/api/v1/users/{bo}"), hub_admin(200)),
    ("PATCH", "/api/v1/users/{user:str}"): (at("/api/v1/users/{bo}", json={"name": "bo"}), hub_admin(200)),
    ("DELETE", "/api/v1/users/{user:str}"): (lambda w: (f"/api/v1/users/{w.fresh_user()}", {}), hub_admin(204)),
    ("GET", "/api/v1/users/{user:str}/push-subscriptions"): (
        at("/api/v1/users/{bo}/push-subscriptions"),
        hub_admin(200),
    ),
    ("POST", "/api/v1/users/{user:str}/push-subscriptions"): (
        lambda w: (f"/api/v1/users/{w.users['bo']}/push-subscriptions", {"json": push_device()}),
        hub_admin(201),
    ),
    ("DELETE", "/api/v1/users/{user:str}/push-subscriptions/{subscription_id:str}"): (
        lambda w: (f"/api/v1/users/{w.users['bo']}/push-subscriptions/{w.fresh_subscription()}", {}),
        hub_admin(204),
    ),
    ("GET", "/api/v1/teams"): (at("/api/v1/teams"), hub_admin(200)),
    ("POST", "/api/v1/teams"): (
        lambda w: ("/api/v1/teams", {"json": {"slug": f"beta-{next(counter)}", "name": "Beta"}}),
        hub_admin(201),
    ),
    ("GET", "/api/v1/teams/{team:str}"): (at("/api/v1/teams/beta-team"), hub_admin(200)),
    ("PATCH", "/api/v1/teams/{team:str}"): (at("/api/v1/teams/beta-team", json={"name": "Beta team"}), hub_admin(200)),
    ("DELETE", "/api/v1/teams/{team:str}"): (lambda w: (f"/api/v1/teams/{w.fresh_team()}", {}), hub_admin(204)),
    ("PUT", "/api/v1/teams/{team:str}/members/{user:str}"): (
        at("/api/v1/teams/beta-team/members/{bo}"),
        hub_admin(200),
    ),
    ("DELETE", "/api/v1/teams/{team:str}/members/{user:str}"): (
        at("/api/v1/teams/beta-team/members/{bo}"),
        hub_admin(200),
    ),
    ("GET", "/api/v1/routes"): (at("/api/v1/routes"), hub_admin(200)),
    ("PUT", "/api/v1/routes/{name:str}"): (
        at("/api/v1/routes/beta-rule", json={"match": {"projects": ["beta"]}, "targets": [{"team": "beta-team"}]}),
        hub_admin(200),
    ),
    ("DELETE", "/api/v1/routes/{name:str}"): (lambda w: (f"/api/v1/routes/{w.fresh_rule()}", {}), hub_admin(204)),
    ("POST", "/api/v1/routes/test"): (at("/api/v1/routes/test", **event_body()), hub_admin(200)),
    ("GET", "/api/v1/deliveries"): (at("/api/v1/deliveries"), hub_admin(200)),
    ("GET", "/api/v1/deliveries/{delivery_id:str}"): (at("/api/v1/deliveries/{delivery}"), hub_admin(200)),
    ("POST", "/api/v1/deliveries/{delivery_id:str}/retry"): (
        at("/api/v1/deliveries/{delivery}/retry"),
        hub_admin(409),  # pending, not failed: reached the handler
    ),
    # Sign-in and the signed-in person's own things
    ("GET", "/api/v1/session"): (at("/api/v1/session"), signed_in(200)),
    ("POST", "/api/v1/session"): (
        at("/api/v1/session", json={"email": "sam@hub.test", "password": PASSWORD}),
        public(200),
    ),
    ("DELETE", "/api/v1/session"): (at("/api/v1/session"), signed_in(204)),
    ("POST", "/api/v1/session/password"): (
        at("/api/v1/session/password", json={"current_password": PASSWORD, "new_password": PASSWORD}),
        signed_in(200),
    ),
    ("GET", "/api/v1/push/subscriptions"): (at("/api/v1/push/subscriptions"), own_devices(200)),
    ("POST", "/api/v1/push/subscriptions"): (
        lambda w: ("/api/v1/push/subscriptions", {"json": push_device()}),
        own_devices(201),
    ),
    # Bo's device: no one else's session reaches it.
    ("DELETE", "/api/v1/push/subscriptions/{subscription_id:str}"): (
        at("/api/v1/push/subscriptions/{device}"),
        own_devices(404),
    ),
    ("POST", "/api/v1/push/subscriptions/{subscription_id:str}/test"): (
        at("/api/v1/push/subscriptions/{device}/test"),
        own_devices(404),
    ),
    ("GET", "/api/v1/push/vapid-public-key"): (at("/api/v1/push/vapid-public-key"), public(200)),
    # Heartbeats
    ("GET", "/api/v1/checks"): (at("/api/v1/checks"), scoped("read", 200, None)),
    ("POST", "/api/v1/checks"): (
        lambda w: ("/api/v1/checks", {"json": {"name": f"beta {next(counter)}", "project": "beta", "period": 60}}),
        scoped("admin", 201, 403),
    ),
    ("GET", "/api/v1/checks/{check_id:str}"): (at("/api/v1/checks/{check}"), scoped("read", 200)),
    ("PATCH", "/api/v1/checks/{check_id:str}"): (
        at("/api/v1/checks/{check}", json={"grace": 60}),
        scoped("admin", 200),
    ),
    ("DELETE", "/api/v1/checks/{check_id:str}"): (
        lambda w: (f"/api/v1/checks/{w.fresh_check()}", {}),
        scoped("admin", 204),
    ),
    ("POST", "/api/v1/checks/{check_id:str}/pause"): (at("/api/v1/checks/{check}/pause"), scoped("admin", 200)),
    ("POST", "/api/v1/checks/{check_id:str}/resume"): (at("/api/v1/checks/{check}/resume"), scoped("admin", 200)),
    ("GET", "/api/v1/checks/{check_id:str}/pings"): (at("/api/v1/checks/{check}/pings"), scoped("read", 200)),
    ("GET", "/api/v1/checks/{check_id:str}/flips"): (at("/api/v1/checks/{check}/flips"), scoped("read", 200)),
    ("GET", "/api/v1/check-projects/{project:str}"): (at("/api/v1/check-projects/beta"), scoped("admin", 200, 403)),
    # The check's UUID, the project's ping and badge keys are the credentials of these, as in Healthchecks.
    ("ASGI", "/ping"): (at("/ping/{check}"), public(200)),
    ("GET", "/badge/{key:str}/{name:str}"): (at("/badge/{badge}/beta.svg"), public(200)),
    ("HEAD", "/badge/{key:str}/{name:str}"): (at("/badge/{badge}/beta.svg"), public(200)),
    # Webhooks and Slack: signed by the sender, whatever else the request carries
    ("POST", "/hooks/{plugin:str}/{source:str}"): (at("/hooks/stripe/beta-shop", json={"id": "evt_1"}), public(400)),
    ("POST", "/api/v1/slack/interactivity"): (at("/api/v1/slack/interactivity", data={"payload": "{}"}), public(404)),
    # The compatible ingest routes (LogSnag, Logsh, Operational.co)
    ("POST", "/v1/log"): (
        at("/v1/log", json={"project": "beta", "channel": "c", "event": "e"}),
        scoped("ingest", 200, 403),
    ),
    ("POST", "/v1/insight"): (
        at("/v1/insight", json={"project": "beta", "title": "beta users", "value": 1}),
        scoped("ingest", 200, 403),
    ),
    ("PATCH", "/v1/insight"): (
        at("/v1/insight", json={"project": "beta", "title": "beta users", "value": {"$inc": 1}}),
        scoped("ingest", 200, 403),
    ),
    ("POST", "/v1/identify"): (
        at("/v1/identify", json={"project": "beta", "user_id": "u1", "properties": {"plan": "pro"}}),
        scoped("ingest", 200, 403),
    ),
    ("POST", "/v1/group"): (
        at("/v1/group", json={"project": "beta", "user_id": "u1", "group_id": "g1", "properties": {"plan": "pro"}}),
        scoped("ingest", 200, 403),
    ),
    ("POST", "/api/event"): (at("/api/event", json={"workspace": "beta", "event": "e"}), scoped("ingest", 201, 403)),
    # Operational.co names no project: the key's own, or the default one.
    ("POST", "/api/v1/log"): (at("/api/v1/log", json={"name": "signup"}), scoped("ingest", 201, None)),
    ("POST", "/api/v1/ingest"): (at("/api/v1/ingest", json={"name": "signup"}), scoped("ingest", 201, None)),
    ("POST", "/api/v1/identify"): (at("/api/v1/identify", json={"userId": "u1"}), scoped("ingest", 200, None)),
    # The web app and the API reference: files, no data
    **{
        ("GET", page): (at(page.replace("{event_id:str}", "1")), public(200))
        for page in (
            "/login",
            "/admin",
            "/settings",
            "/heartbeats",
            "/actions",
            "/events/{event_id:str}",
            "/icon-192.png",
            "/icon-512.png",
            "/",
        )
    },
    ("GET", "/{file_path:path}"): (at("/manifest.webmanifest"), public(200)),
    ("HEAD", "/{file_path:path}"): (at("/manifest.webmanifest"), public(200)),
    ("GET", "/schema"): (at("/schema"), public(200)),
    ("GET", "/schema/scalar"): (at("/schema/scalar"), public(200)),
    ("GET", "/schema/openapi.json"): (at("/schema/openapi.json"), public(200)),
    ("GET", "/schema/{path:str}"): (at("/schema/nothing"), public(404)),
}


def routes_of(app: Any) -> set[tuple[str, str]]:
    """Every (method, path) the app answers, but the OPTIONS handlers Litestar adds by itself."""
    found = set()
    for route in app.routes:
        if hasattr(route, "route_handler_map"):
            for method, (handler, _) in route.route_handler_map.items():
                if not (method == "OPTIONS" and handler.handler_name == "options_handler"):
                    found.add((method, route.path))
        else:
            found.add(("ASGI", route.path))
    return found


def read(response: httpx.Response, stream: bool) -> bytes:
    if not stream or response.status_code != 200:
        return response.read()
    body = b""
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if b"beta" in body:  # what the test looks for has come: more would not change its verdict
                break
    except httpx.ReadTimeout:  # the replay has come; the stream stays open for new events
        pass
    return body


def test_every_route_has_a_row(hub_app: Any) -> None:
    assert routes_of(hub_app) == set(ROWS), "a route without a row here, or a row for no route"


@pytest.mark.parametrize("part", range(PARTS))
def test_every_route_answers_each_caller_as_documented(live_hub: LiveHub, part: int) -> None:
    """In PARTS parts (each route's calls in one of them), so that test processes share the walk."""
    world = build_world(live_hub)
    callers = Callers(world)
    wrong = []
    with httpx.Client(base_url=live_hub.url, timeout=10) as client:
        for (method, route), (prepare, expect) in list(ROWS.items())[part::PARTS]:
            verb = "POST" if method == "ASGI" else method
            stream = route == "/api/v1/stream"
            for caller in CALLERS:
                path, kwargs = prepare(world)
                timeout = httpx.Timeout(10, read=0.5) if stream else 10
                with client.stream(verb, path, headers=callers.headers(caller), timeout=timeout, **kwargs) as response:
                    body = read(response, stream)
                client.cookies.clear()  # a cookie set by an answer is no caller's
                wanted = expect(caller, verb)
                if response.status_code != wanted:
                    wrong.append(f"{method} {route} as {caller}: {response.status_code}, not {wanted}: {body[:200]!r}")
                elif caller in OUTSIDERS and response.status_code < 300 and b"beta" in body:
                    if not getattr(expect, "public", False):
                        wrong.append(f"{method} {route} as {caller} shows beta's: {body[:300]!r}")
                elif getattr(expect, "lists", False) and verb == "GET" and wanted == 200 and caller not in OUTSIDERS:
                    if b"beta" not in body:  # else the look for beta's things above would prove nothing
                        wrong.append(f"{method} {route} as {caller} lists nothing of beta's: {body[:300]!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("settings_overrides", [{"HUB_AUTH_KEY_CACHE_SECONDS": "1"}])
async def test_a_key_revoked_in_another_process_stops_working_within_the_cache_time(settings, client, hub) -> None:
    """Each process keeps verified keys for `auth.key_cache_seconds`; revoked elsewhere, a key works no longer."""
    other = Hub(settings)
    await other.start()
    try:
        secret = await make_key(hub, "read")
        assert (await client.get("/api/v1/projects", headers=bearer(secret))).status_code == 200
        [info] = [k for k in await other.keys.list() if k.prefix == secret[:12]]
        assert await other.keys.revoke(info.id)
        revoked_at = time.monotonic()
        while (await client.get("/api/v1/projects", headers=bearer(secret))).status_code == 200:
            # The key was cached before it was revoked: 1 s at most, and a margin for a request under way then.
            assert time.monotonic() - revoked_at < 1.5, "still accepted past auth.key_cache_seconds"
            await asyncio.sleep(0.05)
    finally:
        await other.stop()


async def test_a_flood_of_unknown_tokens_leaves_the_keys_in_use_in_memory(client, hub, monkeypatch) -> None:
    """Past 10,000 lookups the memory was cleared whole: random tokens made every real request look its key up
    (a read, and a write of its last use) again."""
    from hub import auth

    monkeypatch.setattr(auth, "MAX_CACHED_LOOKUPS", 50)
    secret = await make_key(hub, "read")
    assert (await client.get("/api/v1/projects", headers=bearer(secret))).status_code == 200
    lookups = []
    real_load = hub.keys._load

    async def counted(digest: str):
        lookups.append(digest)
        return await real_load(digest)

    monkeypatch.setattr(hub.keys, "_load", counted)
    for n in range(120):
        assert (await client.get("/api/v1/projects", headers=bearer(f"hub_guess{n}"))).status_code == 401
    assert (await client.get("/api/v1/projects", headers=bearer(secret))).status_code == 200
    assert auth.hash_secret(secret) not in lookups
