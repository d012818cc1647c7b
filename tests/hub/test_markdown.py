"""An event's markdown description as plain text, as a push notification shows it."""

from __future__ import annotations

import pytest

from hub.markdown import plain_text


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
    ],
)
def test_markdown_as_plain_text(source, shown):
    assert plain_text(source) == shown
