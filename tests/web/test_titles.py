"""The tab's title follows the page: each route sets its own, so an event's title never outlives its page."""

from __future__ import annotations

from playwright.sync_api import expect


def test_every_page_sets_its_own_title(context, web_hub, sign_in) -> None:
    event = web_hub.post(project="shop", channel="orders", event="Order #7007 placed")
    page = context.new_page()
    page.goto("/login")
    expect(page).to_have_title("Sign in · hub")
    sign_in(page, "ada@example.com")
    expect(page).to_have_title("Feed · hub")

    page.locator(".card-title a", has_text="Order #7007 placed").click()
    expect(page.locator(".card-title")).to_have_text("Order #7007 placed")
    expect(page).to_have_title("Order #7007 placed · hub")
    page.go_back()
    expect(page.locator(".card-title a", has_text="Order #7007 placed")).to_be_visible()
    expect(page).to_have_title("Feed · hub")

    page.goto(f"/events/{event['id']}")
    expect(page).to_have_title("Order #7007 placed · hub")
    for section in ("Heartbeats", "Actions", "Admin", "Settings"):
        page.locator("#nav .nav-link", has_text=section).click()
        expect(page).to_have_title(f"{section} · hub")
    page.locator("#sidebar-projects .side-link", has_text="shop").click()
    expect(page).to_have_title("shop · hub")
    page.goto("/no/such/page")
    expect(page).to_have_title("Page not found · hub")
