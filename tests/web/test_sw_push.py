"""The service worker's side of push: a push message becomes a notification with the event's title, body,
icon, link and action buttons (delivered through Chromium's DevTools protocol, as a push service would)."""

from __future__ import annotations

import json


def test_a_push_message_shows_a_notification_with_the_event_actions(context, web_hub, sign_in) -> None:
    context.grant_permissions(["notifications"])
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.evaluate("navigator.serviceWorker.ready")
    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    cdp.send("ServiceWorker.enable")
    page.wait_for_timeout(500)
    [registration] = [r for r in registrations if not r.get("isDeleted")]
    payload = {
        "title": "Payment failed: €299.00",
        "body": "Globex Corp, attempt 2",
        "icon": "/icons/icon-192.png",
        "url": f"{web_hub.url}/events/42",
        "event_id": "42",
        "tag": "d-1",
        "actions": [
            {"action": "retry", "title": "Retry charge"},
            {"action": "link-1", "title": "Open", "url": "https://example.com/"},
        ],
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": web_hub.url, "registrationId": registration["registrationId"], "data": json.dumps(payload)},
    )
    shown = None
    for _ in range(50):
        shown = page.evaluate(
            """navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) => list.map((n) => ({
                title: n.title, body: n.body, icon: n.icon, actions: n.actions.map((a) => a.title), data: n.data,
            })))"""
        )
        if shown:
            break
        page.wait_for_timeout(100)
    assert shown, "no notification was shown"
    [note] = shown
    assert note["title"] == "Payment failed: €299.00" and note["body"] == "Globex Corp, attempt 2"
    assert note["icon"].endswith("/icons/icon-192.png")
    assert note["actions"] == ["Retry charge", "Open"]
    assert note["data"]["url"].endswith("/events/42") and note["data"]["event_id"] == "42"
