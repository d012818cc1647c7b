"""The markdown of event descriptions (`parser: "markdown"`), for notifiers that show it outside the web app.

The web app (web/js/markdown.js) is the reference: paragraphs with their line breaks, `#` headings, `-` and `1.`
lists, `>` quotes, fenced code, **bold**, *italic*, `code`, ~~strike~~ and [links](https://...). Raw HTML is
never markup (it shows as the text it is) and a link goes nowhere unless it is http(s) or mailto. Images are parsed
so that a notifier can show their alt text and link instead of loading them (a tracking pixel in an alert).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

RULES = ["heading", "list", "blockquote", "fence", "newline", "emphasis", "strikethrough", "backticks", "link", "image"]
SAFE_LINK = re.compile(r"(?:https?|mailto):", re.IGNORECASE)


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
    return md


def safe_link(url: str) -> bool:
    """Whether a link from an event may be followed: http, https or mailto, nothing else (no javascript: or data:)."""
    return SAFE_LINK.match(url) is not None
