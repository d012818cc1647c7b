"""The service worker's side of push: a push message becomes a notification with the event's title, body,
icon, link and action buttons (delivered through Chromium's DevTools protocol, as a push service would)."""

from __future__ import annotations

import json
import time

from peers import LoopbackServer


def test_a_push_message_shows_a_notification_with_the_event_actions(context, web_hub, sign_in) -> None:
    context.grant_permissions(["notifications"])
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    cdp = context.new_cdp_session(page)
    versions: list[dict] = []
    cdp.on("ServiceWorker.workerVersionUpdated", lambda e: versions.extend(e["versions"]))
    cdp.send("ServiceWorker.enable")
    # The push goes to the registration whose worker is active: one still installing would drop it.
    deadline = time.monotonic() + 30
    while not (active := [v for v in versions if v["status"] == "activated"]) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert active, f"no active service worker: {versions}"
    registration = {"registrationId": active[-1]["registrationId"]}
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
    push = {"origin": web_hub.url, "registrationId": registration["registrationId"], "data": json.dumps(payload)}
    shown, deadline, sent_at = [], time.monotonic() + 30, 0.0
    while not shown and time.monotonic() < deadline:
        # Sent again every 3 s until it shows: in one CI run on a loaded machine a push sent once never showed (why
        # was not found; the worker was active). The tag is the same, so a second one takes the first's place.
        if time.monotonic() - sent_at > 3:
            cdp.send("ServiceWorker.deliverPushMessage", push)
            sent_at = time.monotonic()
        page.wait_for_timeout(50)
        shown = page.evaluate(
            """() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) => list.map((n) => ({
                title: n.title, body: n.body, icon: n.icon, actions: n.actions.map((a) => a.title), data: n.data,
            })))"""
        )
    assert shown, "no notification was shown"
    [note] = shown
    assert note["title"] == "Payment failed: €299.00" and note["body"] == "Globex Corp, attempt 2"
    assert note["icon"].endswith("/icons/icon-192.png")
    assert note["actions"] == ["Retry charge", "Open"]
    assert note["data"]["url"].endswith("/events/42") and note["data"]["event_id"] == "42"


def test_a_notification_button_runs_only_for_the_person_it_was_sent_to(context, web_hub, sign_in) -> None:
    """A browser that changed hands keeps the notifications shown before: their buttons must not run the action as
    whoever is signed in now."""
    with LoopbackServer(lambda _: (200, {"Content-Type": "application/json"}, b'{"message": "Retried"}')) as target:
        event = web_hub.post(
            project="shop",
            event="Payment failed",
            actions=[{"label": "Retry charge", "key": "retry", "url": f"{target.url}/retry"}],
        )
        context.grant_permissions(["notifications"])
        page = context.new_page()
        sign_in(page, "sam@example.com")
        worker = service_worker(context, page)

        def click_retry(user_email: str) -> dict:
            """The service worker's answer to the button of a push sent to `user_email`: the notification it shows."""
            data = {"event_id": event["id"], "user_id": web_hub.user_ids[user_email]}
            worker.evaluate("([data, key]) => runAction(data, key)", [data, "retry"])
            return page.evaluate(
                """() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((list) =>
                    list.map((n) => ({ title: n.title, body: n.body })).pop())"""
            )

        assert click_retry("olga@example.com") == {
            "title": "Action not run",
            "body": "This notification is for another account than the one signed in to hub here.",
        }
        assert target.received == []
        assert click_retry("sam@example.com") == {"title": "Action done", "body": "Retried"}
        assert [request.path for request in target.received] == ["/retry"]


def service_worker(context, page):
    """The app's service worker, once it is active: Playwright runs code in it with `evaluate`."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    return context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")


SHOWN = "() => navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((l) => l.map((n) => n.title))"


def test_the_notifications_on_screen_go_when_the_session_ends(context, web_hub, sign_in) -> None:
    """They show events' titles and descriptions: on a shared computer they stayed on screen, and in the
    notification centre, for whoever came next, after a sign-out or a session ended elsewhere alike."""
    context.grant_permissions(["notifications"])
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.evaluate(
        "() => navigator.serviceWorker.ready.then((r) => r.showNotification('Payroll export failed', {body: 'x'}))"
    )
    assert page.evaluate(SHOWN) == ["Payroll export failed"]
    page.goto("/settings")
    page.get_by_role("button", name="Sign out").click()
    page.locator("#email").wait_for()
    deadline = time.monotonic() + 10
    while page.evaluate(SHOWN) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert page.evaluate(SHOWN) == []
