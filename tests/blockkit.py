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
                assert element.get("url", "").startswith(("http://", "https://")), f"{where}: button url"
                assert len(element["url"]) <= 3000
                assert element.get("style") in (None, "primary", "danger")
        elif kind == "divider":
            pass
        else:
            raise AssertionError(f"{where}: unknown block type {kind!r}")
