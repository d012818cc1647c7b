"""GitHub's published example deliveries, signed exactly as GitHub signs them (independently of the plugin)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fixture_paths import FIXTURES as ALL_FIXTURES
from hub_plugins.github.source import GitHubSource

from hub.pluginapi import Delivery, EventIn, WebhookRequest

FIXTURES = ALL_FIXTURES / "github"
SECRET = "s3cret-for-tests"


def event_of(path: Path) -> str:
    """The `X-GitHub-Event` of a fixture: its file name up to the first dot."""
    return path.name.split(".", 1)[0]


FIXTURE_PATHS = sorted(FIXTURES.glob("*.json"))


def github_headers(
    body: bytes, event: str, *, secret: str = SECRET, delivery: str | None = None, form: bool = False
) -> dict[str, str]:
    """The headers GitHub sends with a delivery (lower-case, as the hub hands them to sources)."""
    return {
        "content-type": "application/x-www-form-urlencoded" if form else "application/json",
        "user-agent": "GitHub-Hookshot/044aadd",
        "x-github-event": event,
        "x-github-delivery": delivery or str(uuid.uuid4()),
        "x-github-hook-id": "109948940",
        "x-hub-signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


def webhook_request(body: bytes, headers: dict[str, str]) -> WebhookRequest:
    return WebhookRequest(
        plugin="github",
        source="main",
        method="POST",
        headers=headers,
        query={},
        body=body,
        received_at=datetime.now(UTC),
    )


def valid(event: EventIn) -> EventIn:
    """The event as the hub's validation sees it (constructing a Struct does not check its constraints)."""
    return msgspec.convert(msgspec.to_builtins(event), EventIn)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking `fixture_path` runs once per example delivery, named by its file."""
    if "fixture_path" in metafunc.fixturenames:
        metafunc.parametrize("fixture_path", FIXTURE_PATHS, ids=[path.name for path in FIXTURE_PATHS])


@pytest.fixture(scope="session")
def sign() -> Callable[..., dict[str, str]]:
    return github_headers


@pytest.fixture(scope="session")
def make_request() -> Callable[[bytes, dict[str, str]], WebhookRequest]:
    return webhook_request


@pytest.fixture(scope="session")
def check() -> Callable[[EventIn], EventIn]:
    return valid


@pytest.fixture(scope="session")
def bodies() -> dict[str, bytes]:
    """Each example delivery body, byte for byte, by event name (one example per event type)."""
    return {event_of(path): path.read_bytes() for path in FIXTURE_PATHS}


@pytest.fixture(scope="session")
def payloads(bodies: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {event: json.loads(body) for event, body in bodies.items()}


@pytest.fixture(scope="session")
def payload(payloads: dict[str, dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """A fresh copy of an event's example payload, to change for one test."""
    return lambda event: copy.deepcopy(payloads[event])


@pytest.fixture(scope="session")
def deliver() -> Callable[..., Delivery]:
    """Verify and parse one delivery through the source, as the hub does; returns the `Delivery`."""
    source = GitHubSource()

    def run(event: str, body: dict[str, Any] | bytes, secrets: tuple[str, ...] = (SECRET,)) -> Delivery:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = webhook_request(raw, github_headers(raw, event))
        source.verify(request, secrets)
        return source.parse(request)

    return run


@pytest.fixture(scope="session")
def render(deliver: Callable[..., Delivery]) -> Callable[..., EventIn]:
    """The one valid event a delivery becomes."""

    def run(event: str, body: dict[str, Any] | bytes) -> EventIn:
        delivery = deliver(event, body)
        assert len(delivery.events) == 1
        return valid(delivery.events[0])

    return run
