"""The rendering for any event without a specific one, so a new GitHub event type is readable from day one."""

from __future__ import annotations

from ..event import Rendering
from ..node import Node
from ..text import code, one_line, paragraphs, words
from .common import VIEW, repo_url, sender

SHARED_FIELDS = frozenset({"action", "sender", "repository", "organization", "installation", "enterprise"})


def generic(name: str, p: Node) -> Rendering:
    action = p["action"].text()
    event = one_line(name, 64)
    fields = [code(key, 60) for key in p.keys()[:40] if key not in SHARED_FIELDS][:20]
    return Rendering(
        title=f"GitHub {event}" + (f": {words(action)}" if action else "") + f" by {sender(p)}",
        icon="🐙",
        channel="github",
        description=paragraphs(
            f"GitHub sent a {code(event)} event"
            + (f" with action {code(action, 64)}" if action else "")
            + " that the hub has no special rendering for; its payload is kept in the event's content.",
            "Fields: " + ", ".join(fields) if fields else None,
        ),
        links=[(VIEW, repo_url(p))],
    )
