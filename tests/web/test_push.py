"""Turning on notifications: the page subscribes with the hub's VAPID key and registers the device; an event
routed to the person then reaches a push-service stand-in on loopback, which decrypts it with the keys."""

from __future__ import annotations

import base64
import json
import os

import http_ece
import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from peers import LoopbackServer
from playwright.sync_api import expect

from hub.accounts import set_password
from hub.people.models import SubscriptionIn, UserIn
from hub.sessions import COOKIE, token_id
from tests.web.conftest import PASSWORD


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


# Headless Chromium has no push service to talk to, so PushManager hands out a subscription whose endpoint is
# the loopback stand-in and whose keys the test holds; everything above it (permission, VAPID key, the
# registration with the hub) is the app's real code. The subscription is the browser's, not the page's: it outlives
# reloads and sign-ins (kept in localStorage, under a key the app does not use) until it is unsubscribed.
FAKE_PUSH_MANAGER = """
(() => {
  const SAVED = "test-push-subscription";
  const bytes = (base64) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
  const subscription = (json) => ({
    endpoint: json.endpoint,
    options: { userVisibleOnly: true, applicationServerKey: bytes(localStorage.getItem(SAVED + "-key")) },
    toJSON: () => json,
    unsubscribe: async () => { localStorage.removeItem(SAVED); return true; },
  });
  PushManager.prototype.getSubscription = async function () {
    const saved = localStorage.getItem(SAVED);
    return saved ? subscription(JSON.parse(saved)) : null;
  };
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    const base64 = btoa(String.fromCharCode(...key));
    window.__applicationServerKey = base64.replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
    const json = { endpoint: ENDPOINT, expirationTime: null, keys: KEYS };
    localStorage.setItem(SAVED, JSON.stringify(json));
    localStorage.setItem(SAVED + "-key", base64);
    return subscription(json);
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
        # This browser's own device: it unsubscribes too, so that no later sign-in registers it again.
        assert page.evaluate(SUBSCRIPTION) is None and page.evaluate(OWNER) is None


# What a session's end does to this browser's notifications: signing out unsubscribes it; a session that ended
# otherwise took the device along on the hub, and the next sign-in brings it back for the same person only.

SUBSCRIPTION = "() => localStorage.getItem('test-push-subscription')"  # the fake PushManager's
OWNER = "() => localStorage.getItem('hub-push-owner')"  # the app's record of whose it is
UNUSED_KEYS = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}  # of the right shape; no push is encrypted with them


def browser_with_push(context, endpoint: str) -> None:
    """A browser whose PushManager subscribes with `endpoint` (nothing is sent to it in these tests)."""
    context.add_init_script(
        FAKE_PUSH_MANAGER.replace("ENDPOINT", json.dumps(endpoint)).replace("KEYS", json.dumps(UNUSED_KEYS))
    )
    context.grant_permissions(["notifications"])


def new_person(web_hub, email: str) -> str:
    async def create() -> str:
        data = {"email": email, "name": email.split("@")[0].title(), "role": "member", "projects": ["shop"]}
        user = await web_hub.live.hub.people.create_user(msgspec.convert(data, UserIn))
        await set_password(web_hub.live.hub.db, user.id, PASSWORD)
        return user.id

    return web_hub.run(create())


def devices_of(web_hub, user_id: str) -> list[str]:
    return [device.endpoint for device in web_hub.run(web_hub.live.hub.people.list_subscriptions(user_id))]


def turn_on_notifications(page) -> None:
    page.goto("/settings")
    page.get_by_role("button", name="Turn on notifications").click()
    expect(page.locator(".list-row")).to_have_count(1)


def signed_in_with_notifications(context, sign_in, email: str, endpoint: str):
    """A page of a browser that subscribes with `endpoint`, signed in as `email`, notifications turned on."""
    browser_with_push(context, endpoint)
    page = context.new_page()
    sign_in(page, email)
    turn_on_notifications(page)
    return page


def registration(response) -> bool:
    """The app registering this browser with the hub."""
    return response.request.method == "POST" and response.url.endswith("/api/v1/push/subscriptions")


def session_ended_elsewhere(web_hub, user_id: str) -> None:
    """As when it expires, the password is changed in another browser, or an admin resets it: not through this page."""
    web_hub.run(web_hub.live.hub.sessions.end_all(user_id))
    assert devices_of(web_hub, user_id) == []


def test_signing_out_unsubscribes_this_browser(context, web_hub, sign_in) -> None:
    ines = new_person(web_hub, "ines@example.com")
    page = signed_in_with_notifications(context, sign_in, "ines@example.com", "https://push.example.com/ines-laptop")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#email")).to_be_visible()
    assert page.evaluate(SUBSCRIPTION) is None and page.evaluate(OWNER) is None
    assert devices_of(web_hub, ines) == []


def test_the_same_person_signing_in_again_gets_this_browsers_notifications_back(context, web_hub, sign_in) -> None:
    jo = new_person(web_hub, "jo@example.com")
    endpoint = "https://push.example.com/jo-phone"
    page = signed_in_with_notifications(context, sign_in, "jo@example.com", endpoint)
    session_ended_elsewhere(web_hub, jo)
    with page.expect_response(registration) as registered:
        sign_in(page, "jo@example.com")
    assert registered.value.status == 201
    assert devices_of(web_hub, jo) == [endpoint]


def test_another_person_signing_in_does_not_inherit_the_device(context, web_hub, sign_in) -> None:
    kim, lou = new_person(web_hub, "kim@example.com"), new_person(web_hub, "lou@example.com")
    page = signed_in_with_notifications(context, sign_in, "kim@example.com", "https://push.example.com/shared-computer")
    session_ended_elsewhere(web_hub, kim)
    sign_in(page, "lou@example.com")
    page.wait_for_function(f"() => ({SUBSCRIPTION})() === null")
    assert page.evaluate(OWNER) is None
    assert devices_of(web_hub, lou) == devices_of(web_hub, kim) == []


def test_a_device_turned_on_before_devices_had_sessions_is_kept_by_its_person(context, web_hub, sign_in) -> None:
    """No owner recorded in the browser: the hub's list of the person's devices says whose it is. Registered again,
    it belongs to the new session and goes with it."""
    mo = new_person(web_hub, "mo@example.com")
    endpoint = "https://push.example.com/mo-tablet"
    page = signed_in_with_notifications(context, sign_in, "mo@example.com", endpoint)
    page.evaluate("() => localStorage.removeItem('hub-push-owner')")
    device = msgspec.convert({"endpoint": endpoint, "keys": UNUSED_KEYS}, SubscriptionIn)
    web_hub.run(web_hub.live.hub.people.add_subscription(mo, device))  # in no session, as before migration web_0002
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
    web_hub.run(web_hub.live.hub.sessions.end(token_id(cookie["value"])))  # expired, say
    assert devices_of(web_hub, mo) == [endpoint]

    with page.expect_response(registration) as registered:
        sign_in(page, "mo@example.com")
    assert registered.value.status == 201
    page.wait_for_function(f"() => ({OWNER})() === {json.dumps(mo)}")  # recorded once the hub has answered
    page.goto("/settings")
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#email")).to_be_visible()
    assert devices_of(web_hub, mo) == []


def test_a_device_subscribed_with_a_key_the_hub_no_longer_has_subscribes_again(context, web_hub, sign_in) -> None:
    """A new VAPID key (a lost key file): push services refuse the old subscriptions (403), so the device heard
    nothing until notifications were turned off and on by hand."""
    nia = new_person(web_hub, "nia@example.com")
    endpoint = "https://push.example.com/nia-laptop"
    page = signed_in_with_notifications(context, sign_in, "nia@example.com", endpoint)
    vapid = context.request.get("/api/v1/push/vapid-public-key").json()["public_key"]
    assert page.evaluate("window.__applicationServerKey") == vapid
    page.evaluate("() => localStorage.setItem('test-push-subscription-key', btoa('another key, 65 bytes long'))")
    with page.expect_response(registration) as registered:
        page.reload()
    assert registered.value.status == 201
    assert page.evaluate("window.__applicationServerKey") == vapid
    assert devices_of(web_hub, nia) == [endpoint]

    page.reload()  # made with the hub's key now: nothing to do
    page.wait_for_timeout(500)
    assert devices_of(web_hub, nia) == [endpoint]
