"""Web push against a loopback push-service stand-in that verifies the VAPID JWT and decrypts the payload with
the subscription's own keys (http_ece), as a browser's push service and the browser would."""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from datetime import timedelta
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from msgspec.structs import replace
from peers import LoopbackServer, Received

from hub import passwords
from hub.accounts import set_password
from hub.core import Hub
from hub.models import ActionOut, now_utc
from hub.outbound import OutboundClient
from hub.outbox.notifier import Message, Recipient


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """A subscription's key material, as the browser keeps it."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.keys = {"p256dh": b64url(public), "auth": b64url(self.auth)}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(
            http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        )


def verify_vapid(authorization: str, audience: str) -> dict:
    """RFC 8292: `vapid t=<JWT>,k=<public key>`; the JWT is ES256-signed by that key, for this origin."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    fields = dict(part.split("=", 1) for part in params.split(","))
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(fields["k"]))
    raw = unb64url(signature_b64)
    signature = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(signature, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if wrong
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    assert claims["sub"].startswith(("mailto:", "https://"))
    return {**claims, "k": fields["k"]}


@pytest.fixture
def settings_overrides():
    return {"HUB_OUTBOUND_ALLOW": '["127.0.0.1"]'}


async def subscribe(client, headers, endpoint: str, browser: Browser, email="ann@example.com"):
    user = await client.post(
        "/api/v1/users", json={"email": email, "name": "Ann", "projects": ["shop"]}, headers=headers
    )
    user_id = (
        user.json()["id"]
        if user.status_code == 201
        else (await client.get(f"/api/v1/users/{email}", headers=headers)).json()["id"]
    )
    response = await client.post(
        f"/api/v1/users/{user_id}/push-subscriptions",
        json={"endpoint": endpoint, "keys": browser.keys},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return user_id, response.json()["id"]


async def test_push_is_encrypted_for_the_browser_and_signed_with_vapid(client, hub, admin_headers):
    browser = Browser()
    with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
        user_id, _ = await subscribe(client, admin_headers, f"{push_service.url}/push/abc", browser)
        public_key = (await client.get("/api/v1/push/vapid-public-key")).json()["public_key"]
        event = (
            await client.post(
                "/api/v1/events",
                headers=admin_headers,
                json={
                    "project": "shop",
                    "event": "Payment failed",
                    "description": "Card declined",
                    "notify": True,
                    "severity": "critical",
                    "actions": [
                        {"label": "Refund", "url": "https://example.com/r", "key": "refund"},
                        {"label": "Retry", "url": "https://example.com/t", "key": "retry"},
                        {"label": "Docs", "url": "https://example.com/d", "external": True},
                    ],
                },
            )
        ).json()
        assert await hub.outbox.run_once(now_utc()) == 1
    [push] = push_service.received
    claims = verify_vapid(push.headers["authorization"], push_service.url)
    assert claims["k"] == public_key
    assert push.headers["content-encoding"] == "aes128gcm"
    assert push.headers["ttl"] == "86400"
    assert push.headers["urgency"] == "high"
    payload = browser.decrypt(push.body)
    assert payload["title"] == "Payment failed"
    assert payload["body"] == "Card declined"
    assert payload["url"].endswith(f"/events/{event['id']}")
    assert payload["icon"] == "/icon-192.png"
    assert [a["action"] for a in payload["actions"]] == ["refund", "retry"]  # at most two buttons
    assert payload["user_id"] == user_id  # the service worker runs the buttons only while they are signed in
    assert len(push.body) <= 4096


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_two_hubs_in_one_process_each_sign_with_their_own_key(client, hub, admin_headers, settings, tmp_path):
    """The keys lived in the plugin's module, so the hub started last signed every hub's pushes (a test run)."""
    own_key = (await client.get("/api/v1/push/vapid-public-key")).json()["public_key"]
    other = Hub(replace(settings, database=replace(settings.database, url=f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")))
    await other.start()
    try:
        browser = Browser()
        with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
            await subscribe(client, admin_headers, f"{push_service.url}/push/abc", browser)
            event = {"project": "shop", "event": "Payment failed", "notify": True}
            assert (await client.post("/api/v1/events", headers=admin_headers, json=event)).status_code == 201
            assert await hub.outbox.run_once(now_utc()) == 1
        [push] = push_service.received
        assert verify_vapid(push.headers["authorization"], push_service.url)["k"] == own_key
        assert (await client.get("/api/v1/push/vapid-public-key")).json()["public_key"] == own_key
    finally:
        await other.stop()


async def test_buttons_that_must_ask_first_open_the_event_instead_of_running(client, hub, admin_headers):
    """The service worker runs a button without a `url` at once: a `confirm` action ran without being confirmed, and
    one with optional inputs ran with its defaults, without the form."""
    browser = Browser()
    with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
        await subscribe(client, admin_headers, f"{push_service.url}/push/abc", browser)
        actions = [
            {"label": "Refund", "url": "https://example.com/r", "key": "refund", "confirm": True},
            {"label": "Note", "url": "https://example.com/n", "key": "note", "inputs": [{"name": "text"}]},
        ]
        stored = await client.post(
            "/api/v1/events",
            headers=admin_headers,
            json={"project": "shop", "event": "Payment failed", "notify": True, "actions": actions},
        )
        assert await hub.outbox.run_once(now_utc()) == 1
    payload = browser.decrypt(push_service.received[0].body)
    event_page = payload["url"]
    assert event_page.endswith(f"/events/{stored.json()['id']}")
    assert payload["actions"] == [
        {"action": "refund", "title": "Refund", "url": event_page},
        {"action": "note", "title": "Note", "url": event_page},
    ]


def apple(received: Received):
    """Apple's push service: a token whose contact is on localhost is refused (403 BadJwtToken)."""
    token = dict(p.split("=", 1) for p in received.headers["authorization"].split(" ", 1)[1].split(","))["t"]
    claims = json.loads(unb64url(token.split(".")[1]))
    if "localhost" in claims["sub"]:
        return 403, {"Content-Type": "application/json"}, b'{"reason":"BadJwtToken"}'
    return 201, {}, b""


@pytest.mark.parametrize(
    "settings_overrides", [{"HUB_OUTBOUND_ALLOW": '["127.0.0.1"]', "HUB_SERVER_BASE_URL": "https://hub.example.com"}]
)
async def test_the_vapid_subject_is_the_hubs_address_so_apple_takes_the_push(client, hub, admin_headers):
    """The default subject was `mailto:hub@localhost`, which Apple refuses: every push to an iPhone failed."""
    with LoopbackServer(apple) as push_service:
        await subscribe(client, admin_headers, f"{push_service.url}/3/device/abc", Browser())
        await client.post(
            "/api/v1/events", json={"project": "shop", "event": "x", "notify": True}, headers=admin_headers
        )
        await hub.outbox.run_once(now_utc())
    [push] = push_service.received
    assert verify_vapid(push.headers["authorization"], push_service.url)["sub"] == "https://hub.example.com"
    [delivery] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert delivery["state"] == "delivered"


def test_a_subject_on_localhost_is_warned_about_once_when_pushes_are_signed(caplog):
    """Not when the plugin starts: every `hub` command starts it, and printed the warning."""
    from hub_plugins.webpush.vapid import VapidKeys
    from py_vapid import Vapid02

    vapid = Vapid02()
    vapid.generate_keys()
    keys = VapidKeys(vapid, "mailto:hub@localhost")
    with caplog.at_level(logging.WARNING):
        for endpoint in ("https://web.push.apple.com/3/device/a", "https://fcm.googleapis.com/fcm/send/b"):
            keys.authorization(endpoint)
    assert [r.getMessage() for r in caplog.records].count(
        "web push: the VAPID subject mailto:hub@localhost is not a real contact: Apple's push service (Safari, "
        "iPhone) refuses every push signed with it; set server.base_url to the hub's https address or "
        "[plugins.webpush] vapid_subject"
    ) == 1


async def test_grouped_pushes_carry_a_topic(client, hub, admin_headers):
    browser = Browser()
    with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
        await subscribe(client, admin_headers, f"{push_service.url}/p", browser)
        await client.put(
            "/api/v1/routes/grouped",
            headers=admin_headers,
            json={
                "name": "grouped",
                "targets": [{"everyone": True}],
                "group_by": ["event"],
                "group_window_seconds": 30,
            },
        )
        for _ in range(3):
            await client.post("/api/v1/events", json={"project": "shop", "event": "Disk full"}, headers=admin_headers)
        await hub.outbox.run_once(now_utc())
        await hub.outbox.run_once(now_utc() + timedelta(seconds=31))
    first, follow_up = push_service.received
    # One topic for the group: a follow-up replaces its first push where that is still waiting for the device.
    assert len(first.headers["topic"]) <= 32 and follow_up.headers["topic"] == first.headers["topic"]
    assert [browser.decrypt(p.body)["title"] for p in (first, follow_up)] == ["Disk full", "Disk full (2 events)"]
    assert follow_up.headers["urgency"] == "normal"


async def test_a_page_is_never_replaced_by_a_milder_push_of_its_group(client, hub, admin_headers):
    """Milder events join a window a critical event opened. Its follow-up shared the page's Topic and tag: a phone
    that was offline got only "Replica lag (2 events)", and one online saw the page in its tray turn into it,
    silently (a notification replacing one of the same tag does not alert)."""
    browser = Browser()
    with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
        await subscribe(client, admin_headers, f"{push_service.url}/p", browser)
        rule = {"name": "grouped", "targets": [{"everyone": True}], "group_by": ["channel"], "group_window_seconds": 30}
        await client.put("/api/v1/routes/grouped", headers=admin_headers, json=rule)
        for event, severity in (("Database down", "critical"), ("Replica lag", "warning"), ("Replica lag", "info")):
            body = {"project": "shop", "event": event, "severity": severity}
            assert (await client.post("/api/v1/events", json=body, headers=admin_headers)).status_code == 201
        await hub.outbox.run_once(now_utc())
        await hub.outbox.run_once(now_utc() + timedelta(seconds=31))
    page, follow_up = push_service.received
    assert "topic" not in page.headers and "topic" in follow_up.headers
    page_payload, follow_up_payload = browser.decrypt(page.body), browser.decrypt(follow_up.body)
    assert (page_payload["title"], follow_up_payload["title"]) == ("Database down", "Replica lag (2 events)")
    assert page_payload["tag"] != follow_up_payload["tag"]


async def test_retrying_a_delivery_to_a_person_who_had_no_device_reaches_the_devices_they_have_now(
    client, hub, admin_headers
):
    """It failed because Ada had not turned on notifications; once she has, a retry must reach her (it went to no
    address, and failed again saying the subscription was removed)."""
    user = {"email": "ada@example.com", "name": "Ada", "projects": ["shop"]}
    assert (await client.post("/api/v1/users", json=user, headers=admin_headers)).status_code == 201
    await client.put("/api/v1/routes/r", headers=admin_headers, json={"name": "r", "targets": [{"everyone": True}]})
    event = {"project": "shop", "event": "Disk full", "severity": "critical"}
    assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
    [failed] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert failed["state"] == "failed"
    phone, laptop = Browser(), Browser()
    with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
        _, phone_id = await subscribe(client, admin_headers, f"{push_service.url}/phone", phone, "ada@example.com")
        _, laptop_id = await subscribe(client, admin_headers, f"{push_service.url}/laptop", laptop, "ada@example.com")
        retried = await client.post(f"/api/v1/deliveries/{failed['id']}/retry", headers=admin_headers)
        assert retried.status_code == 202, retried.text
        assert (retried.json()["state"], retried.json()["last_error"]) == ("pending", None)
        assert await hub.outbox.run_once(now_utc()) == 2
    assert sorted(r.path for r in push_service.received) == ["/laptop", "/phone"]
    by_path = {r.path: r for r in push_service.received}
    assert phone.decrypt(by_path["/phone"].body)["title"] == laptop.decrypt(by_path["/laptop"].body)["title"]
    items = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert sorted((d["address"], d["state"]) for d in items) == sorted(
        [(phone_id, "delivered"), (laptop_id, "delivered")]
    )


async def test_a_huge_event_still_fits_in_4_kib(client, hub, admin_headers):
    browser = Browser()
    with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
        await subscribe(client, admin_headers, f"{push_service.url}/p", browser)
        await client.post(
            "/api/v1/events",
            headers=admin_headers,
            json={"project": "shop", "event": "é" * 250, "description": "\u2028" * 4000, "notify": True},
        )
        await hub.outbox.run_once(now_utc())
    [push] = push_service.received
    assert len(push.body) <= 4096
    assert browser.decrypt(push.body)["body"].endswith("…")


def a_message(**fields: Any) -> Message:
    """A notification with no event behind it, `fields` set over the defaults."""
    defaults = {"id": "1", "title": "Deploy", "body": "done", "url": "/", "severity": "info", "project": "shop"}
    return Message(**{**defaults, "channel": "c", "event": None, **fields})


def test_long_action_links_go_before_the_title_and_the_body_is_cut_first():
    """Two external links of 2 KiB each: the body, then the title, were cut to nothing before the buttons went, and
    the phone showed a notification saying nothing."""
    from hub_plugins.webpush.payload import encode

    links = [ActionOut(label=f"Log {i}", url="https://logs.example.com/" + "x" * 2000, external=True) for i in (1, 2)]
    message = a_message(title="Replica lag on db-2", body="b" * 900, severity="critical", actions=links)
    payload = json.loads(encode(message, "/icon.png", None))
    # The body cut to 200 characters did not make room for the links: they went, and the body is whole again.
    assert (payload["title"], payload["body"], "actions" in payload) == ("Replica lag on db-2", "b" * 900, False)
    # One link fits with the body cut short, down to 200 characters first.
    one_link = json.loads(encode(replace(message, actions=links[:1], body="b" * 3000), "/icon.png", None))
    assert one_link["title"] == "Replica lag on db-2" and one_link["actions"][0]["title"] == "Log 1"
    assert 200 <= len(one_link["body"]) < 3000 and one_link["body"].endswith("…")
    # Cut as far as it must be in characters, not in bytes: an accent is two of them, so it was cut twice as far.
    accents = encode(replace(message, actions=links[:1], body="é" * 3000), "/icon.png", None)
    assert 3993 - 2 <= len(accents) <= 3993  # filled to within one accent of the limit
    assert len(json.loads(accents)["body"]) > 600


def test_groups_of_two_rules_or_two_projects_never_replace_each_others_pushes():
    """The collapse key was the `group_by` values alone: rules `ci` and `payments`, both grouping by severity, gave
    the same Topic and tag, and a payments warning silently replaced a CI one on the phone."""
    from hub_plugins.webpush.payload import collapse_key

    def key(rule: str, project: str, severity: str = "warning") -> str | None:
        return collapse_key(a_message(severity=severity, project=project, group_key="severity=warning", rule=rule))

    assert key("ci", "shop") == key("ci", "shop")
    assert len({key("ci", "shop"), key("payments", "shop"), key("ci", "blog")}) == 3
    assert key("ci", "shop", "critical") is None


MARKDOWN = (
    "# Deploy **failed**\n"
    "Build *12* of ~~main~~ `api*v2*`, see [logs](https://ci.example.com/12) or [this](javascript:alert(1))\n"
    "second line\n\n"
    "- first\n  - nested\n- ![chart](https://t.example/p.gif)\n\n"
    "3. third\n4. fourth\n\n"
    "> quoted <b>bold</b>\n> more\n\n"
    "```sh\necho **hi** [x](y)\n```\n\n"
)


async def test_a_markdown_description_shows_as_its_text_and_a_text_one_as_typed(client, hub, admin_headers):
    """The lock screen showed a markdown description's source: `**Deploy** failed, see [logs](https://...)`."""
    browser = Browser()
    with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
        await subscribe(client, admin_headers, f"{push_service.url}/p", browser)
        for title, parser in (("Markdown", "markdown"), ("Text", "text")):
            event = {"project": "shop", "event": title, "description": MARKDOWN, "parser": parser, "notify": True}
            assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
        assert await hub.outbox.run_once(now_utc()) == 2
    bodies = {p["title"]: p["body"] for p in (browser.decrypt(r.body) for r in push_service.received)}
    assert bodies["Markdown"] == (
        "Deploy failed\nBuild 12 of main api*v2*, see logs or this\nsecond line\n• first\n  • nested\n• chart\n"
        "3. third\n4. fourth\nquoted <b>bold</b>\nmore\necho **hi** [x](y)"
    )
    assert bodies["Text"] == MARKDOWN


async def test_a_markdown_description_is_cut_to_4_kib_as_the_text_it_shows(client, hub, admin_headers):
    """What is measured and cut is the text shown: a long link address costs nothing, and long bold text is cut
    without its `**` (they were the first thing shown)."""
    browser = Browser()
    with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
        await subscribe(client, admin_headers, f"{push_service.url}/p", browser)
        for title, text in (
            ("Bold", "**" + "😀" * 996 + "**"),  # 3,984 bytes of text
            ("Link", "[logs](https://example.com/" + "😀" * 960 + ")"),
        ):
            event = {"project": "shop", "event": title, "description": text, "parser": "markdown", "notify": True}
            assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
        assert await hub.outbox.run_once(now_utc()) == 2
    assert all(len(r.body) <= 4096 for r in push_service.received)
    bodies = {p["title"]: p["body"] for p in (browser.decrypt(r.body) for r in push_service.received)}
    assert bodies["Link"] == "logs"
    assert bodies["Bold"].endswith("…") and set(bodies["Bold"][:-1]) == {"😀"}


async def test_a_long_markdown_description_is_cut_between_paragraphs(client, hub, admin_headers):
    """Notifications take a description's first 1,000 characters: cut there, a link crossing the mark was left open
    and showed as its source, `see [logs](https://example.com/xxx…`."""
    browser = Browser()
    description = "A" * 600 + "\n\nsee [logs](https://example.com/" + "x" * 500 + ")"
    with LoopbackServer(lambda r: (201, {}, b"")) as push_service:
        await subscribe(client, admin_headers, f"{push_service.url}/p", browser)
        event = {"project": "shop", "event": "Long", "description": description, "parser": "markdown", "notify": True}
        assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
        assert await hub.outbox.run_once(now_utc()) == 1
    [push] = push_service.received
    assert browser.decrypt(push.body)["body"] == "A" * 600 + "…"


@pytest.mark.parametrize("status", [404, 410])
async def test_404_and_410_remove_the_subscription(client, hub, admin_headers, status):
    with LoopbackServer(lambda r: (status, {}, b"gone")) as push_service:
        user_id, _ = await subscribe(client, admin_headers, f"{push_service.url}/old", Browser())
        await client.post(
            "/api/v1/events", json={"project": "shop", "event": "x", "notify": True}, headers=admin_headers
        )
        await hub.outbox.run_once(now_utc())
        assert await hub.outbox.run_once(now_utc() + timedelta(days=1)) == 0
    assert len(push_service.received) == 1
    assert (await client.get(f"/api/v1/users/{user_id}/push-subscriptions", headers=admin_headers)).json() == []
    [delivery] = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()["items"]
    assert delivery["state"] == "failed" and delivery["last_status"] == status


async def test_429_backs_off_for_retry_after(client, hub, admin_headers):
    answers = [(429, {"Retry-After": "30"}, b"slow down")]

    def handler(received: Received):
        return answers.pop(0) if answers else (201, {}, b"")

    with LoopbackServer(handler) as push_service:
        await subscribe(client, admin_headers, f"{push_service.url}/p", Browser())
        await client.post(
            "/api/v1/events", json={"project": "shop", "event": "x", "notify": True}, headers=admin_headers
        )
        now = now_utc()
        await hub.outbox.run_once(now)
        assert await hub.outbox.run_once(now + timedelta(seconds=29)) == 0
        assert await hub.outbox.run_once(now + timedelta(seconds=30)) == 1
    assert len(push_service.received) == 2


async def test_a_backlog_to_one_slow_push_service_leaves_the_other_sending_slots_free(
    client, hub, admin_headers, settings
):
    """Pushes wait for one of their push service's turns (as many as it has connections) before they take a sending
    slot, known from the subscription's endpoint: a push to another service claimed after them goes out at once."""
    settings.delivery.concurrency = 4
    settings.outbound.max_connections_per_host = 2
    await hub.outbound.aclose()
    hub.outbound = OutboundClient(allow=["127.0.0.1"], max_connections_per_host=2)
    arrivals: list[str] = []

    def slow(received: Received):
        arrivals.append("slow")
        time.sleep(0.2)
        return 201, {}, b""

    def fast(received: Received):
        arrivals.append("fast")
        return 201, {}, b""

    with LoopbackServer(slow) as slow_service, LoopbackServer(fast) as fast_service:
        for i in range(6):
            await subscribe(client, admin_headers, f"{slow_service.url}/push/{i}", Browser())
        event = {"project": "shop", "event": "backlog", "notify": True}
        assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
        await subscribe(client, admin_headers, f"{fast_service.url}/push/bob", Browser(), email="bob@example.com")
        event = {"project": "shop", "event": "page", "notify": True, "severity": "critical"}
        assert (await client.post("/api/v1/events", json=event, headers=admin_headers)).status_code == 201
        assert await hub.outbox.run_once(now_utc()) == 13
    # Six rounds of two pushes; with every slot open to them, the page waited for nine of the twelve. Now it goes
    # with the first round (a busy machine may let a second round start first).
    assert arrivals.index("fast") <= 4, arrivals
    assert len(slow_service.received) == 12 and len(fast_service.received) == 1


async def test_vapid_keys_are_generated_once_and_kept(client, hub, settings):
    first = (await client.get("/api/v1/push/vapid-public-key")).json()["public_key"]
    assert len(unb64url(first)) == 65
    again = Hub(settings)
    await again.start(run_migrations=False, run_jobs=False)
    try:
        from hub_plugins.webpush.vapid import load_keys

        assert (await load_keys(again.context)).public_key == first
    finally:
        await again.stop()


async def test_keys_that_are_no_p256_point_fail_the_push_instead_of_a_500(client, hub, admin_headers, monkeypatch):
    """The pattern lets through keys that are no point on the curve; the test push answered 500 for them."""
    monkeypatch.setattr(passwords, "LOG_N", 8)  # cheap scrypt for the sign-in
    monkeypatch.setattr(passwords, "P", 1)
    not_a_point = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}
    user_id, _ = await subscribe(client, admin_headers, "http://127.0.0.1:9/never", Browser())
    bad = await client.post(
        f"/api/v1/users/{user_id}/push-subscriptions",
        json={"endpoint": "http://127.0.0.1:9/bad", "keys": not_a_point},
        headers=admin_headers,
    )
    await set_password(hub.db, user_id, "correct horse battery")
    signed_in = await client.post(
        "/api/v1/session", json={"email": "ann@example.com", "password": "correct horse battery"}
    )
    csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
    response = await client.post(f"/api/v1/push/subscriptions/{bad.json()['id']}/test", headers=csrf)
    assert response.status_code == 200, response.text
    assert response.json()["result"] == "failed" and "cannot encrypt" in response.json()["detail"]


async def test_a_test_push_says_why_it_failed_rather_than_answering_500(client, hub, admin_headers, monkeypatch):
    """A push service that refuses the connection, an address the outbound policy refuses, and an endpoint no
    request can go to (registered before endpoints were checked): the test push answered 500 for each."""
    monkeypatch.setattr(passwords, "LOG_N", 8)  # cheap scrypt for the sign-in
    monkeypatch.setattr(passwords, "P", 1)
    user_id, _ = await subscribe(client, admin_headers, "http://127.0.0.1:9/never", Browser())
    devices = f"/api/v1/users/{user_id}/push-subscriptions"
    refused = await client.post(
        devices, json={"endpoint": "http://127.0.0.1:99999/x", "keys": Browser().keys}, headers=admin_headers
    )
    assert refused.status_code == 400 and refused.json()["field"] == "endpoint", refused.text
    monkeypatch.setattr("hub.people.models.url_problem", lambda url: None)  # as before the check
    await set_password(hub.db, user_id, "correct horse battery")
    signed_in = await client.post(
        "/api/v1/session", json={"email": "ann@example.com", "password": "correct horse battery"}
    )
    csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
    for endpoint, result, detail in [
        ("http://127.0.0.1:9/closed", "retry", "ConnectError"),
        ("http://10.0.0.1/private", "failed", "private"),
        ("http://127.0.0.1:99999/x", "failed", "cannot be requested"),
    ]:
        device = await client.post(devices, json={"endpoint": endpoint, "keys": Browser().keys}, headers=admin_headers)
        response = await client.post(f"/api/v1/push/subscriptions/{device.json()['id']}/test", headers=csrf)
        assert response.status_code == 200, (endpoint, response.text)
        assert response.json()["result"] == result and detail in response.json()["detail"], response.text


async def test_a_send_left_from_an_earlier_claim_does_not_take_the_next_claims_push_service_away(
    client, hub, admin_headers
):
    """The outbox asks `destination` after every notifier has prepared a claim; a push from the claim before, sent
    meanwhile to the same subscription, must not leave this claim's push without its push service's turn."""
    with LoopbackServer(lambda received: (201, {}, b"")) as service:
        _, subscription_id = await subscribe(client, admin_headers, f"{service.url}/push/ann", Browser())
        notifier = hub.plugins.notifiers["webpush"]
        recipient = Recipient("webpush", subscription_id)
        await notifier.prepare(hub.context, [recipient])
        message = a_message()
        assert (await notifier.send(hub.context, recipient, message)).result == "delivered"
        destination = notifier.destination(hub.context, recipient)
    assert destination is not None and destination == hub.outbound.destination(f"{service.url}/push/ann")
