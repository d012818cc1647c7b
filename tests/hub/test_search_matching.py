"""The live stream matches a search in memory: it must send what a search of the feed finds, no more, no less."""

# ruff: noqa: RUF001 (Cyrillic and Greek letters on purpose)

from __future__ import annotations

import re
import unicodedata

import pytest
from sqlalchemy import text

from hub.db.events import EventFilter, _words, list_events
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
    # Strings holding what JSON writes as escapes: line breaks, tabs, quotes, backslashes, a control character.
    EventIn(
        event="Worker crashed",
        content={"trace": 'Traceback:\nValueError: disk\tfull\r\n"quoted"', "log": "\x1b[31mFAILED\x1b[0m C:\\new"},
        tags={"note": "first line\nsecondline"},
    ),
]
# Each search with the events it finds, on both back ends: words as SQLite's FTS5 reads them.
SEARCHES = [
    # A string's words are those of its text: the JSON escape before a word (`\nValueError`) is no part of it.
    ("valueerror", {"Worker crashed"}),
    ("disk full", {"Worker crashed"}),
    ("secondline", {"Worker crashed"}),
    ("quoted", {"Worker crashed"}),
    ("new", {"Worker crashed"}),  # after a backslash that is text (C:\new), not an escape's
    ("nvalueerror", set()),
    ("tfull", set()),
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


async def test_the_stream_matches_what_a_feed_search_finds(hub):
    """Every search against one set of stored events (a hub each cost 0.3 s a search); each mismatch is listed as
    `q: (expected, found by the feed, sent by the stream)`."""
    stored = await hub.ingestor.store(
        [draft_from_input(e, project="shop", source="api", received_at=now_utc()) for e in EVENTS]
    )
    wrong = {}
    async with hub.db.reader.connect() as conn:
        for q, expected in SEARCHES:
            search = EventFilter(q=q)
            found, _ = await list_events(conn, hub.db, hub.projects, search, None, 50)
            in_feed = {e.event for e in found}
            in_stream = {r.event.event for r in stored if search.matches(r.event)}
            if in_feed != expected or in_stream != expected:
                wrong[q] = (expected, in_feed, in_stream)
    assert wrong == {}


# Every character of the Basic Multilingual Plane that Unicode 3.2 assigned (so a newer Python's new letters are
# not counted against a column built with Unicode 14.0), inside a word, alone, and after a capital letter.
CHARACTERS = [chr(c) for c in range(0x21, 0x10000) if unicodedata.ucd_3_2_0.category(chr(c)) not in ("Cn", "Cs")]


def _fts5_knows_better(char: str) -> bool:
    """Where SQLite's FTS5 (Unicode 6.1 tables, no normalization) reads words otherwise than the hub's rule."""
    return (
        # Private use characters and "other numbers" (`²`, `½`, `①`) are word characters to FTS5; it drops some
        # lone combining marks inside a word, the rule only an accent on an ASCII letter.
        unicodedata.category(char) in ("Co", "No", "Mn")
        # The rule composes text first (NFC): Greek oxia U+1F71 is tonos U+03AC, U+F900 is U+8C48.
        or unicodedata.normalize("NFC", char) != char
        or "CHEROKEE" in unicodedata.name(char, "")  # lower case came in Unicode 8.0, after FTS5's tables
    )


async def test_the_database_splits_and_folds_every_character_as_the_stream_does(hub):
    """The rule the stream matches by (`_words`) against the database's own: PostgreSQL's `search` column as the
    migrations built it, character for character; SQLite's FTS5 tokenizer as events_fts is configured, except
    where FTS5's Unicode tables differ (see `_fts5_knows_better`)."""
    texts = [f"x{c}y {c} Ab{c}" for c in CHARACTERS]
    async with hub.db.writer.begin() as conn:
        if hub.db.is_sqlite:
            texts = [t for t, c in zip(texts, CHARACTERS, strict=True) if not _fts5_knows_better(c)]
            definition = (
                await conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'events_fts'")
            ).scalar()
            tokenize = re.search(r"tokenize\s*=\s*'[^']*'", definition).group(0)
            await conn.exec_driver_sql(f"CREATE VIRTUAL TABLE temp.probe USING fts5(t, {tokenize})")
            await conn.exec_driver_sql("CREATE VIRTUAL TABLE temp.probe_words USING fts5vocab(probe, 'instance')")
            await conn.exec_driver_sql("INSERT INTO temp.probe(rowid, t) VALUES (?, ?)", list(enumerate(texts)))
            rows = (await conn.exec_driver_sql("SELECT doc, term FROM temp.probe_words")).all()
            found = [texts[doc] for doc, _ in rows], [term for _, term in rows]
        else:
            expression = (
                await conn.execute(
                    text(
                        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
                        "ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
                        "WHERE d.adrelid = 'events'::regclass AND a.attname = 'search'"
                    )
                )
            ).scalar_one()
            rows = (
                await conn.execute(
                    text(
                        f"SELECT t, unnest(tsvector_to_array({expression})) FROM (SELECT t, t AS event, "
                        "NULL::text AS description, NULL::json AS tags, NULL::json AS content "
                        "FROM unnest(CAST(:texts AS text[])) AS t) AS events"
                    ),
                    {"texts": texts},
                )
            ).all()
            found = [t for t, _ in rows], [word for _, word in rows]
    database: dict[str, set[str]] = {t: set() for t in texts}
    for t, word in zip(*found, strict=True):
        database[t].add(word)
    differences = {t: (words, set(_words(t))) for t, words in database.items() if words != set(_words(t))}
    assert differences == {}


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
