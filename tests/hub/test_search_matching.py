"""The live stream matches a search in memory: it must send what a search of the feed finds, no more, no less."""

# ruff: noqa: RUF001 (Cyrillic and Greek letters on purpose)

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
    EventIn(event="Café reopened", description="crème brûlée on the menu"),
    EventIn(event="Cafe menu changed"),
    EventIn(event="Webhook failed", content={"url": "https://hooks.example.org/api/v2/orders?id=7"}),
    EventIn(event="Blue-green deploy", description="v1.2.3 to /srv/app/releases", tags={"step": "db_migrate"}),
    EventIn(event="МОСКВА warehouse", description="ΑΘΉΝΑΣ route"),
    EventIn(event="İSTANBUL depot", description="Việt Nam shop, Ørsted wind farm"),
]
# Each search with the events it finds, on both back ends: words as SQLite's FTS5 reads them.
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
    ("ORDER", {"Order paid", "Webhook failed"}),  # "orders" in a URL
    ("shipped crate", {"Pineapple shipped"}),
    ("shipped crat paid", set()),
    ("straße", {"Straße closed"}),
    ("strasse", set()),  # no full case folding
    ("αθήνα", {"Straße closed", "МОСКВА warehouse"}),
    ("αθηνα", set()),  # accents are dropped from Latin letters only
    ("αθήνας", {"МОСКВА warehouse"}),  # a final sigma is a sigma
    ("москва", {"МОСКВА warehouse"}),
    ("МОСК", {"МОСКВА warehouse"}),
    # Accents of Latin letters, both ways, in any case.
    ("zurich", {"Zürich office opened"}),
    ("ZURICH office", {"Zürich office opened"}),
    ("ZÜRICH office", {"Zürich office opened"}),
    ("cafe", {"Café reopened", "Cafe menu changed"}),
    ("CAFÉ menu", {"Café reopened", "Cafe menu changed"}),
    ("creme brulee", {"Café reopened"}),
    ("brûlée", {"Café reopened"}),
    ("istanbul", {"İSTANBUL depot"}),
    ("việt", {"İSTANBUL depot"}),  # a letter with two accents keeps them, as in FTS5
    ("viet", set()),
    ("ørsted", {"İSTANBUL depot"}),  # no accent to take off: ø is a letter of its own
    ("orsted", set()),
    # E-mail addresses, URLs, paths, versions, hyphens and underscores are split into words.
    ("alice", {"Order paid"}),
    ("example", {"Order paid", "Webhook failed"}),
    ("alice@example.com", {"Order paid"}),
    ("example.com", {"Order paid"}),
    ("hooks.example.org", {"Webhook failed"}),
    ("orders", {"Webhook failed"}),
    ("api v2", {"Webhook failed"}),
    ("https://hooks.example.org/api", {"Webhook failed"}),
    ("releases", {"Blue-green deploy"}),
    ("/srv/app", {"Blue-green deploy"}),
    ("green", {"Blue-green deploy"}),
    ("blue-green", {"Blue-green deploy"}),
    ("migrate", {"Blue-green deploy"}),
    ("db_migrate", {"Blue-green deploy"}),
    ("v1.2.3", {"Blue-green deploy"}),
    ("v1", {"Blue-green deploy"}),
    ("v2", {"Webhook failed"}),
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
