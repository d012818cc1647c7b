"""Turning on notifications: the page subscribes with the hub's VAPID key and registers the device; an event
routed to the person then reaches a push-service stand-in on loopback, which decrypts it with the keys."""

from __future__ import annotations

import base64
import json
import os

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from peers import LoopbackServer
from playwright.sync_api import expect


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# Headless Chromium has no push service to talk to, so PushManager hands out a subscription whose endpoint is
# the loopback stand-in and whose keys the test holds; everything above it (permission, VAPID key, the
# registration with the hub) is the app's real code.
FAKE_PUSH_MANAGER = """
(() => {
  const stored = { current: null };
  PushManager.prototype.getSubscription = async function () { return stored.current; };
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    const base64 = btoa(String.fromCharCode(...key));
    window.__applicationServerKey = base64.replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
    const json = { endpoint: ENDPOINT, expirationTime: null, keys: KEYS };
    stored.current = { endpoint: ENDPOINT, toJSON: () => json };
    return stored.current;
  };
})();
"""


def test_turning_on_notifications_delivers_pushes(context, web_hub, sign_in) -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    public = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    auth = os.urandom(16)
    keys = {"p256dh": b64url(public), "auth": b64url(auth)}
    with LoopbackServer(lambda _: (201, {}, b"")) as push_service:
        endpoint = f"{push_service.url}/push/device-1"
        script = FAKE_PUSH_MANAGER.replace("ENDPOINT", json.dumps(endpoint)).replace("KEYS", json.dumps(keys))
        context.add_init_script(script)
        context.grant_permissions(["notifications"])
        page = context.new_page()
        sign_in(page, "sam@example.com")
        page.goto("/settings")
        page.get_by_role("button", name="Turn on notifications").click()
        expect(page.locator(".panel", has_text="Notifications")).to_contain_text("Notifications are on")
        expect(page.locator(".list-row")).to_have_count(1)
        vapid = context.request.get("/api/v1/push/vapid-public-key").json()["public_key"]
        assert page.evaluate("window.__applicationServerKey") == vapid

        event = web_hub.post(project="shop", event="Big order: 40 seats", notify=True, description="Acme Inc.")
        web_hub.run(web_hub.live.hub.outbox.run_once())
        [delivery] = [r for r in push_service.received if r.path == "/push/device-1"]
        assert delivery.headers["authorization"].startswith("vapid ")
        payload = json.loads(
            http_ece.decrypt(delivery.body, private_key=private_key, auth_secret=auth, version="aes128gcm")
        )
        assert payload["title"] == "Big order: 40 seats"
        assert payload["event_id"] == event["id"] and payload["url"].endswith(f"/events/{event['id']}")

        page.get_by_role("button", name="Send test").click()
        expect(page.locator(".toast")).to_contain_text("Test notification sent")
        [test] = [r for r in push_service.received if r.path == "/push/device-1"][1:]
        test_payload = json.loads(
            http_ece.decrypt(test.body, private_key=private_key, auth_secret=auth, version="aes128gcm")
        )
        assert test_payload["title"] == "Test notification from hub"

        page.get_by_role("button", name="Remove").click()
        expect(page.locator(".list-row")).to_have_count(0)
