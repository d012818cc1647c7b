"""An event's markdown description as Slack mrkdwn, the way the web app shows it.

mrkdwn is not markdown: `*bold*`, `_italic_`, `~strike~`, `<url|label>` links, no headings and no lists. Each piece
of the event's text is escaped (`&`, `<`, `>`), so only the markup made here is markup: an event cannot mention
(`<!channel>`) or link anywhere but http(s) and mailto. An image is not shown in Slack (Slack would fetch it): its
alt text links to it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hub.pluginapi import ListMarkers, mrkdwn_escape, parse_markdown, safe_link

if TYPE_CHECKING:
    from markdown_it.token import Token

MARKS = {"strong": "*", "em": "_", "s": "~"}
INDENT = "    "


def convert(source: str) -> str:
    """The markdown as mrkdwn: top-level blocks (paragraph, heading, list, quote, code block) a blank line apart."""
    chunks: list[str] = []
    lines: list[str] = []
    markers = ListMarkers()
    marker = ""  # the bullet or number the open list item's first line starts with
    quotes = 0

    def emit(text: str) -> None:
        nonlocal marker
        indent = INDENT * max(markers.depth - 1, 0)
        for n, line in enumerate(text.split("\n")):
            lead = indent + (marker if n == 0 else " " * len(marker))
            lines.append("> " * quotes + lead + line)
        marker = ""

    tokens = parse_markdown(source)
    for index, token in enumerate(tokens):
        kind = token.type
        if (opened := markers.see(token)) is not None:
            marker = opened
        elif kind == "blockquote_open":
            quotes += 1
        elif kind == "blockquote_close":
            quotes -= 1
        elif kind == "inline":
            heading = tokens[index - 1].type == "heading_open"
            text = _inline(token.children or [], bold=heading)
            emit(f"*{text}*" if heading and text else text)
        elif kind == "fence":
            emit("```\n" + mrkdwn_escape(token.content.rstrip("\n")) + "\n```")
        elif kind == "list_item_close" and marker:
            emit("")  # an empty item
        if token.level == 0 and token.nesting <= 0 and lines:
            chunks += [chunk] if (chunk := "\n".join(lines)).strip() else []  # not a block of nothing: `#`, `[](x)`
            lines = []
    return "\n\n".join(chunks)


def _inline(children: list[Token], *, bold: bool = False) -> str:
    """One paragraph's or heading's text. A style already in force is not opened again (`*a *b* c*` would end
    at the second `*`); a link's label stays on one line (a line break would end Slack's `<url|label>`)."""
    out: list[str] = []
    active = {"*"} if bold else set()
    opened: list[str] = []  # for each open style, the mark written for it ("" when it was already in force)
    link: bool | None = None  # None outside a link; inside one, whether it is shown as one
    for token in children:
        kind = token.type
        if kind == "text":
            out.append(mrkdwn_escape(token.content))
        elif kind in ("softbreak", "hardbreak"):
            out.append(" " if link is not None else "\n")
        elif kind == "code_inline":
            out.append(f"`{mrkdwn_escape(token.content)}`")
        elif kind.removesuffix("_open") in MARKS:
            mark = MARKS[kind.removesuffix("_open")]
            opened.append("" if mark in active else mark)
            active.add(mark)
            out.append(opened[-1])
        elif kind.removesuffix("_close") in MARKS:
            mark = opened.pop()
            active.discard(mark)
            out.append(mark)
        elif kind == "link_open":
            href = str(token.attrGet("href") or "")
            link = safe_link(href)
            if link:
                out.append(f"<{mrkdwn_escape(href)}|")
        elif kind == "link_close":
            if link:
                out.append(">")
            link = None
        elif kind == "image":
            src = str(token.attrGet("src") or "")
            alt = mrkdwn_escape("".join(t.content for t in token.children or [] if t.type in ("text", "code_inline")))
            if link is None and safe_link(src):
                out.append(f"<{mrkdwn_escape(src)}|{alt or mrkdwn_escape(src)}>")
            else:
                out.append(alt)
    return "".join(out)


def cut(text: str, limit: int) -> str:
    """mrkdwn shortened to `limit`, ending in `…`, never inside an entity (`&am…`) or a link (a raw `<https://…`
    would show), and with a code block cut short closed again."""
    if len(text) <= limit:
        return text
    kept = re.sub(r"&[a-z]*\Z", "", text[: max(limit - 5, 0)])  # 5: room for "…\n```"
    if (start := kept.rfind("<")) > kept.rfind(">"):
        kept = kept[:start]
    return kept + ("…\n```" if kept.count("```") % 2 else "…")
