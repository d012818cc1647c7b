"""The page itself: no sideways scrolling from 360 px phones up, usable from the keyboard alone, dark mode
from the system with readable contrast, and cards that stay put while events stream in."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from playwright.sync_api import expect

from tests.web.conftest import PASSWORD

CONTRAST = """
(selector) => {
  const rgb = (text) => text.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const node = document.querySelector(selector);
  let back = node;
  const clear = (n) => /rgba\\(.*, 0\\)$|transparent/.test(getComputedStyle(n).backgroundColor);
  while (back && clear(back)) back = back.parentElement;
  const fg = lum(rgb(getComputedStyle(node).color));
  const bg = lum(rgb(getComputedStyle(back || document.body).backgroundColor));
  return [(Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05), bg];
}
"""


def assert_fits(page, path: str, screen: int) -> None:
    """The page is no wider than the screen; else the message names the first elements that stick out."""
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        f"[...document.querySelectorAll('main *')].filter((n) => n.getBoundingClientRect().right > {screen + 1})"
        ".map((n) => n.tagName + '.' + n.className).slice(0, 5)"
    )
    assert width <= screen, f"{path} is {width}px wide on a {screen}px screen: {wide}"


def test_no_sideways_scrolling_on_a_360px_phone(browser, web_hub, sign_in) -> None:
    event = web_hub.post(
        project="shop",
        channel="deploys",
        event="A very long deploy title that goes on and on to test wrapping on the smallest phones around",
        tags={f"tag{n}": "a-rather-long-tag-value-without-spaces-at-all" for n in range(7)},
        content={"url": "https://example.com/" + "x" * 200, "nested": {"list": list(range(30))}},
        context_id="narrow-1",
        actions=[{"label": "Open the dashboard for this deploy", "url": "https://example.com/", "external": True}],
    )
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=web_hub.url)
    try:
        page = context.new_page()
        sign_in(page, "ada@example.com")
        expect(page.locator("#tabbar .nav-link").first).to_be_visible()
        expect(page.locator("#sidebar")).to_be_hidden()
        for path in ("/?project=shop", f"/events/{event['id']}", "/heartbeats", "/actions", "/settings", "/admin"):
            page.goto(path)
            page.wait_for_selector("main .page-head")
            page.wait_for_timeout(300)
            assert_fits(page, path, 360)
    finally:
        context.close()


def test_long_unbroken_strings_wrap_on_a_390px_phone(phone, web_hub, sign_in) -> None:
    long = "x" * 120
    event = web_hub.post(
        project="longwords",
        channel="c" * 60,
        event=f"Title-{long}",
        user_id=f"user-{long}@example.com",
        tags={"k" * 32: f"value-{long}", "plan": "pro"},
        description=f"Description-{long}",
    )
    page = phone.new_page()
    sign_in(page, "ada@example.com")
    expect(page.locator("#tabbar .nav-link").first).to_be_visible()
    paths = ("/?project=longwords", f"/events/{event['id']}", f"/?project=longwords&channel={'c' * 60}")
    for path in (*paths, f"/?user_id=user-{long}@example.com&tag={'k' * 32}:value-{long}"):
        page.goto(path)
        expect(page.locator(".card").first).to_be_visible()
        page.wait_for_timeout(200)
        assert_fits(page, path, 390)


def test_keyboard_alone_signs_in_searches_and_filters(context, web_hub) -> None:
    web_hub.post(project="keys", channel="kb", event="Reached by keyboard", tags={"via": "tab"})
    page = context.new_page()
    page.goto("/login")
    expect(page.locator("#email")).to_be_focused()  # autofocus
    page.keyboard.type("ada@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#nav .nav-link").first).to_be_visible()
    page.goto("/?project=keys")
    expect(page.locator(".card", has_text="Reached by keyboard")).to_be_visible()
    for _ in range(40):  # Tab through the page until the search box has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('search-input')"):
            break
    else:
        pytest.fail("the search box cannot be reached with Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement.closest('.search')).boxShadow")
    assert outline != "none"  # focus is visible
    for _ in range(60):  # on to the tag chip, then Enter filters by it
        page.keyboard.press("Tab")
        if page.evaluate(
            "document.activeElement.classList.contains('chip') && document.activeElement.closest('.tags')"
        ):
            break
    else:
        pytest.fail("the tag chip cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"tag=via%3Atab"))


def test_skip_link_first_and_focus_follows_navigation(context, web_hub, sign_in) -> None:
    web_hub.post(project="focus", event="Focus lands on the page")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=focus")
    expect(page.locator(".card")).to_have_count(1)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    assert page.get_by_role("link", name="Skip to content").bounding_box()["y"] >= 0  # shown while focused
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    assert page.url.endswith("/?project=focus")

    page.locator("#nav .nav-link", has_text="Heartbeats").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/heartbeats$"))
    expect(page.locator("#main")).to_be_focused()

    page.go_back()
    expect(page.locator(".card")).to_have_count(1)
    expect(page.locator("#main")).to_be_focused()
    page.get_by_role("button", name="Critical").click()  # a filter change re-renders the page
    expect(page).to_have_url(re.compile(r"severity=critical"))
    expect(page.locator("#main")).to_be_focused()
    page.keyboard.press("Tab")  # and Tab goes on from the top of the page, not the top of the document
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_colour_scheme_follows_the_system_with_readable_contrast(browser, web_hub, sign_in, scheme) -> None:
    web_hub.post(project=f"contrast-{scheme}", channel="ui", event="Readable in both schemes", description="Body text")
    context = browser.new_context(color_scheme=scheme, base_url=web_hub.url)
    try:
        page = context.new_page()
        sign_in(page, "ada@example.com")
        page.goto(f"/?project=contrast-{scheme}")
        expect(page.locator(".card")).to_have_count(1)
        for selector, minimum in ((".card-title a", 7), (".card .desc", 7), (".card-meta", 4.5), (".nav-link", 4.5)):
            ratio, _ = page.evaluate(CONTRAST, selector)
            assert ratio >= minimum, f"{selector}: contrast {ratio:.2f} in {scheme} mode"
        _, body = page.evaluate(CONTRAST, "main h1")
        assert (body < 0.05) if scheme == "dark" else (body > 0.8)
    finally:
        context.close()


def test_cards_stay_put_while_events_stream_in(context, web_hub, sign_in) -> None:
    for n in range(25):
        web_hub.post(project="steady", event=f"Steady event {n:02d}")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=steady")
    expect(page.locator(".card")).to_have_count(25)
    page.evaluate("""() => {
        window.__shift = 0;
        new PerformanceObserver((list) => {
            for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__shift += entry.value;
        }).observe({ type: 'layout-shift' });
    }""")
    page.evaluate("window.scrollTo(0, 900)")
    page.wait_for_timeout(300)
    card = page.locator(".card", has_text="Steady event 10")
    before = card.bounding_box()["y"]
    page.evaluate("window.__shift = 0")
    for n in range(3):
        web_hub.post(project="steady", event=f"Streamed while reading {n}")
    expect(page.locator(".pill")).to_have_text("3 new")
    page.wait_for_timeout(300)
    assert card.bounding_box()["y"] == before
    assert page.evaluate("window.__shift") == 0


HEADINGS = "() => [...document.querySelectorAll('main h1, main h2, main h3, main h4')].map((n) => Number(n.tagName[1]))"


def test_every_page_has_one_h1_and_no_skipped_heading_levels(context, web_hub, sign_in) -> None:
    """Screen reader users move by headings: the event page's h1 is the event's title, cards are h2 under the feed's."""
    event = web_hub.post(project="shop", channel="deploys", event="Heading check", context_id="headings-1")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    pages = {
        "/?project=shop": ".card",
        f"/events/{event['id']}": ".card",
        "/events/1": ".empty",
        "/heartbeats": ".checks > *",
        "/actions": ".panel, .empty",
        "/admin": ".panel",
        "/settings": ".panel",
        "/no/such/page": ".empty",
    }
    for path, ready in pages.items():
        page.goto(path)
        page.wait_for_selector(f"main {ready}")
        levels = page.evaluate(HEADINGS)
        assert levels.count(1) == 1 and levels[0] == 1, f"{path}: headings {levels}"
        assert all(b <= a + 1 for a, b in pairwise(levels)), f"{path}: headings {levels}"
    page.goto(f"/events/{event['id']}")
    expect(page.locator("main h1")).to_have_text("Heading check")
    for path in ("/events/1", "/no/such/page"):  # a dead end still has a way back
        page.goto(path)
        page.locator("main a[href='/']").first.click()
        expect(page).to_have_url(re.compile(r"/$"))
