"""Every answer, the API's and its errors too, tells browsers not to guess its type, show it in a frame or keep it."""

from __future__ import annotations

import httpx
import pytest


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/schema", 200),  # an HTML page of the hub's own origin
        ("POST", "/hooks/github/%3Csvg%20onload=alert(1)%3E", 404),  # an error that repeats the request
        ("GET", "/api/v1/events", 401),
        ("POST", "/api/v1/session", 400),
        ("GET", "/nowhere", 404),
        ("GET", "/", 200),  # the web app, which sets its own stricter headers
    ],
)
async def test_every_answer_carries_nosniff_and_no_framing(client: httpx.AsyncClient, method, path, status):
    response = await client.request(method, path, content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.headers.get_list("x-content-type-options") == ["nosniff"]
    assert response.headers.get_list("x-frame-options") == ["DENY"]
    # The app's own page may be kept, and is revalidated on each load; nothing else may be kept at all.
    assert response.headers.get_list("cache-control") == (["no-cache"] if path == "/" else ["no-store"])


async def test_an_authorized_answer_carries_them_too(client: httpx.AsyncClient, admin_headers):
    response = await client.get("/api/v1/keys", headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
