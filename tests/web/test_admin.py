"""The admin page in a real browser: a new API key's secret and a new webhook source's URL are shown once and
stay until dismissed; routing rules read as the hub stores them; the delivery log and its Retry button."""

from __future__ import annotations

import re

import httpx
import pytest
from peers import LoopbackServer
from playwright.sync_api import Locator, Page, expect


def test_a_new_keys_secret_is_shown_once_and_works(context, web_hub, sign_in) -> None:
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/admin")
    keys = page.locator("section.panel", has_text="API keys")
    keys.get_by_label("Name").fill("browser-made key")
    expect(keys.get_by_label("ingest")).to_be_checked()  # the default scope
    keys.get_by_role("button", name="Create key").click()
    expect(keys.locator("tbody")).to_contain_text("browser-made key")  # the list reloaded...
    box = keys.locator(".secret")
    expect(box).to_contain_text("Key “browser-made key”")  # ...and the secret is still there
    expect(box.get_by_role("button", name="Copy")).to_be_visible()
    secret = box.locator(".secret-value").inner_text()
    page.wait_for_timeout(500)
    expect(box).to_be_visible()

    response = httpx.post(
        f"{web_hub.url}/api/v1/events",
        json={"project": "keys-made", "event": "Sent with the new key"},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text

    box.get_by_role("button", name="Dismiss").click()
    expect(keys.locator(".secret")).to_have_count(0)
    page.reload()
    expect(keys.locator("tbody")).to_contain_text("browser-made key")
    expect(page.locator("main")).not_to_contain_text(secret)


def test_a_key_can_have_several_scopes_including_act(context, web_hub, sign_in) -> None:
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/admin")
    keys = page.locator("section.panel", has_text="API keys")
    keys.get_by_label("Name").fill("reader and runner")
    keys.get_by_label("ingest").uncheck()
    keys.get_by_label("read", exact=True).check()
    keys.get_by_label("act", exact=True).check()
    keys.get_by_role("button", name="Create key").click()
    expect(keys.locator("tbody tr", has_text="reader and runner")).to_contain_text("read, act")
    secret = keys.locator(".secret .secret-value").inner_text()
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{web_hub.url}/api/v1/events", headers=headers, timeout=10).status_code == 200
    listed = httpx.get(f"{web_hub.url}/api/v1/keys", headers={"Authorization": f"Bearer {web_hub.key}"}, timeout=10)
    assert next(k for k in listed.json() if k["name"] == "reader and runner")["scopes"] == ["read", "act"]
    expect(keys.get_by_label("ingest")).to_be_checked()  # the form is back to its default for the next key

    keys.get_by_label("Name").fill("no scope at all")
    for scope in ("ingest", "read", "act", "admin"):
        keys.get_by_label(scope, exact=True).uncheck()
    keys.get_by_role("button", name="Create key").click()
    expect(keys.locator(".form-error")).to_have_text("Choose at least one scope.")
    expect(keys.get_by_label("ingest")).to_be_focused()
    expect(keys.get_by_label("ingest")).to_have_attribute("aria-invalid", "true")
    expect(keys.locator("tbody")).not_to_contain_text("no scope at all")
    keys.get_by_label("read", exact=True).check()
    keys.get_by_role("button", name="Create key").click()
    expect(keys.locator("tbody")).to_contain_text("no scope at all")
    expect(keys.locator(".form-error")).to_be_hidden()
    expect(keys.get_by_label("ingest")).not_to_have_attribute("aria-invalid", "true")


def add_source(page: Page, plugin: str, name: str) -> Locator:
    """Fill in and send the admin page's webhook source form; its section."""
    sources = page.locator("section.panel", has_text="Webhook sources")
    sources.get_by_label("Type").fill(plugin)
    sources.get_by_label("Name").fill(name)
    sources.get_by_label("Project").fill("shop")
    sources.get_by_label("Secret").fill("whsec_from_the_browser")
    sources.get_by_role("button", name="Add source").click()
    return sources


def test_a_refused_form_says_why_beside_the_field_the_hub_named_until_the_next_try(context, sign_in) -> None:
    """The admin forms' errors were toasts, gone after 4 s, with nothing to show which field was wrong."""
    page = context.new_page()
    page.clock.install()
    sign_in(page, "ada@example.com")
    page.goto("/admin")
    sources = add_source(page, "stripy", "shop")
    error = sources.locator(".form-error")
    expect(error).to_contain_text("`plugin` must be a loaded webhook source type")
    kind = sources.get_by_label("Type")
    expect(kind).to_be_focused()
    expect(kind).to_have_attribute("aria-invalid", "true")
    expect(kind).to_have_attribute("aria-errormessage", error.get_attribute("id"))
    page.clock.fast_forward(10_000)
    expect(error).to_be_visible()
    kind.fill("stripe")  # mending the field takes its mark away; the message stays until the next try
    expect(kind).not_to_have_attribute("aria-invalid", "true")
    expect(error).to_be_visible()

    keys = page.locator("section.panel", has_text="API keys")
    keys.get_by_label("Name").fill("x" * 200)
    keys.get_by_label("ingest").uncheck()
    keys.get_by_role("button", name="Create key").click()
    expect(keys.get_by_label("ingest")).to_have_attribute("aria-invalid", "true")
    keys.get_by_label("read", exact=True).check()
    keys.get_by_role("button", name="Create key").click()
    expect(keys.locator(".form-error")).to_contain_text("length <= 128 - at `$.name`")
    expect(keys.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(keys.get_by_label("ingest")).not_to_have_attribute("aria-invalid", "true")
    keys.get_by_label("ingest").check()  # the field marked before: its change must not unmark the one marked now
    expect(keys.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(sources.locator(".form-error")).to_be_visible()  # each form keeps its own line


def test_a_new_webhook_sources_url_stays_on_the_page(context, web_hub, sign_in) -> None:
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/admin")
    sources = add_source(page, "stripe", "browser-shop")
    expect(sources.locator("tbody")).to_contain_text("stripe/browser-shop")
    box = sources.locator(".secret")
    expect(box).to_contain_text("Point the sender at")
    expect(box.locator(".secret-value")).to_have_text(re.compile(r"^https?://.+/hooks/stripe/browser-shop$"))


def test_routing_rules_read_as_stored(context, web_hub, sign_in) -> None:
    """The API leaves out fields at their defaults (`enabled`, `via`): a rule is on unless it says otherwise."""
    headers = {"Authorization": f"Bearer {web_hub.key}"}
    rules = {
        "browser-on": {
            "match": {"projects": ["rules-only"]},
            "targets": [{"slack": "https://hooks.slack.com/services/T0/B0/secret"}, {"everyone": True}],
        },
        "browser-off": {
            "match": {"projects": ["rules-only"]},
            "targets": [{"user": "sam@example.com", "via": "email"}],
            "enabled": False,
        },
    }
    for name, rule in rules.items():
        response = httpx.put(f"{web_hub.url}/api/v1/routes/{name}", json={"name": name, **rule}, headers=headers)
        assert response.status_code in (200, 201), response.text
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/admin")
    table = page.locator("section.panel", has_text="Routing rules")
    on = table.locator("tr", has_text="browser-on")
    expect(on).not_to_contain_text("(off)")
    expect(on).to_contain_text("Slack (https://hooks.slack.com/…)")
    expect(on).to_contain_text("everyone in the project (push)")
    expect(on).not_to_contain_text("undefined")
    off = table.locator("tr", has_text="browser-off")
    expect(off).to_contain_text("(off)")
    expect(off).to_contain_text("sam@example.com (email)")


def test_deliveries_show_their_error_and_a_refused_retry_says_why(context, web_hub, sign_in) -> None:
    headers = {"Authorization": f"Bearer {web_hub.key}"}
    with LoopbackServer(lambda _: (400, {}, b"invalid_payload")) as slack:
        rule = {"name": "deliv-slack", "match": {"projects": ["deliv"]}, "targets": [{"slack": f"{slack.url}/hook"}]}
        assert httpx.put(f"{web_hub.url}/api/v1/routes/deliv-slack", json=rule, headers=headers).status_code < 300
        event = web_hub.post(project="deliv", event="Payment failed for Acme", notify=True)
        web_hub.run(web_hub.live.hub.outbox.run_once())
        assert slack.received
    [delivery] = httpx.get(
        f"{web_hub.url}/api/v1/deliveries", params={"event_id": event["id"]}, headers=headers, timeout=10
    ).json()["items"]
    assert delivery["state"] == "failed" and delivery["last_error"]

    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, "ada@example.com")
    page.goto("/admin")
    row = page.locator("section.panel", has_text="Deliveries").locator(
        "tr", has=page.locator(f'a[href="/events/{event["id"]}"]')
    )
    expect(row.locator(".badge")).to_have_text("failed")
    expect(row.get_by_role("link", name="Payment failed for Acme")).to_be_visible()  # its title, not #388...
    expect(row).to_contain_text("deliv-slack")
    expect(row).to_contain_text(delivery["last_error"])
    colour = "(n) => getComputedStyle(n).color"
    failed_colour = row.locator(".badge").evaluate(colour)

    # Someone else retries it first: this page's Retry is refused (409) and says so, then shows the new state.
    retried = httpx.post(f"{web_hub.url}/api/v1/deliveries/{delivery['id']}/retry", headers=headers, timeout=10)
    assert retried.status_code == 202
    row.get_by_role("button", name="Retry").click()
    expect(page.locator(".toast-error")).to_contain_text("only failed or dead ones can be retried")
    expect(row.locator(".badge")).to_have_text("pending")
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)
    assert row.locator(".badge").evaluate(colour) != failed_colour  # states look different, not only read different
    assert errors == []


def test_a_list_that_did_not_load_says_so_instead_of_none_yet(context, sign_in) -> None:
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.route(re.compile(r".*/api/v1/(keys|sources)$"), lambda route: route.abort())
    page.goto("/admin")
    keys = page.locator("section.panel", has_text="API keys")
    expect(keys).to_contain_text("API keys unavailable: The hub cannot be reached.")
    expect(keys).not_to_contain_text("No API keys yet.")
    sources = page.locator("section.panel", has_text="Webhook sources")
    expect(sources).to_contain_text("Webhook sources unavailable: The hub cannot be reached.")
    expect(sources).not_to_contain_text("No webhook sources yet.")


def test_a_slow_first_load_of_the_keys_never_hides_a_key_just_made(context, sign_in) -> None:
    """The list loads when the page opens and again once a key is made; where the first answer came last, it drew
    the list without the new key (a CI run on a loaded machine)."""
    page = context.new_page()
    sign_in(page, "ada@example.com")
    held = []

    def answer_the_first_list_late(route) -> None:
        if route.request.method == "GET" and not held:
            held.append((route, route.fetch()))  # the list before the key is made, answered below
        else:
            route.continue_()

    page.route(re.compile(r".*/api/v1/keys$"), answer_the_first_list_late)
    page.goto("/admin")
    keys = page.locator("section.panel", has_text="API keys")
    keys.get_by_label("Name").fill("made while loading")
    keys.get_by_role("button", name="Create key").click()
    expect(keys.locator("tbody")).to_contain_text("made while loading")
    [(route, before)] = held
    with page.expect_response(re.compile(r".*/api/v1/keys$")):
        route.fulfill(response=before)
    page.evaluate("() => new Promise((done) => setTimeout(done, 200))")  # the answer read and (not) drawn
    expect(keys.locator("tbody")).to_contain_text("made while loading")


@pytest.mark.parametrize("width", [1280, 390])
def test_delivery_tables_fit_the_screen_with_retry_and_the_error_in_view(browser, web_hub, sign_in, width) -> None:
    headers = {"Authorization": f"Bearer {web_hub.key}"}
    with LoopbackServer(lambda _: (400, {}, b"invalid_payload")) as slack:
        rule = {"name": "fit-slack", "match": {"projects": ["fit"]}, "targets": [{"slack": f"{slack.url}/hook"}]}
        assert httpx.put(f"{web_hub.url}/api/v1/routes/fit-slack", json=rule, headers=headers).status_code < 300
        event = web_hub.post(project="fit", event="Payment failed for a customer with a long name", notify=True)
        web_hub.run(web_hub.live.hub.outbox.run_once())
    context = browser.new_context(viewport={"width": width, "height": 800}, base_url=web_hub.url)
    try:
        page = context.new_page()
        sign_in(page, "ada@example.com")
        page.goto("/admin")
        row = (
            page.locator("section.panel", has_text="Deliveries")
            .locator("tr", has=page.locator(f'a[href="/events/{event["id"]}"]'))
            .first
        )
        expect(row.get_by_role("button", name="Retry")).to_be_visible()
        for wrap in page.locator(".table-wrap").all():  # nothing to scroll sideways to
            assert wrap.evaluate("(n) => n.scrollWidth <= n.clientWidth"), wrap.inner_text()[:200]
        for part in (row.get_by_role("button", name="Retry"), row.locator(".delivery-error")):
            box = part.bounding_box()
            assert box and box["x"] + box["width"] <= width, f"{part} ends at {box} on a {width}px screen"
    finally:
        context.close()


def test_revoking_a_key_and_deleting_a_source_ask_with_a_red_button_starting_on_cancel(
    context, web_hub, sign_in
) -> None:
    headers = {"Authorization": f"Bearer {web_hub.key}"}
    made = httpx.post(f"{web_hub.url}/api/v1/keys", json={"name": "doomed key", "scopes": ["read"]}, headers=headers)
    assert made.status_code == 201, made.text
    source = {"plugin": "github", "name": "doomed-source", "project": "shop", "secrets": ["s3cret-for-the-test"]}
    assert httpx.post(f"{web_hub.url}/api/v1/sources", json=source, headers=headers).status_code == 201
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto("/admin")
    for section, row_text, verb in (
        ("API keys", "doomed key", "Revoke"),
        ("Webhook sources", "doomed-source", "Delete"),
    ):
        row = page.locator("section.panel", has_text=section).locator("tr", has_text=row_text)
        row.get_by_role("button", name=verb).click()
        dialog = page.locator("dialog")
        expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
        expect(dialog.get_by_role("button", name=verb)).to_have_class(re.compile(r"\bbtn-danger\b"))
        page.keyboard.press("Enter")
        expect(dialog).to_have_count(0)
        expect(row.get_by_role("button", name=verb)).to_be_visible()  # still there
        row.get_by_role("button", name=verb).click()
        dialog.get_by_role("button", name=verb).click()
        expect(row.get_by_role("button", name=verb)).to_have_count(0)
        # The table drawn again took the button away: the keyboard goes on from the section, not the page's top.
        expect(page.get_by_role("heading", name=section, level=2)).to_be_focused()
