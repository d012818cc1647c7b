"""Action buttons in the browser: confirm, run through the hub to a loopback target, the outcome and the
runs history; a viewer is refused by the hub itself, not only by a disabled button."""

from __future__ import annotations

import json

import msgspec
from peers import LoopbackServer
from playwright.sync_api import expect

from hub.accounts import set_password
from hub.people.models import UserIn
from tests.web.conftest import PASSWORD


def test_member_runs_an_action_and_sees_the_outcome(context, web_hub, sign_in) -> None:
    reply = json.dumps({"message": "Rolled back to v2.13"}).encode()
    with LoopbackServer(lambda _: (200, {"Content-Type": "application/json"}, reply)) as target:
        event = web_hub.post(
            project="shop",
            channel="deploys",
            event="Deploy v2.14 failed health checks",
            actions=[
                {"label": "Roll back", "key": "rollback", "url": f"{target.url}/rollback", "confirm": True},
                {"label": "Open CI", "url": "https://ci.example.com/run/1", "external": True},
            ],
        )
        page = context.new_page()
        sign_in(page, "sam@example.com")
        page.goto(f"/events/{event['id']}")
        expect(page.get_by_role("link", name="Open CI")).to_have_attribute("href", "https://ci.example.com/run/1")
        expect(page.get_by_role("link", name="Open CI")).to_have_attribute("title", "Opens ci.example.com")
        host = target.url.removeprefix("http://").rstrip("/")
        # Where the action goes, before anyone runs it: the button's title and the question.
        expect(page.get_by_role("button", name="Roll back")).to_have_attribute("title", f"Calls {host} through the hub")
        page.get_by_role("button", name="Roll back").click()
        expect(page.locator("dialog")).to_contain_text(f"the hub calls {host}.")
        page.locator("dialog").get_by_role("button", name="Run").click()
        expect(page.locator(".outcome-line")).to_contain_text("Done")
        expect(page.locator(".outcome-line")).to_contain_text("Rolled back to v2.13")
        [request] = target.received
        assert request.path == "/rollback" and "webhook-signature" in request.headers
        body = json.loads(request.body)
        assert body["event"]["id"] == event["id"] and body["actor"]["email"] == "sam@example.com"
        page.get_by_role("button", name="Runs").click()
        expect(page.locator(".run-label")).to_have_text("Roll back")  # the button's label, not its key
        expect(page.locator(".runs")).to_contain_text("sam@example.com")


def test_action_inputs_form_and_expired_action(context, web_hub, sign_in) -> None:
    with LoopbackServer(lambda _: (200, {}, b"{}")) as target:
        event = web_hub.post(
            project="shop",
            event="Refund requested",
            actions=[
                {
                    "label": "Refund",
                    "key": "refund",
                    "url": f"{target.url}/refund",
                    "inputs": [
                        {"name": "amount", "type": "number", "required": True, "label": "Amount"},
                        {"name": "otp", "secret": True, "label": "One-time code"},
                    ],
                },
                {"label": "Old button", "key": "old", "url": f"{target.url}/old", "expire_in": 1},
            ],
        )
        page = context.new_page()
        sign_in(page, "sam@example.com")
        page.goto(f"/events/{event['id']}")
        page.get_by_role("button", name="Refund").click()
        page.get_by_label("Amount").fill("12.5")
        expect(page.get_by_label("One-time code")).to_have_attribute("type", "password")
        page.get_by_label("One-time code").fill("482913")
        page.locator(".action-form").get_by_role("button", name="Run").click()
        expect(page.locator(".outcome-line")).to_contain_text("Done")
        assert json.loads(target.received[0].body)["inputs"] == {"amount": 12.5, "otp": "482913"}
        expect(page.locator("body")).not_to_contain_text("482913")  # the outcome and runs show it as [hidden]
    # An action whose expiry has passed is shown disabled (checked with a clock one day ahead in the page).
    page.clock.set_fixed_time("2100-01-01T00:00:00Z")
    page.reload()
    expect(page.get_by_role("button", name="Old button")).to_be_disabled()


def test_a_viewer_cannot_run_actions(context, web_hub, sign_in) -> None:
    with LoopbackServer() as target:
        event = web_hub.post(
            project="shop", event="Queue is backing up", actions=[{"label": "Drain", "key": "drain", "url": target.url}]
        )
        page = context.new_page()
        sign_in(page, "vic@example.com")
        page.goto(f"/events/{event['id']}")
        expect(page.get_by_role("button", name="Drain")).to_be_disabled()
        status = page.evaluate(
            """async (id) => {
                const { csrf_token } = await (await fetch('/api/v1/session')).json();
                const headers = { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf_token };
                const url = `/api/v1/events/${id}/actions/drain`;
                const response = await fetch(url, { method: 'POST', headers, body: '{}' });
                return response.status;
            }""",
            event["id"],
        )
        assert status == 403
        assert target.received == []


def test_self_service_page_runs_a_configured_action(context, web_hub, sign_in) -> None:
    page = context.new_page()
    sign_in(page, "sam@example.com")
    page.goto("/actions")
    panel = page.locator(".action-panel", has_text="Flush the CDN cache")
    expect(panel).to_contain_text("Purges every cached page in one region.")
    panel.get_by_label("Region").select_option("us")
    panel.get_by_role("button", name="Run").click()
    page.locator("dialog").get_by_role("button", name="Run").click()
    expect(panel.locator(".outcome-line")).to_contain_text("Cache flushed")
    expect(panel.locator(".outcome-line .outcome")).to_have_text("Done")  # as on the cards
    expect(panel.locator(".runs")).to_contain_text("sam@example.com")
    expect(panel.locator(".run-label").first).to_have_text("Flush the CDN cache")
    [request] = [r for r in web_hub.service.received if r.path == "/flush"]
    assert json.loads(request.body)["inputs"] == {"region": "us"}
    assert "webhook-signature" in request.headers

    context.clear_cookies()  # sam leaves; vic, a viewer, signs in on the same browser
    viewer = context.new_page()
    sign_in(viewer, "vic@example.com")
    viewer.goto("/actions")
    expect(viewer.locator(".action-panel").get_by_role("button", name="Run")).to_be_disabled()


def test_an_open_runs_list_shows_a_new_run(context, web_hub, sign_in) -> None:
    with LoopbackServer(lambda _: (200, {"Content-Type": "application/json"}, b'{"message": "Purged"}')) as target:
        event = web_hub.post(
            project="shop",
            event="Cache is stale",
            actions=[{"label": "Purge", "key": "purge", "url": f"{target.url}/purge"}],
        )
        page = context.new_page()
        sign_in(page, "sam@example.com")
        page.goto(f"/events/{event['id']}")
        page.get_by_role("button", name="Purge").click()
        expect(page.locator(".outcome-line")).to_contain_text("Done")
        page.get_by_role("button", name="Runs").click()
        expect(page.locator(".runs .run")).to_have_count(1)
        page.get_by_role("button", name="Purge").click()  # again, with the list open
        expect(page.locator(".runs .run")).to_have_count(2)
        assert len(target.received) == 2


def test_a_choice_without_a_default_starts_unpicked(context, web_hub, sign_in) -> None:
    """A required choice is refused until someone picks one (no reason nobody chose); an optional one sends nothing."""
    with LoopbackServer(lambda _: (200, {}, b"{}")) as target:
        event = web_hub.post(
            project="shop",
            event="Refund requested for order 1234",
            actions=[
                {
                    "label": "Refund",
                    "key": "refund",
                    "url": f"{target.url}/refund",
                    "inputs": [
                        {"name": "reason", "type": "choice", "choices": ["duplicate", "fraud"], "required": True},
                        {"name": "channel", "type": "choice", "choices": ["email", "sms"]},
                        {"name": "speed", "type": "choice", "choices": ["slow", "fast"], "default": "fast"},
                    ],
                }
            ],
        )
        page = context.new_page()
        sign_in(page, "sam@example.com")
        page.goto(f"/events/{event['id']}")
        page.get_by_role("button", name="Refund").click()
        form = page.locator(".action-form")
        reason = form.locator("select[name=reason]")
        expect(reason).to_have_value("")
        expect(reason.locator("option").first).to_have_text("Choose…")
        expect(form.locator("select[name=channel]")).to_have_value("")
        expect(form.locator("select[name=speed]")).to_have_value("fast")
        expect(form.locator("select[name=speed] option")).to_have_count(2)  # a default leaves nothing to unpick
        form.get_by_role("button", name="Run").click()
        expect(form).to_be_visible()  # refused: the browser points at the empty field
        assert reason.evaluate("(n) => n.validity.valueMissing")
        reason.select_option("fraud")
        form.get_by_role("button", name="Run").click()
        expect(page.locator(".outcome-line")).to_contain_text("Done")
        [request] = target.received  # the refused click sent nothing
        assert json.loads(request.body)["inputs"] == {"reason": "fraud", "speed": "fast"}


def test_focus_comes_back_to_the_action_after_a_run_or_a_cancel(context, web_hub, sign_in) -> None:
    """The run disables the button and Cancel removes the form: either way the keyboard stays where it was, not
    at the top of the page."""
    with LoopbackServer(lambda _: (200, {}, b"{}")) as target:
        event = web_hub.post(
            project="shop",
            event="Disk almost full on db-2",
            actions=[
                {"label": "Clean up", "key": "clean", "url": f"{target.url}/clean", "confirm": True},
                {
                    "label": "Resize",
                    "key": "resize",
                    "url": f"{target.url}/resize",
                    "confirm": True,
                    "inputs": [{"name": "size", "type": "number", "required": True}],
                },
            ],
        )
        page = context.new_page()
        sign_in(page, "sam@example.com")
        page.goto(f"/events/{event['id']}")
        clean = page.get_by_role("button", name="Clean up")
        clean.click()
        page.locator("dialog").get_by_role("button", name="Cancel").click()
        expect(clean).to_be_focused()
        clean.click()
        page.locator("dialog").get_by_role("button", name="Run").click()
        expect(page.locator(".outcome-line")).to_contain_text("Done")
        expect(clean).to_be_focused()

        resize = page.get_by_role("button", name="Resize")
        resize.click()
        page.locator(".action-form").get_by_role("button", name="Cancel").click()
        expect(page.locator(".action-form")).to_have_count(0)
        expect(resize).to_be_focused()
        resize.click()
        page.locator(".action-form input").fill("40")
        page.locator(".action-form").get_by_role("button", name="Continue").click()
        page.locator("dialog").get_by_role("button", name="Cancel").click()
        expect(page.locator(".action-form").get_by_role("button", name="Continue")).to_be_focused()
        page.locator(".action-form").get_by_role("button", name="Continue").click()
        page.locator("dialog").get_by_role("button", name="Run").click()
        expect(page.locator(".outcome-line")).to_contain_text("Done")
        expect(resize).to_be_focused()
        assert len(target.received) == 2


def test_focus_comes_back_to_a_self_service_run_button(context, web_hub, sign_in) -> None:
    page = context.new_page()
    sign_in(page, "sam@example.com")
    page.goto("/actions")
    panel = page.locator(".action-panel", has_text="Flush the CDN cache")
    panel.get_by_label("Region").select_option("eu")
    run = panel.get_by_role("button", name="Run")
    run.click()
    page.locator("dialog").get_by_role("button", name="Run").click()
    expect(panel.locator(".outcome-line")).to_contain_text("Done")
    expect(run).to_be_focused()


def test_no_actions_says_what_each_person_can_do(context, web_hub, sign_in) -> None:
    """Only an admin can declare actions in the config file: anyone else is told to ask an admin."""

    async def projectless_viewer() -> None:
        data = {"email": "nell@example.com", "name": "Nell", "role": "viewer", "projects": []}
        user = await web_hub.live.hub.people.create_user(msgspec.convert(data, UserIn))
        await set_password(web_hub.live.hub.db, user.id, PASSWORD)

    web_hub.run(projectless_viewer())
    page = context.new_page()
    sign_in(page, "nell@example.com")
    page.goto("/actions")
    empty = page.locator(".empty")
    expect(empty).to_contain_text("You are not in any project yet. Ask an admin for access")
    expect(empty).not_to_contain_text("config file")

    context.clear_cookies()
    member = context.new_page()
    sign_in(member, "olga@example.com")  # payroll has no actions
    member.goto("/actions")
    expect(member.locator(".empty")).to_contain_text("None of your projects has any. Ask an admin")

    context.clear_cookies()
    admin = context.new_page()
    sign_in(admin, "ada@example.com")
    admin.route("**/api/v1/actions", lambda route: route.fulfill(json=[]))
    admin.goto("/actions")
    expect(admin.locator(".empty")).to_contain_text("Declare them in the config file under [[self_service_actions]]")


def test_inputs_without_a_label_read_as_words_and_checkboxes_come_first(context, web_hub, sign_in) -> None:
    with LoopbackServer(lambda _: (200, {}, b"{}")) as target:
        event = web_hub.post(
            project="shop",
            event="Customer asked to be called back",
            actions=[
                {
                    "label": "Call back",
                    "key": "callback",
                    "url": f"{target.url}/callback",
                    "inputs": [{"name": "phone_number"}, {"name": "notify_customer", "type": "bool"}],
                }
            ],
        )
        page = context.new_page()
        sign_in(page, "sam@example.com")
        page.goto(f"/events/{event['id']}")
        page.get_by_role("button", name="Call back").click()
        form = page.locator(".action-form")
        expect(form.get_by_label("Phone number", exact=True)).to_be_visible()
        check = form.get_by_label("Notify customer", exact=True)
        expect(check).to_have_attribute("type", "checkbox")
        box, label = check.bounding_box(), form.locator("label", has_text="Notify customer").bounding_box()
        assert box["x"] + box["width"] <= label["x"]  # the box, then its label


def test_runs_show_the_label_in_plain_text_and_the_inputs_sent(context, web_hub, sign_in) -> None:
    with LoopbackServer(lambda _: (200, {}, b"{}")) as target:
        event = web_hub.post(
            project="shop",
            event="Refund requested for order 5678",
            actions=[
                {
                    "label": "Refund",
                    "key": "refund",
                    "url": f"{target.url}/refund",
                    "inputs": [
                        {"name": "reason", "type": "choice", "choices": ["duplicate", "fraud"], "required": True},
                        {"name": "otp", "secret": True, "label": "One-time code"},
                        {"name": "notify_customer", "type": "bool"},
                    ],
                }
            ],
        )
        page = context.new_page()
        sign_in(page, "sam@example.com")
        page.goto(f"/events/{event['id']}")
        page.get_by_role("button", name="Refund").click()
        form = page.locator(".action-form")
        form.get_by_label("Reason").select_option("fraud")
        form.get_by_label("One-time code").fill("731902")
        form.get_by_label("Notify customer").check()
        form.get_by_role("button", name="Run").click()
        expect(page.locator(".outcome-line")).to_contain_text("Done")
    page.get_by_role("button", name="Runs").click()
    run = page.locator(".runs .run")
    expect(run.locator(".run-inputs")).to_have_text("Reason: fraud · One-time code: [hidden] · Notify customer: yes")
    label_font, body_font = run.locator(".run-label").evaluate(
        "(n) => [getComputedStyle(n).fontFamily, getComputedStyle(document.body).fontFamily]"
    )
    assert label_font == body_font  # the button's words, not code
