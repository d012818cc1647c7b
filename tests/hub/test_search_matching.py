"""The live stream matches a search in memory: it must send what a search of the feed finds, no more, no less."""

from __future__ import annotations

import pytest

from hub.db.events import EventFilter, list_events
from hub.ingest import draft_from_input
from hub.models import EventIn, now_utc

EVENTS = [
    EventIn(event="Zürich office opened", tags={"city": "Zürich"}),
    EventIn(event="Straße closed", description="Αθήνα branch"),
    EventIn(event="Pineapple shipped", description="two crates"),
    EventIn(event="Order paid", content={"customer": {"email": "alice@example.com"}, "total": 42}),
    EventIn(event="Backup finished", description="nightly run took 42 s"),
]
# Each search with the events it finds, on both back ends.
SEARCHES = [
    ("pine", {"Pineapple shipped"}),  # the last word is a prefix...
    ("ple", set()),  # ...of a word, not any part of one
    ("apple", set()),
    ("office zü", {"Zürich office opened"}),
    ("zü office", set()),  # only the last word is a prefix
    ("city", {"Zürich office opened"}),  # tag keys are words too
    ("customer", {"Order paid"}),
    ("42", {"Order paid", "Backup finished"}),
    ("crates two", {"Pineapple shipped"}),
    ("ORDER", {"Order paid"}),
    ("shipped crate", {"Pineapple shipped"}),
    ("shipped crat paid", set()),
    ("straße", {"Straße closed"}),
    ("strasse", set()),  # no full case folding
    ("αθήνα", {"Straße closed"}),
    ("αθηνα", set()),  # accents are dropped from Latin letters only
]


@pytest.mark.parametrize(("q", "expected"), SEARCHES)
async def test_the_stream_matches_what_a_feed_search_finds(hub, q, expected):
    stored = await hub.ingestor.store(
        [draft_from_input(e, project="shop", source="api", received_at=now_utc()) for e in EVENTS]
    )
    search = EventFilter(q=q)
    async with hub.db.reader.connect() as conn:
        found, _ = await list_events(conn, hub.db, hub.projects, search, None, 50)
    assert {e.event for e in found} == expected
    assert {r.event.event for r in stored if search.matches(r.event)} == expected


async def test_accents_matter_in_the_stream_where_they_do_in_the_feed(hub):
    """SQLite's full-text search ignores accents, PostgreSQL's does not."""
    [stored] = await hub.ingestor.store(
        [draft_from_input(EVENTS[0], project="shop", source="api", received_at=now_utc())]
    )
    accents_matter = not hub.db.is_sqlite
    for q in ("zurich", "ZURICH office", "zürich", "ZÜRICH office"):  # FTS5 folds Latin accents only
        search = EventFilter(q=q, accents_matter=accents_matter)
        async with hub.db.reader.connect() as conn:
            found, _ = await list_events(conn, hub.db, hub.projects, search, None, 50)
        expected = "ü" in q.lower() or not accents_matter
        assert bool(found) == search.matches(stored.event) == expected, q


@pytest.mark.parametrize(
    ("severity", "child_listed"), [(["critical"], True), (["warning", "critical"], True), (["info", "critical"], False)]
)
async def test_the_stream_sends_a_context_child_when_the_feed_lists_it(hub, severity, child_listed):
    received_at = now_utc()
    [parent, child] = await hub.ingestor.store(
        [
            draft_from_input(
                EventIn(event=name, severity=level, context_id="deploy-9"),
                project="shop",
                source="api",
                received_at=received_at,
            )
            for name, level in [("Deploy started", "info"), ("Deploy failed", "critical")]
        ]
    )
    assert child.event.parent_id == parent.event.id
    f = EventFilter(severity=severity)
    async with hub.db.reader.connect() as conn:
        found, _ = await list_events(conn, hub.db, hub.projects, f, None, 50)
    assert ("Deploy failed" in {e.event for e in found}) == f.matches(child.event) == child_listed
