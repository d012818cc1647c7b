"""Reading the parts most GitHub payloads share: who did it, where, and the link to it."""

from __future__ import annotations

from urllib.parse import quote as url_quote

from ..node import Node
from ..text import one_line

VIEW = "View on GitHub"


def login(user: Node, default: str = "someone") -> str:
    """A user's login (or a team's or app's name), for titles."""
    return one_line(user["login"].text() or user["name"].text() or user["slug"].text(), 64) or default


def sender(payload: Node) -> str:
    return login(payload["sender"])


def actor(payload: Node, author: Node) -> str:
    """Who acted on a comment or review: its author when it is written, else the sender (a maintainer may edit,
    delete or dismiss what someone else wrote)."""
    return login(author, sender(payload)) if payload["action"].text() in ("created", "submitted") else sender(payload)


def repo_url(payload: Node, *path: str) -> str | None:
    """The repository's web page, or a page under it (path parts are URL-quoted)."""
    base = payload["repository"]["html_url"].url()
    if base is None or not all(path):
        return None
    return Node("/".join([base, *(url_quote(part, safe="/") for part in path)])).url()
