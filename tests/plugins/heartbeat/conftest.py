"""A clock the tests move by hand, installed in the hub under test, and helpers to read what the hub stored."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hub_plugins.heartbeat.service import service
from litestar import Litestar


class ManualClock:
    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment

    def advance(self, seconds: float) -> datetime:
        self.current += timedelta(seconds=seconds)
        return self.current


@pytest.fixture
def clock(hub_app: Litestar) -> ManualClock:
    """The hub's heartbeat clock, starting at a whole second close to the real time."""
    manual = ManualClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10))
    service(hub_app.state.hub.context).clock = manual
    return manual


@pytest.fixture
def create_check(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Callable[..., Awaitable[dict]]:
    """Create a check through the API (defaults: `Nightly backup` in project `ops`) and return it."""

    async def create(**fields: Any) -> dict[str, Any]:
        body = {"name": "Nightly backup", "project": "ops", **fields}
        response = await client.post("/api/v1/checks", json=body, headers=admin_headers)
        assert response.status_code == 201, response.text
        return response.json()

    return create


@pytest.fixture
def stored_events(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> Callable[..., Awaitable[list]]:
    """The events stored in a project (default `ops`), oldest first."""

    async def read(project: str = "ops") -> list[dict[str, Any]]:
        page = (await client.get(f"/api/v1/events?project={project}&limit=200", headers=admin_headers)).json()
        return list(reversed(page["items"]))

    return read
