"""A checker for Slack Block Kit payloads, following Slack's published block reference and limits."""

from __future__ import annotations

from typing import Any


def _plain(obj: Any, limit: int, where: str) -> None:
    assert isinstance(obj, dict) and obj.get("type") == "plain_text", f"{where}: needs a plain_text object"
    assert 1 <= len(obj["text"]) <= limit, f"{where}: text length {len(obj['text'])} outside 1..{limit}"


def _text(obj: Any, limit: int, where: str) -> None:
    assert isinstance(obj, dict) and obj.get("type") in ("plain_text", "mrkdwn"), f"{where}: needs a text object"
    assert 1 <= len(obj["text"]) <= limit, f"{where}: text length outside 1..{limit}"


def check_message(payload: dict[str, Any]) -> None:
    """Raise AssertionError naming the first rule an incoming-webhook payload breaks."""
    assert isinstance(payload.get("text"), str) and payload["text"], "top-level `text` fallback is required"
    blocks = payload.get("blocks", [])
    assert isinstance(blocks, list) and len(blocks) <= 50, "at most 50 blocks"
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        kind = block.get("type")
        if kind == "header":
            _plain(block["text"], 150, where)
        elif kind == "section":
            assert "text" in block or "fields" in block, f"{where}: a section needs text or fields"
            if "text" in block:
                _text(block["text"], 3000, where)
            fields = block.get("fields", [])
            assert len(fields) <= 10, f"{where}: at most 10 fields"
            for field in fields:
                _text(field, 2000, f"{where}.fields")
        elif kind == "context":
            elements = block["elements"]
            assert 1 <= len(elements) <= 10, f"{where}: 1..10 context elements"
            for element in elements:
                _text(element, 3000, f"{where}.elements")
        elif kind == "actions":
            elements = block["elements"]
            assert 1 <= len(elements) <= 25, f"{where}: 1..25 action elements"
            for element in elements:
                assert element["type"] == "button", f"{where}: only buttons are used"
                _plain(element["text"], 75, f"{where}.button")
                # A button links (`url`) or reports clicks to the app (`action_id`, with an optional `value`).
                assert "url" in element or "action_id" in element, f"{where}: a button needs url or action_id"
                if "url" in element:
                    assert element["url"].startswith(("http://", "https://")), f"{where}: button url"
                    assert len(element["url"]) <= 3000
                if "action_id" in element:
                    assert 1 <= len(element["action_id"]) <= 255, f"{where}: action_id length"
                    assert len(element.get("value", "")) <= 2000, f"{where}: value length"
                assert element.get("style") in (None, "primary", "danger")
                if "confirm" in element:
                    confirm = element["confirm"]
                    _plain(confirm["title"], 100, f"{where}.confirm.title")
                    _text(confirm["text"], 300, f"{where}.confirm.text")
                    _plain(confirm["confirm"], 30, f"{where}.confirm.confirm")
                    _plain(confirm["deny"], 30, f"{where}.confirm.deny")
            ids = [e["action_id"] for e in elements if "action_id" in e]
            assert len(ids) == len(set(ids)), f"{where}: action_ids must be unique in a message"
        elif kind == "divider":
            pass
        else:
            raise AssertionError(f"{where}: unknown block type {kind!r}")


def _options(options: Any, limit: int, where: str) -> None:
    assert isinstance(options, list) and 1 <= len(options) <= limit, f"{where}: 1..{limit} options"
    for option in options:
        _text(option["text"], 75, f"{where}.text")
        # 75 in Slack's older reference, 150 in the newer one: the stricter is checked.
        assert 1 <= len(option["value"]) <= 75, f"{where}: an option's value is 1..75 characters"
    values = [o["value"] for o in options]
    assert len(values) == len(set(values)), f"{where}: option values must be unique"


def _input_element(element: dict[str, Any], where: str) -> None:
    kind = element["type"]
    assert 1 <= len(element.get("action_id", "x")) <= 255, f"{where}: action_id length"
    if kind == "plain_text_input":
        limit = element.get("max_length", 3000)
        assert 1 <= limit <= 3000, f"{where}: max_length outside 1..3000"
        assert len(element.get("initial_value", "")) <= limit, f"{where}: initial_value longer than max_length"
    elif kind == "number_input":
        assert isinstance(element["is_decimal_allowed"], bool), f"{where}: is_decimal_allowed is required"
        if "initial_value" in element:
            assert isinstance(element["initial_value"], str), f"{where}: initial_value is a string"
            float(element["initial_value"])
    elif kind == "static_select":
        _options(element["options"], 100, f"{where}.options")
        if "initial_option" in element:
            assert element["initial_option"] in element["options"], f"{where}: initial_option not among options"
    elif kind == "checkboxes":
        _options(element["options"], 10, f"{where}.options")
        for option in element.get("initial_options", []):
            assert option in element["options"], f"{where}: initial_options not among options"
    else:
        raise AssertionError(f"{where}: input element {kind!r} is not one the hub uses")


def check_modal(view: dict[str, Any]) -> None:
    """Raise AssertionError naming the first rule a `views.open` modal view breaks (docs.slack.dev/reference/views)."""
    assert view.get("type") == "modal", "type must be modal"
    _plain(view["title"], 24, "title")
    for button in ("submit", "close"):
        if button in view:
            _plain(view[button], 24, button)
    assert isinstance(view.get("private_metadata", ""), str) and len(view.get("private_metadata", "")) <= 3000
    assert len(view.get("callback_id", "")) <= 255, "callback_id is at most 255 characters"
    blocks = view["blocks"]
    assert isinstance(blocks, list) and 1 <= len(blocks) <= 100, "1..100 blocks"
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)) and all(1 <= len(i) <= 255 for i in ids), "block_ids unique, 1..255 characters"
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10, f"{where}: 1..10 context elements"
            for element in block["elements"]:
                _text(element, 3000, f"{where}.elements")
        elif block["type"] == "input":
            assert "submit" in view, "a modal with input blocks needs `submit`"
            _plain(block["label"], 2000, f"{where}.label")
            assert isinstance(block.get("optional", False), bool), f"{where}: optional is a boolean"
            _input_element(block["element"], f"{where}.element")
        else:
            raise AssertionError(f"{where}: block {block['type']!r} is not one the hub's forms use")
