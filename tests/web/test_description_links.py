"""The web app's renderer of markdown descriptions (web/js/markdown.js): its links, bare URLs and autolinks."""

from __future__ import annotations

from markdown_cases import LINK_CASES

SHOWN = """async (sources) => {
    const { markdown } = await import("/js/markdown.js");
    return sources.map((source) => {
        const root = markdown(source);
        const links = [...root.querySelectorAll("a")].map((a) => [a.getAttribute("href"), a.textContent]);
        return [root.textContent, links];
    });
}"""


def test_links_bare_urls_and_autolinks_as_email_and_slack_do(context) -> None:
    """The cases tests/hub/test_markdown.py gives the renderer of email and Slack: a URL pasted bare, or in `<...>`,
    was text."""
    page = context.new_page()
    page.goto("/login")
    sources = [source for source, _, _ in LINK_CASES]
    shown = page.evaluate(SHOWN, sources)
    expected = [[text, [list(link) for link in links]] for _, text, links in LINK_CASES]
    shown_by_source = dict(zip(sources, shown, strict=True))
    assert shown_by_source == dict(zip(sources, expected, strict=True))  # a failure names its case
