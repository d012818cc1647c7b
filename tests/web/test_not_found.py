"""An unknown address: a browser gets the app's own not-found page (with a 404), API clients a JSON 404."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_an_unknown_page_shows_the_apps_not_found_page(context, sign_in) -> None:
    page = context.new_page()
    sign_in(page, "ada@example.com")
    response = page.goto("/nonexistent/page")
    assert response.status == 404
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    expect(page.locator("#main")).to_contain_text("This page does not exist.")
    expect(page.locator("#nav .nav-link").first).to_be_visible()  # the whole app, not a bare error


@pytest.mark.parametrize("path", ["/api/v1/nope", "/v1/nope", "/hooks/nope", "/badge/nope", "/health/nope"])
@pytest.mark.parametrize("accept", ["*/*", BROWSER_ACCEPT])
def test_unknown_api_paths_stay_json_404s(web_hub, path, accept) -> None:
    response = httpx.get(f"{web_hub.url}{path}", headers={"Accept": accept}, timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["status"] == 404


def test_an_unknown_page_without_html_in_accept_is_a_json_404(web_hub) -> None:
    response = httpx.get(f"{web_hub.url}/nonexistent", headers={"Accept": "*/*"}, timeout=10)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
