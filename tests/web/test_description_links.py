"""The web app's renderer of descriptions (web/js/markdown.js): links in markdown, bare URLs and autolinks, and the
URLs of a description without a parser."""

from __future__ import annotations

from pathlib import Path

from markdown_cases import LINK_CASES
from playwright.sync_api import expect

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


def test_urls_in_a_description_open_in_a_new_tab_with_or_without_markdown(context, web_hub, sign_in) -> None:
    """A description without a parser showed its URLs as text to copy; they are links now, as in markdown, and
    nothing else in it is (a `javascript:` is text)."""
    plain = web_hub.post(
        project="links",
        event="Plain description",
        description="Logs at https://example.com/logs/1. javascript:alert(1) <b>https://example.com/b</b>\nnext line",
    )
    web_hub.post(project="links", event="Markdown description", parser="markdown", description="See <ops@example.com>")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=links")
    desc = page.locator(".card", has_text="Plain description").locator(".desc")
    expect(desc).to_have_text(
        "Logs at https://example.com/logs/1. javascript:alert(1) <b>https://example.com/b</b>\nnext line"
    )
    links = desc.locator("a")
    expect(links).to_have_count(2)
    expect(links.first).to_have_attribute("href", "https://example.com/logs/1")
    expect(links.nth(1)).to_have_attribute("href", "https://example.com/b")
    for index in (0, 1):
        expect(links.nth(index)).to_have_attribute("target", "_blank")
        expect(links.nth(index)).to_have_attribute("rel", "noopener noreferrer nofollow")
    mail = page.locator(".card", has_text="Markdown description").locator(".md a")
    expect(mail).to_have_attribute("href", "mailto:ops@example.com")
    expect(mail).to_have_attribute("rel", "noopener noreferrer nofollow")
    page.goto(f"/events/{plain['id']}")
    expect(page.locator(".desc a")).to_have_count(2)


def test_a_bare_url_must_start_a_word_in_a_description_without_a_parser(context) -> None:
    page = context.new_page()
    page.goto("/login")
    shown = page.evaluate(
        """async (text) => {
            const { linkified } = await import("/js/markdown.js");
            const root = document.createElement("p");
            root.append(...linkified(text));
            return [root.textContent, [...root.querySelectorAll("a")].map((a) => a.getAttribute("href"))];
        }""",
        "xhttps://example.com/a, (https://example.com/b) 2https://example.com/c",
    )
    assert shown == [
        "xhttps://example.com/a, (https://example.com/b) 2https://example.com/c",
        ["https://example.com/b"],
    ]


def test_the_apps_scripts_use_no_regular_expression_lookbehind() -> None:
    """Safari before 16.4 cannot parse one: markdown.js failing to load stopped the whole app on those iPhones."""
    web = Path(__file__).parents[2] / "web"
    for script in [*web.glob("js/*.js"), web / "sw.js"]:
        assert "(?<=" not in script.read_text() and "(?<!" not in script.read_text(), script.name
