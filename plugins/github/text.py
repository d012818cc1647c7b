"""Small text helpers that turn payload strings into safe titles and markdown descriptions.

Payload text is written by people (commit messages, PR titles, comment bodies): titles must stay on one
line, descriptions must stay short, and link labels must not break the markdown around them.
"""

from __future__ import annotations

import re

from hub.pluginapi import truncate

_SPACE = re.compile(r"[\s\x00-\x1f\x7f]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_LABEL_SPECIALS = re.compile(r"([\\\[\]`*_])")


def one_line(text: str, limit: int = 120) -> str:
    """Text on a single line with whitespace collapsed, shortened to `limit` characters."""
    return truncate(_SPACE.sub(" ", text).strip(), limit) or ""


def excerpt(text: str, limit: int = 600) -> str:
    """The start of a multi-line text, without control characters, shortened to `limit` characters."""
    return truncate(_CONTROL.sub("", text.replace("\r\n", "\n")).strip(), limit) or ""


def quote(text: str, limit: int = 600) -> str:
    """A markdown block quote of the start of `text`, or "" when there is nothing to quote."""
    body = excerpt(text, limit)
    return "\n".join(f"> {line}" for line in body.split("\n")) if body else ""


def link(label: str, url: str | None) -> str:
    """A markdown link when there is a URL, else the escaped label alone."""
    text = _LABEL_SPECIALS.sub(r"\\\1", one_line(label, 200))
    return f"[{text}]({url})" if url else text


def code(text: str, limit: int = 100) -> str:
    """Inline code for names, branches and paths (backticks removed so the span cannot be broken)."""
    body = one_line(text.replace("`", ""), limit)
    return f"`{body}`" if body else ""


def words(identifier: str) -> str:
    """`review_requested` (or `DraftIssue`) as `review requested` (`draft issue`), for names shown to people."""
    return one_line(_CAMEL.sub(" ", identifier).replace("_", " ").replace("-", " ").lower(), 64)


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {many or noun + 's'}"


def number_ref(number: int | None) -> str:
    """` #12` for a numbered item, or "" when the payload has no number."""
    return f" #{number}" if number is not None else ""


def item_label(kind: str, number: int | None, name: str) -> str:
    """`PR #12: Fix the build`, leaving out whichever of the number and the name the payload lacks."""
    return f"{kind}{number_ref(number)}" + (f": {one_line(name, 120)}" if name.strip() else "")


def short_sha(sha: str) -> str:
    return one_line(sha, 40)[:7]


def ref_name(ref: str) -> str:
    """A git ref without its `refs/heads/` or `refs/tags/` prefix."""
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def paragraphs(*parts: str | None) -> str | None:
    """The non-empty parts joined as markdown paragraphs, or None when all are empty."""
    kept = [part for part in parts if part]
    return "\n\n".join(kept) if kept else None


def bullets(lines: list[str], total: int | None = None) -> str:
    """A markdown list; `total` larger than the lines shown adds an "…and N more" line."""
    shown = [f"- {line}" for line in lines]
    if total is not None and total > len(lines):
        shown.append(f"- …and {total - len(lines)} more")
    return "\n".join(shown)
