"""Views that stay current while open: a context's timeline gains the follow-ups that arrive meanwhile."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_an_open_timeline_gains_a_follow_up_sent_while_it_is_open(context, web_hub, sign_in) -> None:
    parent = web_hub.post(project="shop", channel="deploys", event="Release r4.0", context_id="r40")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto(f"/events/{parent['id']}")
    expect(page.locator(".context")).to_contain_text("No follow-up events in this context yet.")
    web_hub.post(project="shop", channel="deploys", event="r4.0 migrations applied", context_id="r40")
    steps = page.locator(".timeline .tl-item")
    expect(steps).to_have_count(1, timeout=15_000)  # it checks every 5 seconds
    expect(steps).to_contain_text("r4.0 migrations applied")
    expect(page.locator(".context")).not_to_contain_text("No follow-up events")

    page.goto("/?project=shop&channel=deploys")
    card = page.locator(".card", has_text="Release r4.0")
    card.get_by_role("button", name="Show timeline").click()
    expect(card.locator(".timeline .tl-item")).to_have_count(1)
    web_hub.post(project="shop", channel="deploys", event="r4.0 health checks green", context_id="r40")
    expect(card.locator(".timeline .tl-item")).to_have_count(2, timeout=15_000)
    expect(card.locator(".timeline .tl-item").last).to_contain_text("r4.0 health checks green")


def test_new_projects_and_counts_reach_the_sidebar_and_the_picker(context, web_hub, sign_in) -> None:
    """The projects are loaded again at most every 5 seconds: the page's clock is moved on rather than waited for."""
    page = context.new_page()
    page.clock.install()
    sign_in(page, "ada@example.com")
    sidebar = page.locator("#sidebar-projects")
    expect(page.locator(".live")).not_to_have_class(re.compile("live-off"))
    expect(sidebar).not_to_contain_text("brand-new")
    web_hub.post(project="brand-new", event="First event of a new project")
    expect(page.locator(".card").first).to_contain_text("First event of a new project")
    page.clock.fast_forward(5000)
    link = sidebar.locator(".side-link", has_text="brand-new")
    expect(link).to_contain_text("1")
    expect(page.get_by_label("Project").locator("option", has_text="brand-new")).to_have_count(1)
    web_hub.post(project="brand-new", event="Second event of a new project")
    expect(page.locator(".card").first).to_contain_text("Second event of a new project")
    page.clock.fast_forward(5000)
    expect(link).to_contain_text("2")

    # An event the open feed does not show (another project) arrives with the next navigation.
    page.goto("/?project=brand-new")
    web_hub.post(project="brand-newer", event="Sent while another project is open")
    page.locator("#nav .nav-link", has_text="Heartbeats").click()
    expect(sidebar.locator(".side-link", has_text="brand-newer")).to_be_visible(timeout=15_000)
