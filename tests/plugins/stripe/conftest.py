"""Stripe's published example payloads: the event envelopes and the resource objects to build more from."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fixture_paths import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "stripe"


@pytest.fixture(scope="session")
def stripe_events() -> dict[str, dict[str, Any]]:
    """The example event envelopes, by type."""
    return {
        path.stem: json.loads(path.read_text())
        for path in sorted(FIXTURES.glob("*.json"))
        if path.name != "resources.json"
    }


@pytest.fixture(scope="session")
def stripe_resources() -> dict[str, dict[str, Any]]:
    """Example objects of 23 resource types, to wrap in envelopes of further event types."""
    return json.loads((FIXTURES / "resources.json").read_text())
