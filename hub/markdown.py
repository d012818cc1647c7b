"""The markdown of event descriptions (`parser: "markdown"`), for notifiers that show it outside the web app.

The web app (web/js/markdown.js) is the reference: paragraphs with their line breaks, `#` headings, `-` and `1.`
lists, `>` quotes, fenced code, **bold**, *italic*, `code`, ~~strike~~, [links](https://...), autolinks
(`<https://...>`, `<mailto:...>`, `<ada@example.com>`) and bare http(s) URLs. Raw HTML is never markup (it shows as
the text it is) and a link goes nowhere unless it is http(s) or mailto. Images are parsed so that a notifier can
show their alt text and link instead of loading them (a tracking pixel in an alert).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token

RULES = [
    "heading",
    "list",
    "blockquote",
    "fence",
    "newline",
    "emphasis",
    "strikethrough",
    "backticks",
    "link",
    "image",
    "autolink",
]
SAFE_LINK = re.compile(r"(?:https?|mailto):", re.IGNORECASE)
# A bare URL: `http` or `https` starting a word, `://`, then everything up to a space or an angle bracket, less the
# punctuation after it (`url_without_trailing`). web/js/markdown.js has the same two.
BARE_URL = re.compile(r"(?<![a-z0-9])https?://[^\s<>]*", re.IGNORECASE)
TRAILING = frozenset(".,:;!?*_~'\"\u2019\u201d")  # with the closing curly quotes


def markdown_parser() -> MarkdownIt:
    """A new parser for the hub's markdown, a notifier's own to add render rules to (`add_render_rule`).

    Links and images are not refused when parsed (markdown-it would leave `[label](javascript:...)` as that text):
    a renderer checks each with `safe_link` and shows the label alone when it fails, as the web app does.
    Imported when first called: markdown-it takes 50 to 150 ms to import here, which no hub command should pay up
    front.
    """
    from markdown_it import MarkdownIt

    md = MarkdownIt("zero", {"breaks": True, "html": False}).enable(RULES)
    md.validateLink = lambda url: True
    md.inline.ruler.at("autolink", _safe_autolink)
    md.inline.ruler.after("text", "bare_url", _bare_url)
    return md


def _safe_autolink(state: StateInline, silent: bool) -> bool:
    """CommonMark's autolink (`<https://...>`, `<mailto:...>`, `<ada@example.com>`) when it may be followed, as in the
    web app: `<ftp://x>` and `<javascript:x>` stay the text they are. Not in a link's label: links do not nest."""
    from markdown_it.rules_inline.autolink import autolink

    start = state.pos
    if state.linkLevel > 0 or not autolink(state, True):
        return False
    target = state.src[start + 1 : state.pos - 1]
    state.pos = start
    if ":" in target and not safe_link(target):  # without a scheme, it is an email address: mailto
        return False
    return autolink(state, silent)


def _bare_url(state: StateInline, silent: bool) -> bool:
    """A bare http(s) URL in text, linked as chat and mail apps link it. Called at the `:` after the scheme: the text
    rule stops there, leaving the scheme at the end of the text waiting in `state.pending`. Not in a link's label
    (links do not nest), and not when only measuring (`silent`: a link's label being measured, where it would not be
    linked either)."""
    pos = state.pos
    if silent or state.linkLevel > 0 or not state.src.startswith("://", pos):
        return False
    https_start, http_start = max(pos - 5, 0), max(pos - 4, 0)
    found = BARE_URL.match(state.src, https_start, state.posMax) or BARE_URL.match(state.src, http_start, state.posMax)
    if found is None or not state.pending.endswith(scheme := state.src[found.start() : pos]):
        return False
    url = url_without_trailing(found.group())
    if len(url) <= len(scheme) + 3:  # nothing after `://`
        return False
    state.pending = state.pending[: -len(scheme)]
    state.push("link_open", "a", 1).attrs = {"href": state.md.normalizeLink(url)}
    state.push("text", "", 0).content = url
    state.push("link_close", "a", -1)
    state.pos = found.start() + len(url)
    return True


def url_without_trailing(candidate: str) -> str:
    """A bare URL without the punctuation that ends the sentence around it rather than the address: `.,:;!?`, quotes
    and emphasis marks, and a `)` that closes no `(` of the URL's own (Wikipedia's `Foo_(bar)` keeps its own)."""
    end = len(candidate)
    unclosed = candidate.count(")") - candidate.count("(")
    while end:
        last = candidate[end - 1]
        if last == ")" and unclosed > 0:
            unclosed -= 1
        elif last not in TRAILING:
            break
        end -= 1
    return candidate[:end]


def safe_link(url: str) -> bool:
    """Whether a link from an event may be followed: http, https or mailto, nothing else (no javascript: or data:)."""
    return SAFE_LINK.match(url) is not None


@cache
def _shared_parser() -> MarkdownIt:
    return markdown_parser()


def parse_markdown(source: str) -> list[Token]:
    """The markdown's tokens, from one parser kept for the process: for renderers that walk the tokens themselves
    rather than add render rules to a parser of their own."""
    return _shared_parser().parse(source)


class ListMarkers:
    """What starts each list item's first line, `• ` or its number (`3. `), for renderers that write lists as text.

    Fed every token in order (`see`), it follows the open lists, innermost last, and the next number of each."""

    def __init__(self) -> None:
        self._lists: list[int | None] = []  # None for a bullet list, else the next number

    @property
    def depth(self) -> int:
        return len(self._lists)

    def see(self, token: Token) -> str | None:
        """The marker of the list item this token opens; None for any other token."""
        kind = token.type
        if kind == "bullet_list_open":
            self._lists.append(None)
        elif kind == "ordered_list_open":
            self._lists.append(int(token.attrGet("start") or 1))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            self._lists.pop()
        elif kind == "list_item_open":
            number = self._lists[-1]
            if number is None:
                return "• "
            self._lists[-1] = number + 1
            return f"{number}. "
        return None


@lru_cache(maxsize=256)
def plain_text(source: str) -> str:
    """The markdown as the text a reader sees, for places that show no markup (a push notification's body).

    Blocks are lines with no blank line between them (a lock screen shows a few): a heading, a paragraph with its
    line breaks, a fenced code block's text, a quote's text. List items start with `• ` or their number (`1. `),
    nested ones indented. Emphasis, strike and code marks are dropped; a link is its label and an image its alt
    text (neither can be followed from plain text); raw HTML is the text it is, as everywhere in the hub.
    Remembered for the latest descriptions: one is pushed to every device of everyone it goes to, and parsing 1,000
    characters of links and emphasis took 4 times as long as encrypting the push.
    """
    lines: list[str] = []
    markers = ListMarkers()
    widths: list[int] = []  # the open list items' markers: their text is indented as far
    marker = ""  # the bullet or number the open list item's first line starts with
    for token in parse_markdown(source):
        if (opened := markers.see(token)) is not None:
            marker = opened
            widths.append(len(marker))
        elif token.type == "list_item_close":
            widths.pop()
            marker = ""  # an item that showed nothing (`- [](x)`) is left out
        elif token.type in ("inline", "fence") and (text := _block_text(token)).strip():
            for line in text.split("\n"):
                lines.append((" " * (sum(widths) - len(marker)) + marker + line).rstrip())
                marker = ""
    return "\n".join(lines)


def _block_text(token: Token) -> str:
    """A paragraph's or heading's text (`inline`), or a fenced code block's up to its last character shown."""
    return _inline_text(token.children or []) if token.type == "inline" else token.content.rstrip()


def _inline_text(children: list[Token]) -> str:
    """Text, code and an image's alt text, with line breaks kept; every mark and link address is left out."""
    out: list[str] = []
    for token in children:
        if token.type in ("text", "code_inline"):
            out.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            out.append("\n")
        elif token.type == "image":
            out.append(_inline_text(token.children or []))
    return "".join(out)
