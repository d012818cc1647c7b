"""Copy buttons say what happened: "Copied" when the text is on the clipboard, and where the browser copies
nothing (no Clipboard API outside secure contexts, no copy command) they select the text and say so."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

NO_CLIPBOARD = """
Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined });
document.execCommand = () => false;
"""


def test_copy_buttons_copy(context, web_hub, sign_in) -> None:
    event = web_hub.post(project="copies", event="Copy me", content={"order": 1001, "paid": True})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto(f"/events/{event['id']}")
    page.locator(".json").get_by_role("button", name="Copy").click()
    expect(page.locator(".json").get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == '{\n  "order": 1001,\n  "paid": true\n}'
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Link copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == page.url


def test_without_a_clipboard_the_text_is_selected_not_claimed_copied(context, web_hub, sign_in) -> None:
    event = web_hub.post(project="copies", event="Copy me too", content={"order": 1002})
    check = httpx.post(
        f"{web_hub.url}/api/v1/checks",
        json={"name": "Copied by hand", "project": "copies", "period": 3600},
        headers={"Authorization": f"Bearer {web_hub.key}"},
        timeout=10,
    ).json()
    context.add_init_script(NO_CLIPBOARD)
    page = context.new_page()
    sign_in(page, "ada@example.com")
    page.goto(f"/events/{event['id']}")
    json_block = page.locator(".json")
    json_block.get_by_role("button", name="Copy").click()
    expect(json_block.get_by_role("button", name="Select and copy")).to_be_visible()
    assert page.evaluate("getSelection().toString()") == '{\n  "order": 1002\n}'
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copy failed")).to_be_visible()
    expect(page.get_by_role("button", name="Copied")).to_have_count(0)

    page.goto("/heartbeats")
    row = page.locator(".check", has_text="Copied by hand")
    row.get_by_role("button", name="Details of Copied by hand").click()
    row.locator(".copy-field").get_by_role("button", name="Copy").click()
    expect(row.get_by_role("button", name="Select and copy")).to_be_visible()
    selected = page.evaluate(
        "document.activeElement.value.slice(document.activeElement.selectionStart, document.activeElement.selectionEnd)"
    )
    assert selected == check["ping_url"]
