"""Installability and offline use: a valid manifest with PNG icons, a service worker controlling the app,
and the feed opening offline with the last loaded events."""

from __future__ import annotations

import struct

from playwright.sync_api import expect


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_manifest_meets_install_criteria(context) -> None:
    page = context.new_page()
    page.goto("/login")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    response = context.request.get(href)
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] and manifest["short_name"]
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/" and manifest["id"] == "/"
    sizes = {}
    for icon in manifest["icons"]:
        if icon["type"] == "image/png":
            data = context.request.get(icon["src"]).body()
            width, height = png_size(data)
            assert icon["sizes"] == f"{width}x{height}"
            sizes.setdefault(icon.get("purpose", "any"), set()).add(width)
    assert {192, 512} <= sizes["any"]
    assert 512 in sizes["maskable"]


def test_service_worker_controls_the_app_and_the_feed_opens_offline(context, web_hub, sign_in) -> None:
    web_hub.post(project="offline", event="Seen before going offline")
    page = context.new_page()
    sign_in(page, "ada@example.com")
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{web_hub.url}/"
    page.goto("/?project=offline")
    expect(page.locator(".card", has_text="Seen before going offline")).to_be_visible()
    # A function, not an expression: Playwright evals an expression again at every poll, which the app's CSP
    # refuses (no unsafe-eval), so a worker that took control after the first check failed the test.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.reload()  # once more, so this exact feed request goes through (and into) the worker's cache
    expect(page.locator(".card", has_text="Seen before going offline")).to_be_visible()

    context.set_offline(True)
    try:
        page.reload()
        expect(page.locator("#nav .nav-link").first).to_be_visible()  # the shell, from the cache
        expect(page.locator(".card", has_text="Seen before going offline")).to_be_visible()
    finally:
        context.set_offline(False)


def test_the_default_notification_icon_is_served(context) -> None:
    """The web push plugin's default `icon` is `/icon-192.png`: it must be a real image, not a 404."""
    response = context.request.get("/icon-192.png")
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    assert png_size(response.body()) == (192, 192)
