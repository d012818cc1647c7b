"""The wire contract: msgspec Structs for events coming in and going out, with every limit declared here.

Validation lives on the Structs (constraints and `__post_init__`), so every way in (native API, compatible
routes, plugins) gets the same rules and the same messages: msgspec names the field (`- at $.tags`) and the
rule (`Expected str of length <= 250`).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import emoji
import httpcore
import httpx
import msgspec

SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z"
# Names the hub's own config gives things: webhook sources, routing rules, self-service actions.
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}\Z"
TAG_KEY_PATTERN = r"^[a-z0-9_-]{1,64}\Z"
_TAG_KEY = re.compile(TAG_KEY_PATTERN)
ACTION_KEY_PATTERN = r"^[A-Za-z0-9_.-]{1,64}\Z"
SHORTCODE_PATTERN = r"^:[a-z0-9_+-]{1,48}:\Z"

MAX_TAGS = 32
MAX_TAG_TEXT = 1024  # characters of a string tag value
MAX_ACTIONS = 5
MAX_CONTENT_BYTES = 64 * 1024
MAX_META_BYTES = 8 * 1024
# Lists and objects inside `content` and an action's `meta`. Reading a row decodes its JSON on a deeper stack than
# ingest does, so without a limit an event nested a thousand deep could be stored and then fail every feed read.
MAX_JSON_DEPTH = 32
DEFAULT_ACTION_EXPIRY_MINUTES = 10_080
MAX_ACTION_EXPIRY_MINUTES = 43_200
# Events stamped further in the past than this count as backfilled and never notify.
BACKFILL_AFTER = timedelta(minutes=5)
# A timestamp further in the future than this is refused (clock skew allowance).
MAX_FUTURE = timedelta(minutes=5)


# Letters NFKD does not split into a base letter and a mark.
_UNSPLIT = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "þ": "th"})


def slugify(text: str, limit: int = 64) -> str:
    """A free-form name as a slug: accents dropped (`Zürich` -> `zurich`), lower case, any other run of
    characters one dash. Empty when nothing is left, as for a name written in another script."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(_UNSPLIT)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_.]+", "-", folded).strip("-._")[:limit].rstrip("-._")


def slug_or_hash(name: str, kind: str) -> str:
    """`slugify(name)`, or `kind-` and a hash of the name when nothing Latin is left (`日本語` ->
    `workspace-77710aed`), so that two names written in another script do not share a slug."""
    return slugify(name) or f"{kind}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


SLUG_WORDS = "1 to 64 letters, digits and `_ . -`, starting with a letter or digit"
_SLUG_SHOWN = "regex '" + SLUG_PATTERN.removesuffix("\\Z") + "$'"  # as plain_patterns writes it
# A pattern as msgspec shows it in a message: `regex '...'`, written as Python's repr writes a string.
_SHOWN_PATTERN = re.compile(r"regex '((?:[^'\\]|\\.)*)'")


def plain_patterns(message: str) -> str:
    """A validation message with each pattern as people write it: not as Python's repr shows it, every backslash
    doubled (`[^\\\\s]`), and with the closing `\\Z` as `$`. Patterns end in `\\Z` because Python's `$` also
    matches before a final newline, which would let "shop\\n" pass as a slug."""

    def plain(shown: re.Match[str]) -> str:
        pattern = shown[1].replace("\\\\", "\\")
        if pattern.endswith("\\Z"):
            pattern = pattern[:-2] + "$"
        return f"regex '{pattern}'"

    message = _SHOWN_PATTERN.sub(plain, message)
    # The pattern most fields share, in words first: a person filling in a form reads no regular expressions.
    return message.replace(f"Expected `str` matching {_SLUG_SHOWN}", f"Expected a slug: {SLUG_WORDS} ({_SLUG_SHOWN})")


Slug = Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN, description=SLUG_WORDS)]
TagValue = str | int | float | bool
Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")


def severity_rank(severity: str) -> int:
    """How severe, for comparing: info 0, warning 1, critical 2 (an unknown one counts as info)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


class ValidationProblem(ValueError):
    """A rule broken by a request; `field` is the dotted path of the offending value."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check_icon(icon: str | None) -> None:
    if icon is None:
        return
    if emoji.is_emoji(icon):
        return
    if re.fullmatch(SHORTCODE_PATTERN, icon):
        return
    raise ValueError("`icon` must be exactly one emoji or a `:shortcode:`")


def content_size(value: Any) -> int:
    return len(msgspec.json.encode(value))


def nests_deeper_than(value: Any, levels: int) -> bool:
    """Whether lists and objects inside `value` nest more than `levels` deep (`[[1]]` is two)."""
    containers = [value] if isinstance(value, list | dict) else []
    for _ in range(levels):
        containers = [
            child
            for container in containers
            for child in (container.values() if isinstance(container, dict) else container)
            if isinstance(child, list | dict)
        ]
        if not containers:
            return False
    return True


# The longest text a person may fill in for an action's input (and so its `default`).
MAX_TEXT_INPUT = 2000
# What an input's `default` may be, by the input's type.
_DEFAULT_TYPES: dict[str, type | tuple[type, ...]] = {"text": str, "number": (int, float), "choice": str, "bool": bool}
_DEFAULT_NAMES = {"text": "string", "number": "number", "choice": "string", "bool": "boolean"}


def _fits(default: object, input_type: str) -> bool:
    if isinstance(default, bool) and input_type != "bool":  # Python counts a bool as a number
        return False
    return isinstance(default, _DEFAULT_TYPES[input_type])


class ActionInput(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A field the person fills in before an action runs."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}\Z")]
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    type: Literal["text", "number", "choice", "bool"] = "text"
    required: bool = False
    default: str | int | float | bool | None = None
    choices: Annotated[list[Annotated[str, msgspec.Meta(max_length=128)]], msgspec.Meta(max_length=50)] = []
    # A text typed in a password field, sent to the action's server and never kept: runs show `[hidden]`.
    secret: bool = False

    def __post_init__(self) -> None:
        if self.secret and (self.type != "text" or self.default is not None):
            raise ValueError("a `secret` input must be of type `text`, without a `default` (the event would keep it)")
        if self.type == "choice" and not self.choices:
            raise ValueError("an input of type `choice` needs `choices`")
        if self.type != "choice" and self.choices:
            raise ValueError("`choices` is only for inputs of type `choice`")
        if self.type == "choice" and self.default is not None and self.default not in self.choices:
            raise ValueError("`default` must be one of `choices`")
        if self.default is not None and not _fits(self.default, self.type):
            raise ValueError(f"`default` of an input of type `{self.type}` must be a {_DEFAULT_NAMES[self.type]}")
        if isinstance(self.default, str) and len(self.default) > MAX_TEXT_INPUT:
            raise ValueError(f"`default` must be at most {MAX_TEXT_INPUT} characters, as what a person fills in")


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    """The tz database's IANA zone names, read once (listing them walks the zoneinfo directory).

    ZoneInfo also opens entries there that are no zone to keep time in: `posixrules` and the `posix/` and `right/`
    copies (available_timezones leaves them out), Debian's `localtime`, a link to the server's own zone, and
    `Factory`, the placeholder of a device whose zone is not set yet (its clock shows "-00").
    """
    return frozenset(available_timezones() - {"localtime", "Factory"})


def time_zone(name: str, field: str) -> ZoneInfo:
    """The zone called `name`, for every setting that takes one (routing rules, people, heartbeat checks): only
    an IANA name; else ValueError naming `field` and the rule."""
    if name in _zone_names():
        with suppress(ZoneInfoNotFoundError):  # its file removed since the names were read
            return ZoneInfo(name)
    raise ValueError(f"`{field}` must be an IANA time zone name such as Europe/Berlin, not {name!r}")


def url_problem(url: str) -> str | None:
    """Why no request can be sent to `url` (a port out of range, a malformed address, no host), or None. Parsed
    as hub.outbound parses it, with httpx and then httpcore, each of which refuses what the other lets through."""
    try:
        parsed = httpx.URL(url)
        httpcore.Request("POST", str(parsed))
    except (httpx.InvalidURL, ValueError) as exc:  # IDNA errors are ValueErrors too
        return str(exc)
    return None if parsed.host else "it names no host"


def shown_address(notifier: str, address: str) -> str:
    """A notifier's address as the API and the CLI show it: a webhook URL only up to its host."""
    if not address:  # a person reached by push who has no device (hub.routing.recipients.NO_DEVICE)
        return "(none)"
    if address.startswith(("http://", "https://")):
        # Only the host: the path, a query, or a user and password before the host may hold the secret.
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"
    return address


def hub_url_problem(url: str) -> str | None:
    """What is wrong with a hub's base URL given to a command (`--url`, `HUB_URL`), if anything."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"{url!r} is not a URL ({exc})"
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return f"{url!r} is not an http:// or https:// URL"
    return None


class ActionIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=48)]
    url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]+\Z", max_length=2048)]
    key: Annotated[str, msgspec.Meta(pattern=ACTION_KEY_PATTERN)] | None = None
    meta: dict[str, Any] | None = None
    expire_in: Annotated[int, msgspec.Meta(ge=1, le=MAX_ACTION_EXPIRY_MINUTES)] = DEFAULT_ACTION_EXPIRY_MINUTES
    external: bool = False
    confirm: bool = False
    inputs: Annotated[list[ActionInput], msgspec.Meta(max_length=10)] = []
    # Teams whose members may run it (others get 403); empty: anyone allowed to run actions.
    teams: Annotated[list[Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]], msgspec.Meta(max_length=20)] = []

    def __post_init__(self) -> None:
        if not self.external and not self.key:
            raise ValueError("`key` is required unless `external` is true")
        if not self.external and (problem := url_problem(self.url)):
            raise ValueError(f"`url` cannot be requested: {problem}")
        if self.meta is not None and content_size(self.meta) > MAX_META_BYTES:
            raise ValueError(f"`meta` must encode to at most {MAX_META_BYTES} bytes of JSON")
        if nests_deeper_than(self.meta, MAX_JSON_DEPTH):
            raise ValueError(f"`meta` must nest lists and objects at most {MAX_JSON_DEPTH} levels deep")
        names = [i.name for i in self.inputs]
        if len(names) != len(set(names)):
            raise ValueError("`inputs` names must be unique")


class EventIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One event as apps send it to `POST /api/v1/events`."""

    event: Annotated[str, msgspec.Meta(min_length=1, max_length=250)]
    project: Slug | None = None
    channel: Slug = "general"
    description: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    parser: Literal["text", "markdown"] = "text"
    icon: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    notify: bool = False
    tags: (
        Annotated[
            dict[str, TagValue],
            # Keys are checked in __post_init__, to name the one that breaks the rule; documented here.
            msgspec.Meta(max_length=MAX_TAGS, extra_json_schema={"propertyNames": {"pattern": TAG_KEY_PATTERN}}),
        ]
        | None
    ) = None
    content: Any = None
    user_id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None
    timestamp: float | datetime | None = None
    severity: Severity = "info"
    test: bool = False
    actions: Annotated[list[ActionIn], msgspec.Meta(max_length=MAX_ACTIONS)] = []
    context_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    context_start: bool = False
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None

    def __post_init__(self) -> None:
        check_icon(self.icon)
        if self.tags:
            for key, value in self.tags.items():
                if not _TAG_KEY.match(key):
                    shown = TAG_KEY_PATTERN.removesuffix("\\Z") + "$"  # as msgspec's own messages show it
                    raise ValueError(f"`tags` keys must match the regex '{shown}': {key!r} does not")
                if isinstance(value, str) and len(value) > MAX_TAG_TEXT:
                    raise ValueError(f"`tags.{key}` must be at most {MAX_TAG_TEXT} characters")
                # A whole number is stored and filtered as its digits: the same limit (a float's are few).
                if isinstance(value, int) and len(tag_text(value)) > MAX_TAG_TEXT:
                    raise ValueError(f"`tags.{key}` must be a number of at most {MAX_TAG_TEXT} digits")
        if self.content is not None and content_size(self.content) > MAX_CONTENT_BYTES:
            raise ValueError(f"`content` must encode to at most {MAX_CONTENT_BYTES} bytes of JSON")
        if nests_deeper_than(self.content, MAX_JSON_DEPTH):
            raise ValueError(f"`content` must nest lists and objects at most {MAX_JSON_DEPTH} levels deep")
        keys = [a.key for a in self.actions if a.key]
        if len(keys) != len(set(keys)):
            raise ValueError("`actions` keys must be unique within an event")
        if self.context_start and not self.context_id:
            raise ValueError("`context_start` needs a `context_id`")


def without_nul(value: Any) -> Any:
    """A JSON-like value with every NUL character replaced by U+FFFD: PostgreSQL text and jsonb cannot hold NUL."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    return value


MAX_UNIX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z, the last instant a datetime can hold


def unix_seconds(number: float) -> float:
    """Seconds from Unix seconds or milliseconds (JavaScript's `Date.now()`): a number too big to be seconds before
    the year 5138 is milliseconds."""
    return number / 1000 if abs(number) > 100_000_000_000 else number


def event_time(timestamp: float | datetime | None, now: datetime) -> datetime:
    """The instant an event happened: its timestamp (Unix seconds, or ms when too big for seconds) or now."""
    if timestamp is None:
        return now
    if isinstance(timestamp, datetime):
        when = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
        # As for Unix seconds; the local year first, which converting year 1 to UTC would overflow on.
        if when.year < 1970:
            raise ValidationProblem("`timestamp` must not be before 1970", "timestamp")
        try:
            when = when.astimezone(UTC)
        except OverflowError:  # late on 9999-12-31 with an offset west of UTC: past the year 9999 in UTC
            raise ValidationProblem("`timestamp` must not be more than 5 minutes in the future", "timestamp") from None
        if when.year < 1970:
            raise ValidationProblem("`timestamp` must not be before 1970", "timestamp")
    else:
        seconds = unix_seconds(timestamp)
        if seconds < 0:
            raise ValidationProblem("`timestamp` must not be before 1970", "timestamp")
        if not seconds < MAX_UNIX_SECONDS:  # also refuses NaN and infinity
            raise ValidationProblem("`timestamp` is out of range (Unix seconds or milliseconds)", "timestamp")
        when = datetime.fromtimestamp(seconds, UTC)
    if when - now > MAX_FUTURE:
        raise ValidationProblem("`timestamp` must not be more than 5 minutes in the future", "timestamp")
    return when


class ActionInputOut(msgspec.Struct, omit_defaults=True):
    """An input as stored, read back without ActionInput's rules: rules tightened later must not make older
    events unreadable."""

    name: str
    label: str | None = None
    type: str = "text"
    required: bool = False
    default: str | int | float | bool | None = None
    choices: list[str] = []
    secret: bool = False


class ActionOut(msgspec.Struct, omit_defaults=True):
    label: str
    url: str
    key: str | None = None
    meta: dict[str, Any] | None = None
    expires_at: datetime | None = None
    external: bool = False
    confirm: bool = False
    inputs: list[ActionInputOut] = []
    teams: list[str] = []


class EventOut(msgspec.Struct, kw_only=True):
    """A stored event as the read API, the stream and plugins see it."""

    id: str
    project: str
    channel: str
    event: str
    description: str | None
    parser: str
    icon: str | None
    notify: bool
    severity: str
    tags: dict[str, TagValue]
    content: Any
    user_id: str | None
    actions: list[ActionOut]
    context_id: str | None
    parent_id: str | None
    source: str
    test: bool
    created_at: datetime
    received_at: datetime


class Timeline(msgspec.Struct):
    """What a context card's follow-ups amount to, so a card tells what happened in its timeline unopened."""

    events: Annotated[int, msgspec.Meta(description="how many follow-ups the card has")]
    last_at: Annotated[datetime, msgspec.Meta(description="`created_at` of the newest follow-up")]
    severity: Annotated[Severity, msgspec.Meta(description="the worst severity among the follow-ups")]


class TimelineChange(msgspec.Struct):
    """A follow-up was stored: its card's summary with it (the stream's `timeline` message)."""

    parent_id: str
    timeline: Timeline
    event: EventOut


class FeedEvent(EventOut, kw_only=True):
    """An event as the read API lists it. EventOut itself (what ingest answers, the stream sends and plugins get)
    has no `timeline`: an event is stored without follow-ups, and its summary is the read's to work out."""

    timeline: Annotated[
        Timeline | None, msgspec.Meta(description="the card's follow-ups; null for a follow-up, or a card without any")
    ]


class StoredResult(msgspec.Struct):
    """What ingest answers for one event: the event, and whether it was new (201) or a replay (200)."""

    event: EventOut
    created: bool


class Page(msgspec.Struct):
    items: list[Any]
    next_cursor: str | None


def tag_text(value: TagValue) -> str:
    """Tags are filtered as text: `true`/`false` for booleans, the JSON spelling for numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else msgspec.json.encode(value).decode()


def now_utc() -> datetime:
    return datetime.now(UTC)
