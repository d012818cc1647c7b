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
