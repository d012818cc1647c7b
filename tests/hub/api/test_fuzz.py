"""Fuzzed bad input gets a 4xx, never a 500 (issue 2).

Schemathesis reads the hub's OpenAPI document and sends every operation in it requests built from its schema:
valid ones, ones that break it (wrong types, values out of range, missing fields), and the coverage phase's
boundary values and undeclared content types. They go to a real hub on loopback, once on SQLite and once on
PostgreSQL, in four passes: every operation with an admin key (so the handlers are reached, not just the 401);
the operations whose path names a thing, pointed at things that exist; the signed-in person's own routes, with
a session; and by hand, what schemathesis does not send (broken JSON, bodies past the limit, garbled keys). The
only checks are "no 5xx" and "an error says why, in JSON": how far each answer matches the document is
test_openapi.py's business.

Seeded and derandomized, so CI sends what a run here sent; a few examples per operation keep it to seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from litestar.testing import TestClient
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error

from hub import passwords
from hub.accounts import set_password
from hub.app import create_app
from hub.config import load_settings
from hub.outbound import OutboundClient
from hub.sessions import COOKIE
from hub.testing import LiveHub, bearer, make_key, truncate_pg

# Routes that answer errors in plain text on purpose: Operational.co's clients print the body as is, and a badge
# answers like Healthchecks' does.
PLAIN_TEXT_ERRORS = {"/api/v1/log", "/api/v1/ingest", "/api/v1/identify", "/badge/{key}/{name}", "/ping"}

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": int(os.environ.get("HUB_FUZZ_SEED", "2")),
        "generation": {
            "max-examples": int(os.environ.get("HUB_FUZZ_EXAMPLES", "10")),
            "deterministic": True,
            "database": "none",
        },
        "phases": {"stateful": {"enabled": False}},
        "request-timeout": 10,
    }
)


def _served_document() -> dict[str, Any]:
    """The document the hub serves at /schema/openapi.json. Tests are made per operation when this module is
    collected, before any hub runs, so it comes from an app that is built but not started (no database)."""
    app = create_app(load_settings(environ={"HUB_DATABASE_URL": "sqlite+aiosqlite:////nonexistent/hub.db"}))
    document = TestClient(app).get("/schema/openapi.json").json()
    # A route with two paths lists them in an order that changes from one process to the next (a set inside
    # Litestar), and pytest-xdist needs every worker to collect the same tests in the same order.
    document["paths"] = dict(sorted(document["paths"].items()))
    return document


DOCUMENT = _served_document()
# The live stream never ends on its own; test_stream.py covers it.
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG).exclude(path="/api/v1/stream")


async def _no_dns(host: str, port: int) -> list[str]:
    """Fuzzed URLs (push endpoints, action targets) must never leave the machine: no name resolves."""
    raise OSError(f"the fuzz test resolves no names ({host})")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed_hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    """One live hub per back end for the whole module (one per operation would cost more than the fuzzing), with
    outbound requests refused: every address counts as private, and no name resolves."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('fuzz') / 'hub.db'}"
    else:
        url = request.getfixturevalue("pg_database")
        asyncio.run(truncate_pg(url))  # this worker's earlier tests leave their rows (a user ada@example.com, say)
    # Fuzzed sign-ins and password changes fail by the hundred from one address (the most allowed is 4 x 1000 per
    # 15 minutes); the session pass must still sign in after them.
    environ = {"HUB_DATABASE_URL": url, "HUB_SERVER_RUN_JOBS": "false", "HUB_AUTH_LOGIN_ATTEMPTS": "1000"}
    settings = load_settings(environ=environ)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr("hub.outbound._is_public", lambda address: False)
        # Full-strength scrypt costs 0.1-0.7 s a sign-in attempt; the fuzz checks answers, not the cost.
        monkeypatch.setattr(passwords, "LOG_N", 8)
        monkeypatch.setattr(passwords, "P", 1)
        server = LiveHub(create_app(settings))
        server.hub.outbound = OutboundClient(resolver=_no_dns)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def admin_key(fuzzed_hub: LiveHub) -> str:
    """A key of each test's own: a fuzzed `DELETE /api/v1/keys/{id}` may revoke one."""
    return fuzzed_hub.run(make_key(fuzzed_hub.hub, "admin"))


def says_why(body: Any) -> bool:
    """A JSON object whose `message` is a sentence: not a bare name such as `'data'`, which Litestar answered to a
    missing body. (The LogSnag and Logsh routes answer in their peers' shape, so `field` and `status` are not
    asked for.)"""
    return isinstance(body, dict) and isinstance(body.get("message"), str) and " " in body["message"].strip()


def error_body_is_json(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A refusal says why in a JSON object with a `message`, not in an HTML page or a bare string."""
    if response.status_code < 400 or case.method.upper() == "HEAD" or case.path in PLAIN_TEXT_ERRORS:
        return None
    body = json.loads(response.content)
    assert says_why(body), body
    return None


@schema.parametrize()
# The fixtures hold for every example: the hub outlives them all, and the key is only read.
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_no_server_errors(case: Case, fuzzed_hub: LiveHub, admin_key: str) -> None:
    """Whatever a client sends, the answer is a 2xx or a 4xx that says why."""
    case.call_and_validate(
        base_url=fuzzed_hub.url, headers=bearer(admin_key), checks=[not_a_server_error, error_body_is_json]
    )


# The same again with the path naming things that exist, so that fuzzed bodies and queries reach the handlers
# past their lookup. Deletions are left out: they would take the things away from the operations after them.
SEEDED_PATHS = [
    "/api/v1/events/{event_id}",
    "/api/v1/events/{event_id}/actions/{key}",
    "/api/v1/events/{event_id}/runs",
    "/api/v1/projects/{project}/channels",
    "/api/v1/projects/{project}/insights",
    "/api/v1/action-secrets/{project}",
    "/api/v1/action-secrets/{project}/rotate",
    "/api/v1/check-projects/{project}",
    "/api/v1/checks/{check_id}",
    "/api/v1/checks/{check_id}/flips",
    "/api/v1/checks/{check_id}/pings",
    "/api/v1/checks/{check_id}/pause",
    "/api/v1/checks/{check_id}/resume",
    "/api/v1/users/{user}",
    "/api/v1/users/{user}/push-subscriptions",
    "/api/v1/teams/{team}",
    "/api/v1/teams/{team}/members/{user}",
    "/api/v1/sources/{plugin}/{name}",
    "/hooks/{plugin}/{source}",
    "/badge/{key}/{name}",
    "/api/v1/push/subscriptions/{subscription_id}/test",
    "/api/v1/routes/{name}",
]
seeded_schema = schema.include(path=SEEDED_PATHS).exclude(method="DELETE")


@pytest.fixture(scope="module")
def things(fuzzed_hub: LiveHub) -> dict[str, str]:
    """An event with an action, a heartbeat check, a user with a push device, a team and a webhook source, made
    through the API once per hub; the values name them in paths."""
    key = fuzzed_hub.run(make_key(fuzzed_hub.hub, "admin"))
    with httpx.Client(base_url=fuzzed_hub.url, headers=bearer(key), timeout=30) as http:

        def made(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            response = http.request(method, path, json=body)
            assert response.status_code in (200, 201), (path, response.text)
            return response.json()

        action = {"label": "Run", "url": "https://example.invalid/run", "key": "run"}
        event = made("POST", "/api/v1/events", {"project": "fuzz", "event": "seed", "actions": [action]})
        check = made("POST", "/api/v1/checks", {"project": "fuzz", "name": "nightly", "period": 3600})
        badge_key = made("GET", "/api/v1/check-projects/fuzz")["badge_key"]
        user = made("POST", "/api/v1/users", {"email": "ada@example.com", "name": "Ada"})
        made("POST", "/api/v1/teams", {"slug": "ops", "name": "Ops", "members": ["ada@example.com"]})
        made("POST", "/api/v1/sources", {"plugin": "github", "name": "gh", "project": "fuzz", "secrets": ["s" * 16]})
        keys = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}
        device = made(
            "POST",
            f"/api/v1/users/{user['id']}/push-subscriptions",
            {"endpoint": "https://push.invalid/x", "keys": keys},
        )
        # Someone for the session pass, whom the passes before it never name.
        sam = made("POST", "/api/v1/users", {"email": "sam@example.com", "name": "Sam"})
        sams_device = made(
            "POST",
            f"/api/v1/users/{sam['id']}/push-subscriptions",
            {"endpoint": "https://push.invalid/y", "keys": keys},
        )
    return {
        "event_id": event["id"],
        "key": "run",
        "project": "fuzz",
        "check_id": check["uuid"],
        "user": user["id"],
        "team": "ops",
        "plugin": "github",
        "name": "gh",
        "source": "gh",
        "subscription_id": device["id"],
        "badge_key": badge_key,
        "sam": sam["id"],
        "sams_device": sams_device["id"],
    }


def _seeded(template: str, things: dict[str, str]) -> dict[str, str]:
    """The path parameters naming existing things; `key` and `name` mean different things on a few routes."""
    values = dict(things)
    if template.startswith("/badge/"):
        values |= {"key": things["badge_key"], "name": "fuzz.svg"}  # the project's badge
    elif template.startswith("/api/v1/routes/"):
        values["name"] = "seed"
    return {name: values[name] for name in re.findall(r"\{([^}]+)\}", template)}


@seeded_schema.parametrize()
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_no_server_errors_on_things_that_exist(
    case: Case, fuzzed_hub: LiveHub, admin_key: str, things: dict[str, str]
) -> None:
    """Most bugs hide past the lookup: a 404 for a made-up id says nothing about the handler's validation."""
    case.path_parameters = _seeded(case.path, things)
    case.call_and_validate(
        base_url=fuzzed_hub.url, headers=bearer(admin_key), checks=[not_a_server_error, error_body_is_json]
    )


# The routes for the signed-in person (their password, their devices), fuzzed with a session rather than a key.
# Signing out is left out: it would end the session of the examples after it.
SESSION_PATHS = ["/api/v1/session", "/api/v1/session/password", "/api/v1/push/subscriptions"]
SESSION_PATHS += ["/api/v1/push/subscriptions/{subscription_id}/test"]
session_schema = schema.include(path=SESSION_PATHS).exclude(method="DELETE")
PASSWORD = "correct horse battery"


@pytest.fixture
def session(fuzzed_hub: LiveHub, things: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Sam signed in: the session cookie and the CSRF header. The password is set afresh for each test, as a
    fuzzed password change may have changed it."""
    fuzzed_hub.run(set_password(fuzzed_hub.hub.db, things["sam"], PASSWORD))
    signed_in = httpx.post(
        f"{fuzzed_hub.url}/api/v1/session", json={"email": "sam@example.com", "password": PASSWORD}, timeout=30
    )
    assert signed_in.status_code == 200, signed_in.text
    return {COOKIE: signed_in.cookies[COOKIE]}, {"X-CSRF-Token": signed_in.json()["csrf_token"]}


@session_schema.parametrize()
@hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
def test_no_server_errors_when_signed_in(
    case: Case, fuzzed_hub: LiveHub, things: dict[str, str], session: tuple[dict[str, str], dict[str, str]]
) -> None:
    """The web app's own routes answer a session only; with a key they stop at the 403."""
    if "subscription_id" in case.path_parameters:
        case.path_parameters = {"subscription_id": things["sams_device"]}
    cookies, csrf = session
    case.call_and_validate(
        base_url=fuzzed_hub.url, headers=csrf, cookies=cookies, checks=[not_a_server_error, error_body_is_json]
    )


# What schemathesis does not send, sent by hand to every operation: broken and hostile JSON, bodies of other
# media types and past the size limit, path and query values that are no text a client means, and no key or a
# garbled one. Deterministic: the same requests every run.
BROKEN_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b""),
    ("application/json", b'{"'),
    ("application/json", b"\xff\xfe{}"),
    ("application/json", b"[]"),
    ("application/json", b"null"),
    ("application/json", b'"text"'),
    ("application/json", b"1e999"),
    ("application/json", b'{"a": ' + b"9" * 5000 + b"}"),
    ("application/json", b'{"a": "\\ud800"}'),
    ("application/json", b"[" * 100_000),
    ("application/json; charset=utf-16", b"{}"),
    ("text/plain", b"hello"),
    ("application/x-www-form-urlencoded", b"a=1&b=2"),
    ("multipart/form-data", b"--x--"),
    ("no/such;;type==", b"{}"),
]
HOSTILE_VALUES = ["%C2%B3", "%00", "%FF", "%2e%2e", "-1", "9" * 40, "x" * 4000]
HOSTILE_QUERY = ["\x00", "³", "-1", "9" * 40, "NaN", "1e999", "x" * 2000, ""]
NO_KEY: list[dict[str, str | bytes]] = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Basic Og=="},
    {"Authorization": b"Bearer \xff\xb3"},
    {"Authorization": "Bearer " + "x" * 8000},
    {"Cookie": b"hub_session=\xff; hub_session=x", "X-CSRF-Token": b"\xb3"},
]
# Past the largest body limit (webhooks.max_body_bytes, 5 MiB), and so past every route's own.
TOO_LARGE = b'{"a": "' + b"x" * (5 * 1024 * 1024) + b'"}'


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, operation) for every operation the fuzz above covers."""
    return [
        (method.upper(), path, operation)
        for path, item in DOCUMENT["paths"].items()
        if path != "/api/v1/stream"
        for method, operation in item.items()
        if method in ("get", "put", "post", "delete", "patch", "head")
    ]


def _path(template: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, template)


def _problem(method: str, url: str, template: str, response: httpx.Response) -> str | None:
    """What is wrong with an answer to a bad request, if anything: a 5xx, or an error without a JSON message."""
    if response.status_code >= 500:
        return f"{method} {url[:200]} -> {response.status_code} {response.text[:200]}"
    if response.status_code < 400 or method == "HEAD" or template in PLAIN_TEXT_ERRORS:
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not says_why(body):
        return f"{method} {url[:200]} -> {response.status_code} without a JSON message: {response.text[:200]}"
    return None


def test_broken_bodies_hostile_values_and_no_key(fuzzed_hub: LiveHub, admin_key: str) -> None:
    """Every problem is collected, so one run lists them all."""
    problems: list[str] = []
    admin = bearer(admin_key)
    with httpx.Client(base_url=fuzzed_hub.url, timeout=30) as http:

        def send(method: str, template: str, url: str, **kwargs: Any) -> None:
            response = http.request(method, url, **kwargs)
            problem = _problem(method, url, template, response)
            if problem:
                problems.append(problem)

        for method, template, operation in _operations():
            plain = _path(template, "x")
            if "{" in template:
                for value in HOSTILE_VALUES:
                    send(method, template, _path(template, value), headers=admin)
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            for value in HOSTILE_QUERY if names else []:
                send(method, template, plain, params=[(name, value) for name in names for _ in range(2)], headers=admin)
            if method in ("POST", "PUT", "PATCH"):
                for media_type, body in [*BROKEN_BODIES, ("application/json", TOO_LARGE)]:
                    send(method, template, plain, content=body, headers={**admin, "Content-Type": media_type})
            for headers in NO_KEY:
                send(method, template, plain, headers=headers)
        # The live stream answers its headers at once when its filters are good; then it is left.
        stream_filters = [p["name"] for p in DOCUMENT["paths"]["/api/v1/stream"]["get"]["parameters"]]
        probes = [({name: value for name in stream_filters}, b"1") for value in HOSTILE_QUERY]
        probes += [({}, last_event_id) for last_event_id in (b"\xb3", b"-1", b"9" * 40, b"x" * 4000)]
        for params, last_event_id in probes:
            headers = {**admin, "Last-Event-ID": last_event_id}
            with http.stream("GET", "/api/v1/stream", params=params, headers=headers) as response:
                if response.status_code != 200:
                    response.read()
                    if problem := _problem("GET", str(response.url), "/api/v1/stream", response):
                        problems.append(problem)
        # The ping URLs are a mount of their own, outside the document.
        for method in ("GET", "POST", "HEAD", "PUT"):
            for value in HOSTILE_VALUES:
                for url in (f"/ping/{value}", f"/ping/{value}/{value}", f"/ping/{value}/{value}/{value}"):
                    send(method, "/ping", url, params={"rid": value, "create": "1"})
    assert not problems, "\n".join(problems)
