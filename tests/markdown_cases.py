"""Markdown both renderers must read alike: the web app's (web/js/markdown.js, tested in
tests/web/test_description_links.py) and that of email and Slack (hub/markdown.py, tested in
tests/hub/test_markdown.py). Each case is one block of source, the text a reader sees, and its links as (href, label).
"""

from __future__ import annotations

WIKI = "https://en.wikipedia.org/wiki/Foo_(bar)"


def bare(url: str) -> tuple[str, str]:
    """The link a bare URL or an autolink makes: to itself, labelled with itself."""
    return url, url


LINK_CASES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("see https://example.com/x.", "see https://example.com/x.", [bare("https://example.com/x")]),
    (
        "Done: https://example.com/a?! Then 'https://example.com/b'; \"https://example.com/c\": https://example.com/d,",
        "Done: https://example.com/a?! Then 'https://example.com/b'; \"https://example.com/c\": https://example.com/d,",
        [bare(f"https://example.com/{x}") for x in "abcd"],
    ),
    ("\u201chttps://example.com/q\u201d", "\u201chttps://example.com/q\u201d", [bare("https://example.com/q")]),
    (
        f"{WIKI}, or (see {WIKI}) and (http://example.com/p).",
        f"{WIKI}, or (see {WIKI}) and (http://example.com/p).",
        [bare(WIKI), bare(WIKI), bare("http://example.com/p")],
    ),
    (
        "https://example.com/snake_case/~joe/?q=a*b&x=1 HTTPS://EXAMPLE.COM/UP",
        "https://example.com/snake_case/~joe/?q=a*b&x=1 HTTPS://EXAMPLE.COM/UP",
        [bare("https://example.com/snake_case/~joe/?q=a*b&x=1"), bare("HTTPS://EXAMPLE.COM/UP")],
    ),
    (
        "<https://example.com/x> <mailto:ops@example.com> <ops@example.com>",
        "https://example.com/x mailto:ops@example.com ops@example.com",
        [
            bare("https://example.com/x"),
            bare("mailto:ops@example.com"),
            ("mailto:ops@example.com", "ops@example.com"),
        ],
    ),
    (
        "<ftp://example.com/f> <javascript:alert(1)> ftp://example.com javascript:alert(1) mailto:ops@example.com",
        "<ftp://example.com/f> <javascript:alert(1)> ftp://example.com javascript:alert(1) mailto:ops@example.com",
        [],
    ),
    (
        "xhttps://example.com https:// and https://. or <https://a b>",
        "xhttps://example.com https:// and https://. or <https://a b>",
        [bare("https://a")],
    ),
    (
        "`https://example.com/code` and `<https://example.com/auto>`",
        "https://example.com/code and <https://example.com/auto>",
        [],
    ),
    ("```\nhttps://example.com/fenced\n```", "https://example.com/fenced", []),
    (
        "[docs](https://example.com/docs) https://example.com/raw [see https://example.com/in](https://example.com/out)",
        "docs https://example.com/raw see https://example.com/in",
        [
            ("https://example.com/docs", "docs"),
            bare("https://example.com/raw"),
            ("https://example.com/out", "see https://example.com/in"),
        ],
    ),
    (
        "[<https://example.com/in>](https://example.com/out)",
        "<https://example.com/in>",
        [("https://example.com/out", "<https://example.com/in>")],
    ),
    (
        "**https://example.com/b**, _https://example.com/i_ and ~~https://example.com/s~~",
        "https://example.com/b, https://example.com/i and https://example.com/s",
        [bare(f"https://example.com/{x}") for x in "bis"],
    ),
    ("- see https://example.com/item.", "see https://example.com/item.", [bare("https://example.com/item")]),
]
