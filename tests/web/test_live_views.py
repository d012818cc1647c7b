"""Views that stay current while open: a context's timeline gains the follow-ups that arrive meanwhile, and a card's
summary of its timeline changes as they do."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import expect


def test_an_open_timeline_gains_a_follow_up_sent_while_it_is_open(context, web_hub, sign_in) -> None:
    parent = web_hub.post(project="shop", channel="deploys", event="Release r4.0", context_id="r40")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto(f"/events/{parent['id']}")
    expect(page.locator(".context")).to_contain_text("No follow-up events in this context yet.")
    web_hub.post(project="shop", channel="deploys", event="r4.0 migrations applied", context_id="r40")
    steps = page.locator(".timeline .tl-item")
    expect(steps).to_have_count(1, timeout=15_000)  # the event's page has no stream: it checks every 5 seconds
    expect(steps).to_contain_text("r4.0 migrations applied")
    expect(page.locator(".context")).not_to_contain_text("No follow-up events")

    page.goto("/?project=shop&channel=deploys")
    card = page.locator(".card", has_text="Release r4.0")
    card.get_by_role("button", name="Show timeline").click()
    expect(card.locator(".timeline .tl-item")).to_have_count(1)
    web_hub.post(project="shop", channel="deploys", event="r4.0 health checks green", context_id="r40")
    expect(card.locator(".timeline .tl-item")).to_have_count(2)  # the feed's stream tells of it
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


def test_a_card_tells_its_timeline_and_marks_a_critical_follow_up_as_it_arrives(context, web_hub, sign_in) -> None:
    """The page's clock is paused once the feed is live, so the open timeline's 5-second check never runs: what
    arrives, the stream brought."""
    web_hub.post(project="shop", channel="releases", event="Release r5.0", context_id="r50")
    web_hub.post(project="shop", channel="releases", event="r5.0 migrations applied", context_id="r50")
    web_hub.post(project="shop", channel="releases", event="Release r5.1", context_id="r51")
    page = context.new_page()
    page.clock.install()
    sign_in(page, "ada@example.com")
    page.goto("/?project=shop&channel=releases")
    expect(page.locator(".live")).not_to_have_class(re.compile("live-off"))
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))
    card = page.locator(".card", has_text="Release r5.0")
    summary = card.locator(".tl-summary")
    expect(summary).to_have_text(re.compile(r"^1 follow-up·latest just now$"))
    expect(page.locator(".card", has_text="Release r5.1").locator(".tl-summary")).to_be_hidden()  # none yet

    web_hub.post(
        project="shop", channel="releases", event="r5.0 health check failed", context_id="r50", severity="critical"
    )
    expect(summary).to_have_text(re.compile(r"^2 follow-ups·latest just now·worst: critical$"))
    expect(card).to_have_class(re.compile(r"\btl-new-critical\b"))
    expect(card.locator(".tl-new")).to_have_text("New critical follow-up")
    toasts = page.locator("#toasts")
    expect(toasts).to_have_attribute("aria-live", "polite")
    expect(toasts).to_contain_text("New critical follow-up in “Release r5.0”: r5.0 health check failed")

    card.get_by_role("button", name="Show timeline").click()
    steps = card.locator(".timeline .tl-item")
    expect(steps).to_have_count(2)
    expect(card).not_to_have_class(re.compile(r"\btl-new-critical\b"))  # seen
    web_hub.post(project="shop", channel="releases", event="r5.0 rolled back", context_id="r50", severity="warning")
    expect(steps).to_have_count(3)
    expect(steps.last).to_contain_text("r5.0 rolled back")
    expect(toasts).to_contain_text("New warning follow-up in “Release r5.0”: r5.0 rolled back")
    expect(card).not_to_have_class(re.compile(r"\btl-new-warning\b"))  # in sight in the open timeline


def test_a_card_waiting_behind_the_pill_shows_the_follow_ups_told_of_meanwhile(context, web_hub, sign_in) -> None:
    batch = {"events": [{"project": "waiting", "event": f"Queued job {n} finished"} for n in range(30)]}
    headers = {"Authorization": f"Bearer {web_hub.key}"}
    assert httpx.post(f"{web_hub.url}/api/v1/events/batch", json=batch, headers=headers, timeout=10).is_success
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=waiting")
    expect(page.locator(".card")).to_have_count(30)
    expect(page.locator(".live")).not_to_have_class(re.compile("live-off"))
    page.mouse.wheel(0, 5000)
    page.wait_for_function("() => window.scrollY > 500")
    web_hub.post(project="waiting", event="Deploy r6.0", context_id="r60")
    web_hub.post(project="waiting", event="r6.0 health check failed", context_id="r60", severity="critical")
    web_hub.post(project="waiting", event="Queued job 30 finished")  # the stream keeps its order: told after
    pill = page.locator(".pill")
    expect(pill).to_have_text("2 new")
    pill.click()
    card = page.locator(".card", has_text="Deploy r6.0")
    expect(card.locator(".tl-summary")).to_have_text(re.compile(r"^1 follow-up·latest just now·worst: critical$"))
