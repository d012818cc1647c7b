"""Take the README's screenshots: a hub with sample data on loopback, driven by headless Chromium.

    python docs/screenshots/take.py            # writes docs/screenshots/*.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec
from playwright.sync_api import sync_playwright

from hub import passwords
from hub.accounts import set_password
from hub.app import create_app
from hub.config import load_settings
from hub.people.models import UserIn
from hub.testing import LiveHub

OUT = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
PASSWORD = "correct horse battery"

EVENTS = [
    {"project": "shop", "channel": "signups", "event": "New signup", "icon": "👋", "user_id": "jane@acme.io",
     "description": "Jane from Acme Inc. started a trial from the pricing page.", "tags": {"plan": "trial", "source": "pricing"}},
    {"project": "shop", "channel": "payments", "event": "Payment failed", "icon": "💳", "severity": "warning",
     "user_id": "cus_Q2x8", "description": "Card declined: insufficient funds. Stripe retries in 3 days.",
     "tags": {"plan": "starter", "attempt": 1}},
    {"project": "shop", "channel": "errors", "event": "Error rate above 5% on /checkout", "icon": "🚨",
     "severity": "critical", "description": "p99 latency 2.4 s for the last 10 minutes.",
     "tags": {"service": "checkout", "region": "eu-west-1"}},
    {"project": "shop", "channel": "payments", "event": "New subscription: Pro (yearly)", "icon": "💰",
     "parser": "markdown", "user_id": "cus_8843",
     "description": "**Acme Inc.** upgraded from *Starter* — 5 seats, billed yearly.",
     "tags": {"plan": "pro", "country": "DE"},
     "content": {"customer": "cus_8843", "plan": "pro_yearly", "seats": 5, "amount": 24900, "currency": "eur",
                 "coupon": None, "trial": False}},
]
DEPLOY = {
    "project": "shop", "channel": "deploys", "event": "Deploy v2.14.0 to production", "icon": "🚀",
    "description": "12 commits by 3 authors, built in 4 min 12 s.", "context_id": "deploy-2.14.0",
    "tags": {"env": "production", "version": "2.14.0"},
    "content": {"commit": "9f2c1e4", "branch": "main", "duration_s": 252, "author": "ada", "changes": 12},
    "actions": [
        {"label": "Roll back", "key": "rollback", "url": "https://deploy.example.com/rollback", "confirm": True},
        {"label": "Promote to EU", "key": "promote", "url": "https://deploy.example.com/promote"},
        {"label": "Open CI run", "url": "https://ci.example.com/runs/4711", "external": True},
    ],
}
CHILDREN = [
    {"project": "shop", "channel": "deploys", "event": "Database migrations applied", "icon": "🗄️",
     "context_id": "deploy-2.14.0", "description": "3 migrations in 1.8 s"},
    {"project": "shop", "channel": "deploys", "event": "Health checks passing", "icon": "✅",
     "context_id": "deploy-2.14.0"},
]
CHECKS = [
    {"name": "Nightly backup", "project": "shop", "cron": "30 2 * * *", "tz": "Europe/Berlin", "grace": 1800},
    {"name": "Invoice run", "project": "shop", "cron": "0 9 * * 1-5", "tz": "Europe/Berlin", "grace": 600},
    {"name": "Queue worker", "project": "shop", "period": 300, "grace": 120},
    {"name": "Search reindex", "project": "shop", "period": 3600, "grace": 300},
]


def seed(live: LiveHub) -> str:
    key = live.key("admin")
    headers = {"Authorization": f"Bearer {key}"}

    async def people() -> None:
        user = await live.hub.people.create_user(
            msgspec.convert({"email": "ada@example.com", "name": "Ada Lovelace", "role": "admin"}, UserIn)
        )
        await set_password(live.hub.db, user.id, PASSWORD)

    live.run(people())
    with httpx.Client(base_url=live.url, headers=headers, timeout=10) as client:
        deploy = None
        for event in [*EVENTS[:2], DEPLOY, *CHILDREN, *EVENTS[2:]]:
            stored = client.post("/api/v1/events", json=event).json()
            deploy = stored if event is DEPLOY else deploy
        for check in CHECKS:
            made = client.post("/api/v1/checks", json=check).json()
            for n in range(14 if check["name"] != "Search reindex" else 0):
                outcome = "fail" if (check["name"] == "Queue worker" and n in (4, 5)) else ""
                client.post(f"/ping/{made['uuid']}/start?rid=r{n}")
                time.sleep(0.01 * (1 + n % 4))
                client.post(f"/ping/{made['uuid']}/{outcome}?rid=r{n}".replace("/?", "?"))
        client.post(f"/api/v1/checks/{made['uuid']}/pause")
    return deploy["id"]


def main() -> int:
    passwords.LOG_N, passwords.P = 10, 1
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            environ={"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/hub.db", "HUB_SERVER_RUN_JOBS": "false"}
        )
        live = LiveHub(create_app(settings))
        live.start()
        try:
            deploy_id = seed(live)
            shoot(live.url, deploy_id)
        finally:
            live.stop()
    return 0


def shoot(url: str, deploy_id: str) -> None:
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        for name, (width, height) in VIEWPORTS.items():
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": width, "height": height}, color_scheme=scheme, device_scale_factor=2,
                    base_url=url,
                )
                page = context.new_page()
                page.goto("/login")
                page.fill("#email", "ada@example.com")
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_selector(".card")
                pages = {"feed": "/?project=shop", "event": f"/events/{deploy_id}", "heartbeats": "/heartbeats"}
                for shot, path in pages.items():
                    page.goto(path)
                    page.wait_for_selector(".card, .check")
                    if shot == "heartbeats":
                        page.wait_for_selector(".spark rect")
                    page.wait_for_timeout(400)
                    page.screenshot(path=OUT / f"{shot}-{name}-{scheme}.png")
                context.close()
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
