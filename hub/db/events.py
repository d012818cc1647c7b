"""Reading events: rows to wire objects, the project directory, keyset-paginated feed queries and timeline summaries."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import Select, case, column, exists, func, literal_column, select, table, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.db import schema
from hub.db.dialect import insert_ignore
from hub.db.engine import Database
from hub.ids import first_id_at, id_time
from hub.models import (
    MAX_FUTURE,
    SEVERITIES,
    ActionOut,
    EventOut,
    FeedEvent,
    Timeline,
    TimelineChange,
    ValidationProblem,
    tag_text,
)

MAX_PAGE = 200
MAX_CHILDREN = 500
MIN_SEARCH_CHUNK = 256
MAX_SEARCH_CHUNK = 16_000
# An id's time part is whole milliseconds, and may lag `received_at` by one.
ID_TIME_SLACK = timedelta(seconds=1)


class ProjectDirectory:
    """Project slug <-> id, cached: projects are created once and never renamed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._ids: dict[str, int] = {}
        self._slugs: dict[int, str] = {}

    def forget(self) -> None:
        self._ids.clear()
        self._slugs.clear()

    async def ensure(self, conn: AsyncConnection, slugs: Iterable[str], now: datetime) -> dict[str, int]:
        """Ids for these slugs, creating the projects that do not exist yet (inside the caller's transaction)."""
        wanted = set(slugs)
        missing = wanted - self._ids.keys()
        if missing:
            for slug in sorted(missing):
                await conn.execute(insert_ignore(self.db, schema.projects, {"slug": slug, "created_at": now}))
            await self._load(conn, missing)
        return {slug: self._ids[slug] for slug in wanted}

    async def lookup(self, conn: AsyncConnection, slug: str) -> int | None:
        if slug not in self._ids:
            await self._load(conn, {slug})
        return self._ids.get(slug)

    async def slug(self, conn: AsyncConnection, project_id: int) -> str:
        if project_id not in self._slugs:
            row = (await conn.execute(select(schema.projects.c.slug).where(schema.projects.c.id == project_id))).one()
            self._remember(row.slug, project_id)
        return self._slugs[project_id]

    async def _load(self, conn: AsyncConnection, slugs: set[str]) -> None:
        p = schema.projects.c
        for row in await conn.execute(select(p.id, p.slug).where(p.slug.in_(slugs))):
            self._remember(row.slug, row.id)

    def _remember(self, slug: str, project_id: int) -> None:
        self._ids[slug] = project_id
        self._slugs[project_id] = slug


def event_from_row(row: Mapping[str, Any], project: str) -> EventOut:
    actions = [msgspec.convert(a, ActionOut, strict=False) for a in row["actions"] or ()]
    return EventOut(
        id=str(row["id"]),
        project=project,
        channel=row["channel"],
        event=row["event"],
        description=row["description"],
        parser=row["parser"],
        icon=row["icon"],
        notify=row["notify"],
        severity=row["severity"],
        tags=row["tags"] or {},
        content=row["content"],
        user_id=row["user_id"],
        actions=actions,
        context_id=row["context_id"],
        parent_id=str(row["parent_id"]) if row["parent_id"] is not None else None,
        source=row["source"],
        test=row["test"],
        created_at=row["created_at"],
        received_at=row["received_at"],
    )


class EventFilter(msgspec.Struct, kw_only=True):
    """What the read API and the stream filter on; every field optional."""

    project_ids: list[int] | None = None  # None: every project the caller may see
    project: str | None = None  # the same project by slug, for matching events in memory
    visible: frozenset[str] | None = None  # slugs the caller may see (None: no such limit), in memory too
    channel: str | None = None
    tags: list[tuple[str, str]] = []
    user_id: str | None = None
    severity: list[str] = []
    since: datetime | None = None
    until: datetime | None = None
    test: bool = False
    q: str | None = None

    @property
    def only_alerts(self) -> bool:
        """A severity filter without `info`: warnings and criticals, which an index of their own serves."""
        return bool(self.severity) and "info" not in self.severity

    @property
    def reaches_children(self) -> bool:
        """Searches, tag/user filters and alert filters find context children too (a deploy timeline's failed
        step is listed under Critical); plain feeds list only top-level cards."""
        return bool(self.q or self.tags or self.user_id or self.only_alerts)

    def in_scope(self, event: EventOut) -> bool:
        """Whether the event is of the projects (and test mode) this filter lists, whatever its other fields."""
        if self.project is not None and event.project != self.project:
            return False
        if self.visible is not None and event.project not in self.visible:
            return False
        return event.test == self.test

    def matches(self, event: EventOut) -> bool:
        """The same filter, applied in memory to a freshly stored event (for the live stream)."""
        if not self.in_scope(event) or (event.parent_id and not self.reaches_children):
            return False
        if self.channel and event.channel != self.channel:
            return False
        if self.user_id and event.user_id != self.user_id:
            return False
        if self.severity and event.severity not in self.severity:
            return False
        if any(key not in event.tags or tag_text(event.tags[key]) != value for key, value in self.tags):
            return False
        if self.q:
            tags, content = msgspec.json.encode(event.tags).decode(), msgspec.json.encode(event.content).decode()
            text = " ".join([event.event, event.description or "", json_as_text(tags), json_as_text(content)])
            return _matches_words(self.q, text)
        return True


# A JSON text's escapes of backslashes, line breaks and tabs, each read as a space (as what it stands for): the
# words of a string in tags or content are those of its text, not `nvalueerror` out of "...\nValueError". The
# rule of both databases' search too (migration 0016 says why these escapes).
_JSON_ESCAPE = re.compile(r"\\[\\nrtbf]")


def json_as_text(json_text: str) -> str:
    return _JSON_ESCAPE.sub(" ", json_text) if "\\" in json_text else json_text


def search_terms(q: str) -> list[str]:
    return _words(q)


def _matches_words(q: str, text: str) -> bool:
    """`q` as the full-text search reads it: every word must be a word of `text`, the last one the beginning of
    one (words as `_words` finds them, the rule of both databases' search). So the live stream sends what a search
    of the feed would find."""
    *whole, last = _words(q) or [""]
    words = set(_words(text))
    return all(term in words for term in whole) and any(word.startswith(last) for word in words)


# The one rule for words, as SQLite's FTS5 `unicode61` tokenizer reads text and PostgreSQL's `search` column is
# built (migration 0009 spells it in SQL; change one and the other must follow, in a new migration):
# - case is folded: lower case, plus the letters FTS5 also folds (final sigma, long s, micro sign, Greek symbols);
# - a Latin letter carrying one accent loses it (`é` -> `e`, not `ǖ`, `ø`, `ß`, `æ` or Greek `ή`, as in FTS5);
# - words are runs of letters and digits (Unicode L*, Nd and Nl), in any script; anything else separates them,
#   including `@ . - _ /` and other numbers (`²`, `½`, `①`), which PostgreSQL's parser cannot keep in a word.
_FOLD_CASE = str.maketrans("µſςϐϑϕϖϰϱϵẛι", "μsσβθφπκρεsι")  # noqa: RUF001 (Greek letters on purpose)
_ONE_ACCENT = re.compile(r"([a-zA-Z])[\u0300-\u036f](?![\u0300-\u036f])")
_WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    text = text.lower()  # not casefold(): FTS5 keeps "ß", it does not read "strasse"
    if text.isascii():
        return _WORD.findall(text)
    text = unicodedata.normalize("NFD", text.translate(_FOLD_CASE))
    text = unicodedata.normalize("NFC", _ONE_ACCENT.sub(r"\1", text))
    return _WORD.findall(text.translate(_OTHER_NUMBERS))


class _OtherNumbersToSpaces(dict[int, str]):
    """A `str.translate` table, filled as characters come: `²`, `½`, `①` (Unicode No) become spaces."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        self[code] = value = " " if unicodedata.category(char) == "No" else char
        return value


_OTHER_NUMBERS = _OtherNumbersToSpaces()


def encode_cursor(created_at: datetime, event_id: int) -> str:
    raw = f"{created_at.isoformat()}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, name: str = "cursor") -> tuple[datetime, int]:
    """The (time, id) a cursor from `encode_cursor` holds; a forged one must not reach the database, where an
    id past 64 bits or a time without an offset would fail as a 500."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        text, number = raw.split("|")
        when, row_id = datetime.fromisoformat(text), int(number)
        if when.tzinfo is None or not 0 <= row_id < 2**63:
            raise ValueError(raw)
        return when.astimezone(UTC), row_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise ValidationProblem(f"`{name}` is not a cursor this API returned", name) from None


def required_terms(q: str) -> list[str]:
    terms = search_terms(q)
    if not terms:
        raise ValidationProblem("`q` must contain at least one letter or digit", "q")
    return terms


def _fts_query(q: str) -> str:
    """User text to an FTS5 query: every word must appear, the last one as a prefix; no syntax to break."""
    quoted = [f'"{t}"' for t in required_terms(q)]
    quoted[-1] += "*"
    return " AND ".join(quoted)


def _tsquery(q: str) -> str:
    """The same for PostgreSQL's to_tsquery, over the `search` column built by the same rule (migration 0009).
    Words are letters and digits only, so none of its operators get through."""
    terms = required_terms(q)
    return " & ".join([*terms[:-1], terms[-1] + ":*"])


def _conditions(f: EventFilter, order_time: Any, *, all_tags: bool) -> list[Any]:
    """The filter as WHERE conditions; the first tag is left out unless `all_tags` (the feed joins on it)."""
    e = schema.events.c
    t = schema.event_tags.c
    conditions = [e.test == f.test]
    for key, value in f.tags if all_tags else f.tags[1:]:
        conditions.append(exists().where(t.event_id == e.id, t.key == key, t.value == value))
    if not f.reaches_children:
        conditions.append(e.parent_id.is_(None))
    if f.project_ids is not None:
        conditions.append(e.project_id.in_(f.project_ids))
    if f.channel:
        conditions.append(e.channel == f.channel)
    if f.user_id:
        conditions.append(e.user_id == f.user_id)
    if f.severity:
        conditions.append(e.severity.in_(f.severity))
    if f.only_alerts:
        # Spelled as the alert indexes' own condition, a literal, so both databases see that they apply.
        conditions.append(text(f"events.{schema.ALERTS}"))
    if f.since:
        conditions.append(order_time >= f.since)
    if f.until:
        conditions.append(order_time < f.until)
    return conditions


def _after_cursor(cursor: str | None, order_time: Any, order_id: Any) -> list[Any]:
    if not cursor:
        return []
    when, last_id = decode_cursor(cursor)
    # A row-value comparison, so both databases seek the (created_at, id) index instead of scanning it.
    return [tuple_(order_time, order_id) < tuple_(when, last_id)]


def feed_query(db: Database, f: EventFilter, cursor: str | None, limit: int) -> Select[Any]:
    """One page of the feed (no search): newest `created_at` first, straight from an index."""
    e = schema.events.c
    order_time, order_id = e.created_at, e.id
    query = select(schema.events)
    if f.tags:
        # The first tag drives the scan through its own (key, value, created_at) index.
        first = schema.event_tags.alias("t0")
        query = query.join(first, first.c.event_id == e.id).where(
            first.c.key == f.tags[0][0], first.c.value == f.tags[0][1]
        )
        order_time, order_id = first.c.created_at, first.c.event_id
    conditions = _conditions(f, order_time, all_tags=False) + _after_cursor(cursor, order_time, order_id)
    return query.where(*conditions).order_by(order_time.desc(), order_id.desc()).limit(limit + 1)


_fts = table("events_fts", column("rowid"))


def search_chunk_query(
    db: Database, f: EventFilter, cursor: str | None, below_id: int | None, size: int
) -> Select[Any]:
    """Ids and times of matches of `f.q` (and the rest of the filter), newest id first, below `below_id`."""
    e = schema.events.c
    assert f.q
    conditions = _conditions(f, e.created_at, all_tags=True) + _after_cursor(cursor, e.created_at, e.id)
    if db.is_sqlite:
        # FTS5 drives: it yields its matches in descending rowid order, so LIMIT stops it early.
        query = select(e.id, e.created_at).select_from(_fts.join(schema.events, e.id == _fts.c.rowid))
        conditions.append(text("events_fts MATCH :fts").bindparams(fts=_fts_query(f.q)))
        id_column = _fts.c.rowid
    else:
        query = select(e.id, e.created_at)
        conditions.append(literal_column("events.search").op("@@")(func.to_tsquery("simple", _tsquery(f.q))))
        id_column = e.id
    if below_id is not None:
        conditions.append(id_column < below_id)
    if f.since and f.since > id_time(0) + MAX_FUTURE + ID_TIME_SLACK:
        # No event received before this can be stamped `since` or later: the walk ends there, not at the first id.
        conditions.append(id_column >= first_id_at(f.since - MAX_FUTURE - ID_TIME_SLACK))
    return query.where(*conditions).order_by(id_column.desc()).limit(size)


async def _search_rows(
    conn: AsyncConnection, db: Database, f: EventFilter, cursor: str | None, limit: int
) -> list[Mapping[str, Any]]:
    """The newest `limit + 1` matches by `created_at`, found by walking matches newest id first.

    Sorting every match by `created_at` costs as much as there are matches (a common word: most of the table).
    Ids hold the time the event was received, and `created_at` is at most MAX_FUTURE after it, so once the
    walk reaches ids too old to beat the page's last row, no later match can, and the walk stops. Each step
    costs a whole prefix lookup in FTS5, so the first one asks for several pages' worth of ids.
    """
    wanted = limit + 1
    found: list[tuple[datetime, int]] = []
    below_id: int | None = None
    size = max(4 * wanted, MIN_SEARCH_CHUNK)
    while True:
        chunk = (await conn.execute(search_chunk_query(db, f, cursor, below_id, size))).all()
        found = sorted([*found, *((created_at, event_id) for event_id, created_at in chunk)], reverse=True)[:wanted]
        if len(chunk) < size:
            break
        below_id = chunk[-1][0]
        if len(found) == wanted and id_time(below_id) + MAX_FUTURE + ID_TIME_SLACK <= found[-1][0]:
            break
        size = min(size * 4, MAX_SEARCH_CHUNK)
    if not found:
        return []
    ids = [event_id for _, event_id in found]
    rows = (await conn.execute(select(schema.events).where(schema.events.c.id.in_(ids)))).mappings().all()
    by_id = {row["id"]: row for row in rows}
    return [by_id[event_id] for event_id in ids if event_id in by_id]  # retention may delete one meanwhile


async def events_after(
    conn: AsyncConnection, projects: ProjectDirectory, f: EventFilter, event_id: int, limit: int
) -> list[EventOut]:
    """Events matching `f` (but for its `q`) stored with an id above `event_id`, oldest first: what a live stream
    missed while it reconnected."""
    e = schema.events.c
    query = select(schema.events).where(e.id > event_id, *_conditions(f, e.created_at, all_tags=True))
    rows = (await conn.execute(query.order_by(e.id).limit(limit))).mappings().all()
    return [event_from_row(row, await projects.slug(conn, row["project_id"])) for row in rows]


async def list_events(
    conn: AsyncConnection, db: Database, projects: ProjectDirectory, f: EventFilter, cursor: str | None, limit: int
) -> tuple[list[FeedEvent], str | None]:
    if f.q:
        rows = await _search_rows(conn, db, f, cursor, limit)
    else:
        rows = (await conn.execute(feed_query(db, f, cursor, limit))).mappings().all()
    items = [event_from_row(r, await projects.slug(conn, r["project_id"])) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last["created_at"], last["id"])
    return await with_timelines(conn, items), next_cursor


def _may_have_follow_ups(event: EventOut) -> bool:
    """Only a context's card gets follow-ups: an event without a `context_id`, or a follow-up, never has any."""
    return event.context_id is not None and event.parent_id is None


async def with_timelines(conn: AsyncConnection, events: list[EventOut]) -> list[FeedEvent]:
    """The events, each with its timeline summary: one query for all of them, none when no card has a context."""
    found = await timelines(conn, [int(e.id) for e in events if _may_have_follow_ups(e)])
    return [FeedEvent(**msgspec.structs.asdict(event), timeline=found.get(int(event.id))) for event in events]


_SEVERITY_RANK = case({severity: rank for rank, severity in enumerate(SEVERITIES)}, value=schema.events.c.severity)


def timelines_query(card_ids: Collection[int]) -> Select[Any]:
    """Per card, its follow-ups' number, newest time and worst severity, read through their own index
    (`ix_events_parent`): one grouped query whatever the number of cards."""
    e = schema.events.c
    return (
        select(e.parent_id, func.count(), func.max(e.created_at), func.max(_SEVERITY_RANK))
        .where(e.parent_id.in_(card_ids))
        .group_by(e.parent_id)
    )


async def timelines(conn: AsyncConnection, card_ids: Collection[int]) -> dict[int, Timeline]:
    """The timeline summary of each of these cards that has follow-ups, by card id."""
    if not card_ids:
        return {}
    return {
        card_id: Timeline(events=count, last_at=last_at, severity=SEVERITIES[rank])
        for card_id, count, last_at, rank in await conn.execute(timelines_query(card_ids))
    }


async def timeline_changes(conn: AsyncConnection, follow_ups: list[EventOut]) -> list[TimelineChange]:
    """Each follow-up with its card's summary as it stands now (which counts it), in one query."""
    found = await timelines(conn, {int(e.parent_id) for e in follow_ups if e.parent_id})
    return [
        TimelineChange(parent_id=e.parent_id, timeline=found[int(e.parent_id)], event=e)
        for e in follow_ups
        if e.parent_id and int(e.parent_id) in found  # else its card was pruned meanwhile
    ]


def follow_ups_after_query(f: EventFilter, event_id: int, limit: int) -> Select[Any]:
    """Id, card and severity rank of the newest `limit` follow-ups stored with an id above `event_id`, in `f`'s
    projects and test mode, newest first: a walk down the primary key from its end."""
    e = schema.events.c
    scope = [e.id > event_id, e.parent_id.is_not(None), e.test == f.test]
    if f.project_ids is not None:
        scope.append(e.project_id.in_(f.project_ids))
    return select(e.id, e.parent_id, _SEVERITY_RANK).where(*scope).order_by(e.id.desc()).limit(limit)


async def timeline_changes_after(
    conn: AsyncConnection, projects: ProjectDirectory, f: EventFilter, event_id: int, limit: int, max_cards: int
) -> list[TimelineChange]:
    """What a live stream missed telling of while it reconnected: one change for each card (up to `max_cards`,
    those with the newest) that got follow-ups among the newest `limit` stored above `event_id`. Each comes with
    the worst of those follow-ups, the newest of equals, so that a client marks the card as it would have live."""
    worst: dict[int, tuple[int, int]] = {}  # card id: (severity rank, id) of its worst new follow-up
    for follow_up_id, card_id, rank in await conn.execute(follow_ups_after_query(f, event_id, limit)):
        if card_id in worst:
            worst[card_id] = max(worst[card_id], (rank, follow_up_id))
        elif len(worst) < max_cards:
            worst[card_id] = (rank, follow_up_id)
    if not worst:
        return []
    e = schema.events.c
    query = select(schema.events).where(e.id.in_([follow_up_id for _, follow_up_id in worst.values()]))
    rows = (await conn.execute(query.order_by(e.id))).mappings().all()
    return await timeline_changes(
        conn, [event_from_row(row, await projects.slug(conn, row["project_id"])) for row in rows]
    )


async def get_event(conn: AsyncConnection, projects: ProjectDirectory, event_id: int) -> tuple[EventOut, int] | None:
    row = (await conn.execute(select(schema.events).where(schema.events.c.id == event_id))).mappings().first()
    if row is None:
        return None
    return event_from_row(row, await projects.slug(conn, row["project_id"])), row["project_id"]


async def get_children(
    conn: AsyncConnection, projects: ProjectDirectory, parent_id: int, after: tuple[datetime, int] | None = None
) -> tuple[list[EventOut], str | None]:
    """A context card's events, oldest first, MAX_CHILDREN at a time, from after the (time, id) of a decoded
    `children_cursor`: the cursor of the next ones, or None."""
    e = schema.events.c
    query = select(schema.events).where(e.parent_id == parent_id)
    if after:
        query = query.where(tuple_(e.created_at, e.id) > tuple_(*after))
    rows = (await conn.execute(query.order_by(e.created_at, e.id).limit(MAX_CHILDREN + 1))).mappings().all()
    children = [event_from_row(r, await projects.slug(conn, r["project_id"])) for r in rows[:MAX_CHILDREN]]
    last = rows[MAX_CHILDREN - 1] if len(rows) > MAX_CHILDREN else None
    return children, encode_cursor(last["created_at"], last["id"]) if last else None
