"""Offline and back: cached events are marked as such, an uncached view says it has nothing, the live indicator
says what it shows in words, and everything clears once the hub can be reached again."""

from __future__ import annotations

import msgspec
import pytest
from playwright.sync_api import expect

from hub.accounts import set_password
from hub.people.models import UserIn
from tests.web.conftest import PASSWORD

LAST_LOADED = "Showing the events last loaded on this device."
NOTHING_SAVED = "nothing is saved on this device for this view"


def test_offline_feed_is_marked_and_recovers_when_the_hub_is_back(context, web_hub, sign_in) -> None:
    web_hub.post(project="offline-marks", event="Loaded before the network went away")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/?project=offline-marks")
    expect(page.locator(".card", has_text="Loaded before the network went away")).to_be_visible()
    expect(page.locator(".live")).to_have_text("Live")
    # A function, not an expression: Playwright evals an expression again at every poll, which the app's CSP
    # refuses (no unsafe-eval), so a worker that took control after the first check failed the test.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()  # once more, so this exact feed request goes through (and into) the worker's cache
    expect(page.locator(".card", has_text="Loaded before the network went away")).to_be_visible()
    banner = page.locator(".banner")
    expect(banner).to_be_hidden()

    context.set_offline(True)
    try:
        page.reload()
        expect(page.locator(".card", has_text="Loaded before the network went away")).to_be_visible()
        expect(banner).to_be_visible()
        expect(banner).to_contain_text(LAST_LOADED)
        expect(page.locator(".live")).to_have_text("Offline")

        page.get_by_role("button", name="Critical").click()  # a view never loaded before
        expect(page.locator(".card")).to_have_count(0)
        expect(banner).to_contain_text(NOTHING_SAVED)
        expect(banner).not_to_contain_text(LAST_LOADED)
        expect(page.get_by_text("cannot be reached")).to_have_count(1)  # the banner's, not a second line below it
        expect(page.locator(".feed-status").get_by_role("button", name="Retry")).to_be_visible()
    finally:
        context.set_offline(False)

    # The stream reconnects by itself; the banner and the error go, and the view is the hub's again.
    expect(page.locator(".live")).to_have_text("Live", timeout=15_000)
    expect(banner).to_be_hidden()
    expect(page.locator(".feed-status .error")).to_have_count(0)
    expect(page.locator(".feed-status")).to_contain_text("No events match these filters")
    web_hub.post(project="offline-marks", event="Sent once back online", severity="critical")
    expect(page.locator(".card", has_text="Sent once back online")).to_be_visible()
    expect(page.locator(".card")).to_have_count(1)


def test_a_hub_that_cannot_be_reached_at_start_offers_to_try_again(context, web_hub, sign_in) -> None:
    page = context.new_page()
    page.route("**/api/v1/session", lambda route: route.abort())
    page.goto("/")
    expect(page.locator("main h1")).to_have_text("The hub cannot be reached")
    expect(page.locator("main")).to_contain_text("Check your connection, or whether the hub is running.")
    expect(page.locator("#sidebar")).to_be_hidden()  # no empty navigation around it
    page.unroute("**/api/v1/session")
    page.get_by_role("button", name="Try again").click()
    expect(page.locator("#email")).to_be_visible()


# Whether the service worker still holds cached answers (hub-data-v1). A function, polled: it starts a check and
# reads the last one's result, as wait_for_function does not wait for a promise.
DATA_CACHED = """() => {
  caches.has("hub-data-v1").then((found) => { window.__dataCached = found; });
  return window.__dataCached;
}"""
DATA_GONE = f"() => ({DATA_CACHED})() === false"


def feed_cached_for(page, sign_in, email: str) -> None:
    """Signed in, with the feed loaded through the service worker and so into its cache."""
    sign_in(page, email)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()
    expect(page.locator(".card").first).to_be_visible()
    page.wait_for_function(DATA_CACHED)


def test_only_the_app_is_kept_as_the_page_to_show_offline(context, web_hub, sign_in) -> None:
    """Any page opened in the browser was stored as the app shell: the session's JSON, CSRF token and all, opened
    by hand (or from another site's link), took its place, outlived sign-out, and was what `/` showed offline."""
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.goto("/api/v1/session")
    assert "csrf_token" in page.content()
    context.set_offline(True)
    try:
        page.goto("/")
        expect(page.locator("#sidebar")).to_be_attached()  # the app, not the session's JSON
        assert "csrf_token" not in page.content()
    finally:
        context.set_offline(False)


def test_signing_out_deletes_the_cached_events(context, web_hub, sign_in) -> None:
    web_hub.post(project="shop", event="Cached until sign-out")
    page = context.new_page()
    feed_cached_for(page, sign_in, "sam@example.com")
    page.goto("/settings")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_function(DATA_GONE)


def test_signing_out_while_the_hub_cannot_be_reached_says_so_and_stays_signed_in(context, web_hub, sign_in) -> None:
    """The sign-in page showed, and the session the hub never ended came back at the next reload."""
    page = context.new_page()
    sign_in(page, "sam@example.com")
    page.goto("/settings")
    page.route(
        "**/api/v1/session", lambda route: route.abort() if route.request.method == "DELETE" else route.fallback()
    )
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".toast-error")).to_have_text(
        "Not signed out: The hub cannot be reached. Check your connection."
    )
    expect(page.locator("main h1")).to_have_text("Settings")
    page.unroute("**/api/v1/session")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#email")).to_be_visible()
    page.reload()
    expect(page.locator("#email")).to_be_visible()  # ended on the hub this time


@pytest.mark.parametrize("finds_out", ["at the next request", "at the next start"])
def test_a_session_ended_elsewhere_leaves_nothing_to_start_offline_with(context, web_hub, sign_in, finds_out) -> None:
    """Reset by an admin (or expired, or changed in another browser): the cached session and events went only on
    Sign out, and offline the app then started as the person whose session had ended, with their feed."""
    email = f"quinn-{finds_out.split()[-1]}@example.com"

    async def person() -> str:
        data = {"email": email, "name": "Quinn", "role": "member", "projects": ["shop"]}
        user = await web_hub.live.hub.people.create_user(msgspec.convert(data, UserIn))
        await set_password(web_hub.live.hub.db, user.id, PASSWORD)
        return user.id

    quinn = web_hub.run(person())
    web_hub.post(project="shop", event="Cached for Quinn")
    page = context.new_page()
    feed_cached_for(page, sign_in, email)

    web_hub.run(web_hub.live.hub.sessions.end_all(quinn))
    if finds_out == "at the next request":
        page.get_by_role("link", name="Heartbeats").first.click()
        expect(page.locator(".notice")).to_have_text("Your session has ended. Sign in again to go on where you were.")
    else:
        page.reload()
        expect(page.locator("#email")).to_be_visible()
    page.wait_for_function(DATA_GONE)

    context.set_offline(True)
    try:
        page.reload()
        expect(page.locator("main h1")).to_have_text("The hub cannot be reached")
    finally:
        context.set_offline(False)
