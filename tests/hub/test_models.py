"""Property tests: whatever JSON arrives, decoding and drafting an event either works or is a clean 400."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.ingest import draft_from_input
from hub.models import MAX_CONTENT_BYTES, EventIn, ValidationProblem, slugify

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=300),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=30,
)
FIELDS = [
    "event",
    "project",
    "channel",
    "description",
    "parser",
    "icon",
    "notify",
    "tags",
    "content",
    "user_id",
    "timestamp",
    "severity",
    "test",
    "actions",
    "context_id",
    "context_start",
    "idempotency_key",
    "other",
]
bodies = st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=10)


@settings(max_examples=400, deadline=None)
@given(body=bodies)
def test_any_object_is_either_an_event_or_a_validation_error(body):
    raw = msgspec.json.encode(body)
    try:
        event = msgspec.json.decode(raw, type=EventIn)
        draft = draft_from_input(event, project="p", source="api", received_at=datetime.now(UTC))
    except (msgspec.ValidationError, ValidationProblem):
        return
    assert 1 <= len(draft.event) <= 250
    assert len(msgspec.json.encode(draft.content)) <= MAX_CONTENT_BYTES
    assert draft.channel == draft.channel.lower()
    assert len(draft.tags or {}) <= 32


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200))
def test_any_bytes_are_either_an_event_or_a_clean_error(raw):
    try:
        msgspec.json.decode(raw, type=EventIn)
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass


@settings(max_examples=200, deadline=None)
@given(icon=st.text(min_size=1, max_size=8))
def test_icons_are_one_emoji_or_a_shortcode(icon):
    try:
        event = EventIn(event="x", icon=icon)
    except ValueError:
        return
    import emoji

    assert emoji.is_emoji(event.icon) or (event.icon.startswith(":") and event.icon.endswith(":"))


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Nightly DB backup", "nightly-db-backup"),
        ("Zürich Backup", "zurich-backup"),
        ("Straße & Co.", "strasse-co"),
        ("  -Hello--World- ", "hello-world"),
        ("日本のバックアップ", ""),
    ],
)
def test_slugify_keeps_latin_letters_of_any_accent(name, slug):
    assert slugify(name) == slug


def test_time_zones_are_known_where_the_system_has_no_zone_data():
    """A slim container image or Windows has no /usr/share/zoneinfo: no zone, not even UTC, could be named in a
    check, a rule or a person's settings. The `tzdata` package is zoneinfo's fallback."""
    program = "from hub.models import time_zone; print(time_zone('UTC', 'tz'), time_zone('Europe/Berlin', 'tz'))"
    environment = {**os.environ, "PYTHONTZPATH": os.devnull}  # zoneinfo looks nowhere on the system
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=environment, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["UTC", "Europe/Berlin"]
