"""An event's markdown description as plain text, as a push notification shows it, and its links as email and Slack
get them."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_cases import LINK_CASES

from hub.markdown import TRAILING, markdown_parser, plain_text, url_without_trailing


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        ("", ""),
        ("\n\n", ""),
        ("***a **b** _c_ ~~d~~***", "a b c d"),
        ("`**not bold**` and ```x*y```", "**not bold** and x*y"),
        ("[click](javascript:alert(1)) [mail](mailto:a@b.c) [](https://x.y/)", "click mail"),
        ("![pixel *dot*](https://t.example/p.gif) [![logo](x.png)](https://a.b/)", "pixel dot logo"),
        ("<script>alert(1)</script> &amp; <b>bold</b>", "<script>alert(1)</script> &amp; <b>bold</b>"),
        ("a  \nb\\\nc\nd", "a\nb\\\nc\nd"),
        ("```\n**x** [y](z)\n\n  indented\n\n```\n\n\n", "**x** [y](z)\n\n  indented"),
        ("# Title\n\nfirst\n\n> quote\n> more\n\nlast", "Title\nfirst\nquote\nmore\nlast"),
        ("- a\n  - b\n    - c\n- d\n  more\n\n  second", "• a\n  • b\n    • c\n• d\n  more\n  second"),
        ("7. seven\n8. eight\n   1. one", "7. seven\n8. eight\n   1. one"),
        ("- [](javascript:x)\n-\n- kept", "• kept"),
        ("#\n\nafter", "after"),
        ("<https://a.b/x> and https://c.d/y.", "https://a.b/x and https://c.d/y."),
    ],
)
def test_markdown_as_plain_text(source, shown):
    assert plain_text(source) == shown


class Shown(HTMLParser):
    """The text a reader sees in rendered HTML, and its links as (href, label)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.text = ""
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None  # inside a link, its address
        self._label = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._label = dict(attrs)["href"], ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, self._label))
            self._href = None

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._href is not None:
            self._label += data


@pytest.mark.parametrize(("source", "text", "links"), LINK_CASES)
def test_links_bare_urls_and_autolinks_as_the_web_app_does(source, text, links):
    """The cases tests/web/test_description_links.py gives the web app's renderer: a URL pasted bare, or in `<...>`,
    was text in email and Slack."""
    shown = Shown(markdown_parser().render(source))
    assert (shown.text.strip(), shown.links) == (text, links)


@given(st.text(alphabet="ab/.,:;!?*_~'\"()\u2019\u201d", max_size=30))
def test_a_bare_url_loses_only_the_punctuation_after_it_and_keeps_its_balanced_parentheses(tail):
    candidate = "https://x.y/" + tail
    url = url_without_trailing(candidate)
    assert candidate.startswith(url) and set(candidate[len(url) :]) <= TRAILING | {")"}
    assert url[-1] not in TRAILING
    assert not url.endswith(")") or url.count("(") >= url.count(")")
