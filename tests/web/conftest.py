"""Browser tests: one headless Chromium for the session, one hub (SQLite) served by uvicorn on loopback.

Without /usr/bin/chromium the tests are skipped with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
import pytest
from peers import LoopbackServer

from hub import passwords
from hub.accounts import set_password
from hub.app import create_app
from hub.config import load_settings
from hub.people.models import UserIn
from hub.testing import IN_CI, LiveHub

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
USERS = {  # email: (role, projects)
    "ada@example.com": ("admin", []),
    "sam@example.com": ("member", ["shop"]),
    "vic@example.com": ("viewer", ["shop"]),
    "olga@example.com": ("member", ["payroll"]),
}

# One standalone action for the self-service page, as the config file would declare it.
SELF_SERVICE = (
    '[{name = "flush-cache", label = "Flush the CDN cache", project = "shop", url = "TARGET/flush", '
    'description = "Purges every cached page in one region.", '
    'inputs = [{name = "region", label = "Region", type = "choice", choices = ["eu", "us"], required = true}]}]'
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an event loop running while it is open, which would break
    the asyncio tests that run after the browser tests in the same process (or xdist worker)."""
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if IN_CI:
            pytest.fail(f"{message}; CI=true requires it", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class WebHub:
    live: LiveHub
    key: str
    user_ids: dict[str, str] = field(default_factory=dict)
    # Receives the configured self-service action `flush-cache` (see SELF_SERVICE).
    service: Any = None

    @property
    def url(self) -> str:
        return self.live.url

    def post(self, **event: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.url}/api/v1/events", json=event, headers={"Authorization": f"Bearer {self.key}"}, timeout=10
        )
        assert response.status_code == 201, response.text
        return response.json()

    def run(self, coroutine: Any) -> Any:
        return self.live.run(coroutine)


@pytest.fixture(scope="session")
def web_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebHub]:
    """The hub the browser talks to, with four people; loopback allowed for action targets and push services."""
    saved = passwords.LOG_N, passwords.P
    passwords.LOG_N, passwords.P = 8, 1  # behaviour, not cost, is under test
    database = tmp_path_factory.mktemp("web") / "hub.db"
    service = LoopbackServer(lambda _: (200, {"Content-Type": "application/json"}, b'{"message": "Cache flushed"}'))
    service.__enter__()
    settings = load_settings(
        environ={
            "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "HUB_SERVER_RUN_JOBS": "false",
            "HUB_OUTBOUND_ALLOW": '["127.0.0.1"]',
            "HUB_SELF_SERVICE_ACTIONS": SELF_SERVICE.replace("TARGET", service.url),
        }
    )
    live = LiveHub(create_app(settings))
    live.start()
    try:
        web = WebHub(live, live.key("admin"), service=service)

        async def people() -> None:
            for email, (role, projects) in USERS.items():
                data = {"email": email, "name": email.split("@")[0].title(), "role": role, "projects": projects}
                user = await live.hub.people.create_user(msgspec.convert(data, UserIn))
                await set_password(live.hub.db, user.id, PASSWORD)
                web.user_ids[email] = user.id

        web.run(people())
        yield web
    finally:
        live.stop()
        service.__exit__(None, None, None)
        passwords.LOG_N, passwords.P = saved


@pytest.fixture
def context(browser: Any, web_hub: WebHub) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=web_hub.url)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def phone(browser: Any, web_hub: WebHub) -> Iterator[Any]:
    """A browser context the size of a 390 px phone (an iPhone 14), for layouts that must hold on one."""
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, base_url=web_hub.url)
    yield ctx
    ctx.close()


@pytest.fixture
def sign_in() -> Callable[..., None]:
    """`sign_in(page, email)`: through the sign-in form, as a person would."""

    def go(page: Any, email: str, password: str = PASSWORD) -> None:
        page.goto("/login")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_selector("#nav .nav-link", state="attached")  # on a phone the sidebar is hidden

    return go
