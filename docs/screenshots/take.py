"""Take the README's screenshots: a hub with realistic data on loopback, driven by headless Chromium.

    .venv/bin/python docs/screenshots/take.py      # writes docs/screenshots/*.png

Install Debian's `fonts-noto-color-emoji` and `fonts-inter` first: without them, event icons are empty boxes.

The data arrives the way it does in production: Stripe and GitHub deliveries signed with the source's
secret and posted to `/hooks/...`, app events and insights through the API, a deploy with its context,
cron jobs pinging their checks. Only the heartbeat history is back-dated in the database, so the
sparklines show two weeks of runs and the checks sit in every state (up, late, down, paused, running).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import msgspec
from playwright.sync_api import sync_playwright
from sqlalchemy import update

from hub import passwords
from hub.accounts import set_password
from hub.app import create_app
from hub.config import load_settings
from hub.people.models import UserIn
from hub.testing import LiveHub

OUT = Path(__file__).parent
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
VIEWPORTS = {"phone": (390, 844), "desktop": (1440, 900)}
PASSWORD = "correct horse battery"  # noqa: S105 (sample data)
STRIPE_SECRET = "whsec_screenshots"  # noqa: S105
GITHUB_SECRET = "github-screenshots"  # noqa: S105
NOW = time.time()
REVIEW = os.environ.get("HUB_SCREENSHOTS_REVIEW")  # a folder: also write full-page shots there, to review


def ago(minutes: float) -> float:
    return NOW - minutes * 60


class ActionTarget:
    """The team's own deploy service on loopback: answers each action with a message, as real targets do."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.dumps({"message": "Promoted 2.14.0 to eu-west-1 in 38 s"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


SELF_SERVICE = (
    '[{name = "flush-cdn", label = "Flush the CDN cache", project = "shop", url = "TARGET/flush", '
    'description = "Purges every cached page in one region. Takes about a minute.", '
    'inputs = [{name = "region", label = "Region", type = "choice", choices = ["eu-central", "us-east"], '
    'required = true}, {name = "reason", label = "Reason", type = "text"}]}, '
    '{name = "rotate-key", label = "Rotate the payments API key", project = "shop", url = "TARGET/rotate", '
    'description = "Issues a new Stripe restricted key and revokes the old one after 10 minutes."}]'
)


def app_events(target: str) -> list[dict[str, Any]]:
    return [
        {
            "project": "shop",
            "channel": "signups",
            "event": "New signup",
            "icon": "👋",
            "user_id": "jane@acme.io",
            "description": "Jane Cooper from Acme Inc. started a 14-day trial from the pricing page.",
            "tags": {"plan": "trial", "source": "pricing"},
            "timestamp": ago(212),
        },
        {
            "project": "shop",
            "channel": "errors",
            "event": "Error rate above 5% on /checkout",
            "icon": "🚨",
            "severity": "critical",
            "description": "p99 latency 2.4 s for the last 10 minutes.",
            "tags": {"service": "checkout", "region": "eu-west-1"},
            "timestamp": ago(95),
        },
        {
            "project": "shop",
            "channel": "errors",
            "event": "Error rate back to normal on /checkout",
            "icon": "✅",
            "description": "0.3% errors, p99 310 ms.",
            "tags": {"service": "checkout", "region": "eu-west-1"},
            "timestamp": ago(71),
        },
        {
            "project": "shop",
            "channel": "signups",
            "event": "Team invite accepted",
            "icon": "🤝",
            "user_id": "lee@northwind.dev",
            "parser": "markdown",
            "description": "**Northwind** now has *4 seats* in use.",
            "tags": {"plan": "pro"},
            "timestamp": ago(33),
        },
        {
            "project": "api",
            "channel": "usage",
            "event": "Rate limit reached",
            "icon": "⚠️",
            "severity": "warning",
            "user_id": "key_live_7Hq",
            "description": "1,000 requests/min for 3 minutes.",
            "tags": {"endpoint": "/v2/search"},
            "timestamp": ago(18),
        },
    ]


def deploy(target: str) -> dict[str, Any]:
    return {
        "project": "shop",
        "channel": "deploys",
        "event": "Deploy v2.14.0 to production",
        "icon": "🚀",
        "description": "12 commits by 3 authors, built in 4m 12s.",
        "context_id": "deploy-2.14.0",
        "context_start": True,
        "timestamp": ago(9),
        "tags": {"env": "production", "version": "2.14.0"},
        "content": {
            "commit": "9f2c1e4",
            "branch": "main",
            "build": {"seconds": 252, "cache_hit": True},
            "author": "ada",
            "changes": 12,
            "regions": ["eu-central-1"],
        },
        "actions": [
            {"label": "Roll back", "key": "rollback", "url": f"{target}/rollback", "confirm": True},
            {"label": "Promote to EU", "key": "promote", "url": f"{target}/promote"},
            {"label": "Open CI run", "url": "https://ci.example.com/runs/4711", "external": True},
        ],
    }


CHILDREN = [
    {
        "project": "shop",
        "channel": "deploys",
        "event": "Database migrations applied",
        "icon": "🗄️",
        "context_id": "deploy-2.14.0",
        "description": "3 migrations in 1.8 s",
        "timestamp": ago(8),
    },
    {
        "project": "shop",
        "channel": "deploys",
        "event": "Health checks passing",
        "icon": "✅",
        "context_id": "deploy-2.14.0",
        "description": "12 of 12 instances healthy.",
        "timestamp": ago(6),
    },
]
INSIGHTS = [
    {"project": "shop", "title": "Revenue today", "value": "€1,284", "icon": "💶"},
    {"project": "shop", "title": "Active trials", "value": 38, "icon": "🧪"},
    {"project": "shop", "title": "Signups this week", "value": 112, "icon": "👋"},
    {"project": "shop", "title": "Checkout p99", "value": "310 ms", "icon": "⏱️"},
]


def stripe_payloads() -> list[dict[str, Any]]:
    """Real Stripe envelopes with their amounts, customers and times made to look like a live shop."""

    def load(kind: str, minutes: float, **fields: Any) -> dict[str, Any]:
        envelope = json.loads((FIXTURES / "stripe" / f"{kind}.json").read_text())
        envelope = copy.deepcopy(envelope)
        envelope["livemode"] = True
        envelope["created"] = int(ago(minutes))
        envelope["id"] = f"evt_{kind.replace('.', '_')}_{int(minutes)}"
        envelope["data"]["object"].update(fields)
        return envelope

    return [
        load(
            "payment_intent.succeeded",
            187,
            amount=4900,
            currency="eur",
            status="succeeded",
            receipt_email="jane@acme.io",
            description="Pro plan, monthly",
        ),
        load(
            "invoice.payment_failed",
            64,
            amount_due=29900,
            currency="eur",
            customer_email="ops@globex.com",
            customer_name="Globex Corp",
            attempt_count=2,
        ),
        load("customer.subscription.created", 41, currency="eur"),
        load(
            "charge.refunded",
            26,
            amount=1900,
            amount_refunded=1900,
            currency="eur",
            description="Starter plan, duplicate charge",
            receipt_email="sam@initech.io",
        ),
        load(
            "payment_intent.succeeded",
            12,
            amount=24900,
            currency="eur",
            status="succeeded",
            receipt_email="finance@northwind.dev",
            description="Pro plan, yearly (5 seats)",
        ),
    ]


def github_deliveries() -> list[tuple[str, dict[str, Any]]]:
    def load(name: str) -> dict[str, Any]:
        return json.loads((FIXTURES / "github" / f"{name}.0.json").read_text())

    repo_fields = {"full_name": "acme/shop", "name": "shop", "html_url": "https://github.com/acme/shop"}
    pull = load("pull_request.opened")
    pull["repository"].update(repo_fields)
    pull["pull_request"].update(
        {
            "title": "Checkout: retry card payments once on network errors",
            "number": 482,
            "html_url": "https://github.com/acme/shop/pull/482",
        }
    )
    pull["number"] = 482
    push = load("push")
    push["repository"].update(repo_fields)
    commits = [
        ("9f2c1e4", "Speed up the cart query with a covering index"),
        ("4b1d0aa", "Show VAT on invoices for EU customers"),
        ("c33e981", "Bump stripe to 11.4"),
    ]
    push.update(
        {
            "ref": "refs/heads/main",
            "created": False,
            "deleted": False,
            "forced": False,
            "compare": "https://github.com/acme/shop/compare/1d2e3f4...9f2c1e4",
            "commits": [
                {
                    **(push.get("head_commit") or {}),
                    "id": sha,
                    "message": message,
                    "url": f"https://github.com/acme/shop/commit/{sha}",
                }
                for sha, message in commits
            ],
        }
    )
    push["head_commit"] = push["commits"][0]
    return [("pull_request", pull), ("push", push)]


def post_stripe(client: httpx.Client, url: str, envelope: dict[str, Any]) -> None:
    body = json.dumps(envelope).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(STRIPE_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Stripe-Signature": f"t={stamp},v1={signature}", "Content-Type": "application/json"}
    response = client.post(url, content=body, headers=headers)
    assert response.status_code < 300, response.text


def post_github(client: httpx.Client, url: str, kind: str, payload: dict[str, Any], n: int) -> None:
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": kind,
        "X-GitHub-Delivery": f"screenshots-{n}",
        "X-Hub-Signature-256": "sha256=" + hmac.new(GITHUB_SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }
    response = client.post(url, content=body, headers=headers)
    assert response.status_code < 300, response.text


CHECKS = [
    # name, schedule, state to show, run durations (seconds)
    ({"name": "Nightly backup", "cron": "30 2 * * *", "tz": "Europe/Berlin", "grace": 1800}, "up", 420),
    ({"name": "Invoice run", "cron": "0 9 * * 1-5", "tz": "Europe/Berlin", "grace": 600}, "up", 95),
    ({"name": "Queue worker", "period": 300, "grace": 120}, "running", 40),
    ({"name": "Search reindex", "period": 3600, "grace": 900}, "late", 180),
    ({"name": "Stripe sync", "period": 900, "grace": 300}, "down", 25),
    ({"name": "Weekly report", "cron": "0 7 * * 1", "tz": "Europe/Berlin", "grace": 3600}, "paused", 60),
]


def seed_checks(live: LiveHub, client: httpx.Client) -> None:
    """Create the checks through the API, then write two weeks of history for them."""
    from hub_plugins.heartbeat import tables

    made = []
    for spec, state, typical in CHECKS:
        response = client.post("/api/v1/checks", json={**spec, "project": "shop"})
        assert response.status_code == 201, response.text
        made.append((response.json()["uuid"], spec, state, typical))
    now = datetime.now(UTC)

    async def history() -> None:
        async with live.hub.db.writer.begin() as conn:
            ids = {
                row.uuid: row.id
                for row in await conn.execute(
                    tables.checks.select().with_only_columns(tables.checks.c.id, tables.checks.c.uuid)
                )
            }
            for uuid, spec, state, typical in made:
                step = timedelta(seconds=spec.get("period") or 86400)
                last = now - {"late": step + timedelta(minutes=7), "down": step * 4}.get(state, step * 0.4)
                rows = []
                for n in range(24):
                    at = last - step * n
                    fail = (state == "down" and n < 3) or (spec["name"] == "Queue worker" and n in (6, 7))
                    wobble = 1 + 0.35 * (((n + len(spec["name"])) * 7) % 5 - 2) / 2
                    rows.append(
                        {
                            "check_id": ids[uuid],
                            "created_at": at,
                            "kind": "fail" if fail else "success",
                            "exit_status": 1 if fail else 0,
                            "method": "POST",
                            "remote_addr": "10.0.4.12",
                            "user_agent": "curl/8.5.0",
                            "body_size": 0,
                            "body_truncated": False,
                            "duration": round(typical * wobble, 1),
                        }
                    )
                await conn.execute(tables.pings.insert(), rows)
                values: dict[str, Any] = {"last_ping_at": last, "status": "up", "created_at": now - timedelta(days=30)}
                if state == "late":
                    values["expected_at"] = last + step
                    values["alert_after"] = last + step + timedelta(seconds=spec["grace"])
                elif state == "down":
                    values.update(
                        status="down",
                        down_since=last + step + timedelta(seconds=spec["grace"]),
                        expected_at=None,
                        alert_after=None,
                    )
                elif state == "paused":
                    values.update(status="paused", expected_at=None, alert_after=None)
                elif state == "running":
                    values.update(
                        last_start_at=now - timedelta(seconds=25),
                        last_start_rid="run-25",
                        expected_at=last + step,
                        alert_after=last + step + timedelta(seconds=spec["grace"]),
                    )
                else:
                    values["expected_at"] = None  # computed below from the schedule by a real ping
                await conn.execute(update(tables.checks).where(tables.checks.c.uuid == uuid).values(**values))

    live.run(history())
    for uuid, _spec, state, _ in made:
        if state == "up":  # a real ping now sets the next deadline from the schedule
            client.post(f"/ping/{uuid}")


def backdate_github(live: LiveHub) -> None:
    """GitHub deliveries carry no event time, so they land "just now"; spread them over the afternoon."""
    from hub.db import schema

    async def work() -> None:
        e = schema.events.c
        async with live.hub.db.writer.begin() as conn:
            rows = (await conn.execute(schema.events.select().where(e.source == "github").order_by(e.id))).all()
            for row, minutes in zip(rows, (150, 47), strict=False):
                when = datetime.fromtimestamp(ago(minutes), UTC)
                await conn.execute(update(schema.events).where(e.id == row.id).values(created_at=when))

    live.run(work())


def seed(live: LiveHub, target: str) -> tuple[str, str]:
    key = live.key("admin")

    async def people() -> None:
        for email, name, role in (
            ("ada@example.com", "Ada Lovelace", "admin"),
            ("grace@example.com", "Grace Hopper", "member"),
        ):
            data = {"email": email, "name": name, "role": role, "projects": ["shop", "api"]}
            user = await live.hub.people.create_user(msgspec.convert(data, UserIn))
            await set_password(live.hub.db, user.id, PASSWORD)

    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"}, timeout=10) as client:
        for source in (
            {"plugin": "stripe", "name": "shop", "project": "shop", "secrets": [STRIPE_SECRET]},
            {"plugin": "github", "name": "shop", "project": "shop", "secrets": [GITHUB_SECRET]},
        ):
            response = client.post("/api/v1/sources", json=source)
            assert response.status_code == 201, response.text
        live.run(people())
        stripe_url = "/hooks/stripe/shop"
        for envelope in stripe_payloads():
            post_stripe(client, stripe_url, envelope)
        for event in app_events(target):
            assert client.post("/api/v1/events", json=event).status_code == 201
        stored = client.post("/api/v1/events", json=deploy(target)).json()
        for child in CHILDREN:
            assert client.post("/api/v1/events", json=child).status_code == 201
        for n, (kind, payload) in enumerate(github_deliveries()):
            post_github(client, "/hooks/github/shop", kind, payload, n)
        backdate_github(live)
        for insight in INSIGHTS:
            assert client.post("/v1/insight", json=insight).status_code == 200
        payment = client.get("/api/v1/events", params={"project": "shop", "channel": "payments", "limit": 1})
        seed_checks(live, client)
    return stored["id"], payment.json()["items"][0]["id"] if payment.json()["items"] else stored["id"]


def sign_in(page: Any) -> None:
    page.goto("/login")
    page.fill("#email", "ada@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector(".card")


def shoot(url: str, deploy_id: str) -> list[Path]:
    taken = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # The deploy's "Promote to EU" has run once, so the card shows an outcome and a runs history.
        context = browser.new_context(base_url=url)
        page = context.new_page()
        sign_in(page)
        page.goto(f"/events/{deploy_id}")
        page.get_by_role("button", name="Promote to EU").click()
        page.wait_for_selector(".outcome-done")
        context.close()
        for name, (width, height) in VIEWPORTS.items():
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    color_scheme=scheme,
                    device_scale_factor=2,
                    base_url=url,
                    timezone_id="Europe/Berlin",
                    locale="en-GB",
                )
                page = context.new_page()
                sign_in(page)
                shots = {
                    "feed": "/?project=shop",
                    "event": f"/events/{deploy_id}",
                    "heartbeats": "/heartbeats",
                }
                for shot, path in shots.items():
                    if scheme == "dark" and shot == "heartbeats" and name == "phone":
                        continue
                    page.goto(path)
                    page.wait_for_selector(".card, .check")
                    if shot == "feed":
                        page.wait_for_selector(".tile")
                    if shot == "event":
                        page.get_by_role("button", name="Runs").click()
                        page.wait_for_selector(".runs li")
                        page.evaluate("window.scrollTo(0, 0)")
                    if shot == "heartbeats":
                        page.wait_for_selector(".spark rect")
                        page.wait_for_timeout(300)
                    page.wait_for_timeout(400)
                    file = OUT / f"{shot}-{name}-{scheme}.png"
                    if shot == "event" and name == "phone":
                        # The whole card (JSON, timeline, actions, runs) is taller than a phone's screen: show
                        # it on a phone-wide viewport as tall as the page, so the tab bar stays at the bottom.
                        page.set_viewport_size({"width": width, "height": page.evaluate("document.body.scrollHeight")})
                        page.wait_for_timeout(200)
                    page.screenshot(path=file)
                    if REVIEW:
                        page.screenshot(path=Path(REVIEW) / file.name, full_page=True)
                    page.set_viewport_size({"width": width, "height": height})
                    taken.append(file)
                if REVIEW:  # the other pages, for a look before a release; not in the README
                    for extra in ("/actions", "/admin", "/settings", "/?project=nothing-here", "/events/1"):
                        page.goto(extra)
                        page.wait_for_timeout(800)
                        slug = extra.strip("/?").replace("=", "-").replace("/", "-") or "root"
                        page.screenshot(path=Path(REVIEW) / f"{slug}-{name}-{scheme}.png", full_page=True)
                    context.clear_cookies()
                    page.goto("/login")
                    page.wait_for_timeout(500)
                    page.screenshot(path=Path(REVIEW) / f"login-{name}-{scheme}.png")
                context.close()
        browser.close()
    return taken


def main() -> int:
    passwords.LOG_N, passwords.P = 10, 1
    target = ActionTarget()
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            environ={
                "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/hub.db",
                "HUB_SERVER_RUN_JOBS": "false",
                "HUB_OUTBOUND_ALLOW": '["127.0.0.1"]',
                "HUB_SELF_SERVICE_ACTIONS": SELF_SERVICE.replace("TARGET", target.url),
            }
        )
        live = LiveHub(create_app(settings))
        live.start()
        try:
            deploy_id, _ = seed(live, target.url)
            for file in shoot(live.url, deploy_id):
                print(file.relative_to(OUT.parent.parent))
        finally:
            live.stop()
            target.server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
