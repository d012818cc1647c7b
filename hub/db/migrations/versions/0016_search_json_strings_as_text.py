"""full-text search reads the strings in tags and content as their text, not as JSON escapes

Search indexes `tags` and `content` as the JSON text the hub stores, where a line break inside a string is the two
characters `\\n`: the backslash parted words, the letter stayed, and the word after it was indexed glued to it
(`nValueError`), so `q=ValueError` missed every stack trace. Each of these escapes (`\\n`, `\\t`, `\\\\`...)
now reads as a space, as the character it stands for does: none of them is a letter or a digit.
hub.db.events.json_as_text is the rule, the live stream's too.

On SQLite the FTS5 triggers index the text so, and every event's words are indexed anew (FTS5's `rebuild` would
read the columns as stored, so the index is emptied and filled from a SELECT). The index no longer holds the
stored text word for word where a string has such an escape: FTS5's `rebuild`, and its `integrity-check` with a
rank of 1, which compare the two, are not for this table (the hub runs neither). On PostgreSQL `search` is dropped
and added again with the new expression, in one statement that rewrites the events table under a lock that holds
its reads and writes until it is done (as migrations 0009 and 0014 did), and its GIN index is rebuilt.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The escapes read as spaces: a backslash first, so that the `\t` of `\\t` (a backslash, then the letter t) is not
# read as a tab; then the line breaks, tabs and the rest of C's escapes msgspec writes. Other control characters,
# which msgspec writes as `\u00XX`, are rare in text and left as they are, their hex digits glued to the word after
# them (as ESC's `[31m` is in its text anyway); SQLite's parser takes only a short nesting of replace() calls. A
# quote's `\"` parts words as it is.
ESCAPES = ["\\\\", "\\n", "\\r", "\\t", "\\b", "\\f"]
PATTERN = r"\\[\\nrtbf]"  # the same, as a regular expression

PLAIN = "coalesce(event, '') || ' ' || coalesce(description, '')"
JSON = "coalesce(tags::text, '') || ' ' || coalesce(content::text, '')"
OLD_SEARCH = f"hub_search_vector({PLAIN} || ' ' || {JSON})"
NEW_SEARCH = f"hub_search_vector({PLAIN}, {JSON})"

# A PL/pgSQL function, as hub_search_vector(text) is, and for the same reason (see migration 0009): literals in
# the column's own expression are read again at every statement that writes events.
SEARCH_VECTOR_OF_JSON = rf"""CREATE FUNCTION hub_search_vector(plain text, json_text text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $body$
BEGIN
    IF strpos(json_text, '\') > 0 THEN
        json_text := regexp_replace(json_text, '{PATTERN}', ' ', 'g');
    END IF;
    RETURN hub_search_vector(plain || ' ' || json_text);
END
$body$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _index_sqlite(_as_text)
    else:
        op.execute(SEARCH_VECTOR_OF_JSON)
        _replace_search(NEW_SEARCH)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _index_sqlite(lambda column: column)
    else:
        _replace_search(OLD_SEARCH)
        op.execute("DROP FUNCTION hub_search_vector(text, text)")


def _as_text(column: str) -> str:
    """SQL for the JSON text in `column` with each escape a space (SQLite has no regular expressions)."""
    replaced = column
    for escape in ESCAPES:
        replaced = f"replace({replaced}, '{escape}', ' ')"
    return f"CASE WHEN instr({column}, '\\') > 0 THEN {replaced} ELSE {column} END"


def _index_sqlite(read: Callable[[str], str]) -> None:
    """The FTS5 triggers, indexing tags and content as `read` gives them, and every event indexed so anew. (The SQL
    is this file's own: ruff's S608 has no user input to guard against here.)"""
    columns = "rowid, event, description, tags, content"
    inserted = f"new.id, new.event, new.description, {read('new.tags')}, {read('new.content')}"
    deleted = f"'delete', old.id, old.event, old.description, {read('old.tags')}, {read('old.content')}"
    every = f"id, event, description, {read('tags')}, {read('content')}"
    op.execute("DROP TRIGGER events_fts_insert")
    op.execute("DROP TRIGGER events_fts_delete")
    on_insert = f"INSERT INTO events_fts({columns}) VALUES ({inserted})"  # noqa: S608
    on_delete = f"INSERT INTO events_fts(events_fts, {columns}) VALUES ({deleted})"  # noqa: S608
    op.execute(f"CREATE TRIGGER events_fts_insert AFTER INSERT ON events BEGIN {on_insert}; END")
    op.execute(f"CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN {on_delete}; END")
    op.execute("INSERT INTO events_fts(events_fts) VALUES ('delete-all')")
    op.execute(f"INSERT INTO events_fts({columns}) SELECT {every} FROM events")  # noqa: S608


def _replace_search(expression: str) -> None:
    column = f"search tsvector GENERATED ALWAYS AS ({expression}) STORED"
    # One statement, so one rewrite of the table; the index on the old column goes with it.
    op.execute(f"ALTER TABLE events DROP COLUMN search, ADD COLUMN {column}")
    op.execute("CREATE INDEX ix_events_search ON events USING gin (search)")
