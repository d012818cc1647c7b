"""The account from the browser: change the password, sign out, and only the new password signs in again."""

from __future__ import annotations

import msgspec
from playwright.sync_api import expect

from hub.accounts import set_password
from hub.people.models import UserIn
from tests.web.conftest import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


def test_password_change_and_sign_out(context, web_hub, sign_in) -> None:
    async def person() -> None:
        data = {"email": "pat@example.com", "name": "Pat", "role": "member", "projects": ["shop"]}
        user = await web_hub.live.hub.people.create_user(msgspec.convert(data, UserIn))
        await set_password(web_hub.live.hub.db, user.id, PASSWORD)

    web_hub.run(person())
    page = context.new_page()
    sign_in(page, "pat@example.com")
    page.goto("/settings")
    page.fill("#pw-current", "not my password")
    page.fill("#pw-new", NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".form-error")).to_contain_text("current password is wrong")
    page.fill("#pw-current", PASSWORD)
    page.fill("#pw-new", NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".toast")).to_contain_text("Password changed")

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#email")).to_be_visible()
    assert page.evaluate("fetch('/api/v1/session').then(r => r.status)") == 401

    page.fill("#email", "pat@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".form-error")).to_have_text("Wrong email or password.")
    page.fill("#password", NEW_PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".user-name")).to_have_text("Pat")


def test_the_sign_in_form_keeps_what_is_typed_while_the_page_before_it_would_refresh(context, web_hub, sign_in) -> None:
    """Heartbeats refreshes every 30 s: after the session ended it went on, was refused each time, and drew the
    sign-in form again, wiping the email and password being typed."""
    page = context.new_page()
    page.clock.install()
    sign_in(page, "ada@example.com")
    page.goto("/heartbeats")
    expect(page.locator("main h1")).to_have_text("Heartbeats")
    other = context.new_page()
    other.goto("/settings")
    other.get_by_role("button", name="Sign out").click()
    expect(other.locator("#email")).to_be_visible()

    page.clock.fast_forward(31_000)  # the refresh, refused: the sign-in form
    expect(page.locator("#email")).to_be_visible()
    page.fill("#email", "ada@example.com")
    page.clock.fast_forward(61_000)  # the refresh would have come twice more
    page.wait_for_timeout(300)
    expect(page.locator("#email")).to_have_value("ada@example.com")


def test_a_session_ended_elsewhere_shows_the_sign_in_with_the_reason(context, web_hub, sign_in) -> None:
    """Signed out in another tab, the open feed's stream is refused: the page says why it now asks to sign in."""
    feed = context.new_page()
    sign_in(feed, "ada@example.com")
    expect(feed.locator(".live")).to_have_text("Live")
    other = context.new_page()
    other.goto("/settings")
    other.get_by_role("button", name="Sign out").click()
    expect(other.locator("#email")).to_be_visible()
    expect(other.locator(".notice")).to_have_count(0)  # signing out yourself needs no explanation

    expect(feed.locator(".notice")).to_have_text(
        "Your session has ended. Sign in again to go on where you were.", timeout=15_000
    )  # the stream re-checks the session every 5 seconds
    expect(feed.locator("#email")).to_be_focused()
    feed.fill("#email", "ada@example.com")
    feed.fill("#password", PASSWORD)
    feed.click("button[type=submit]")
    expect(feed.locator(".live")).to_have_text("Live")
