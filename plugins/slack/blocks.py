"""A Message as a Slack Block Kit payload, within Slack's published limits, with a plain `text` fallback."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from hub.pluginapi import Message, mrkdwn_escape, tag_text, truncate

from . import mrkdwn

# Slack's limits (api.slack.com/reference/block-kit): header text 150, section text 3000, a field 2000,
# 10 fields per section, 25 elements per actions block, button text 75, button URL 3000, 50 blocks.
HEADER_MAX = 150
TEXT_MAX = 3000
FIELD_MAX = 2000
MAX_FIELDS = 10
BUTTON_TEXT_MAX = 75
URL_MAX = 3000
MAX_BUTTONS = 25
MAX_DIGEST_ITEMS = 20
ACTION_ID_MAX = 255
VALUE_MAX = 2000
# `action_id` prefixes of buttons the hub's Slack interactivity endpoint answers: one runs the action at once, the
# other opens a form for its inputs first (hub/api/slack.py).
RUN_PREFIX = "hub.run."
FORM_PREFIX = "hub.form."
SEVERITY_ICON = {"info": "ℹ️", "warning": "⚠️", "critical": "🚨"}  # noqa: RUF001


def _fit(text: str, limit: int) -> str:
    """User text escaped for mrkdwn and shortened to `limit` without cutting an entity (`&am…` shows as is)."""
    escaped = mrkdwn_escape(text)
    if len(escaped) <= limit:
        return escaped
    return re.sub(r"&[a-z]*\Z", "", escaped[: limit - 1]) + "…"


def _button(text: str, url: str, *, primary: bool = False) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": truncate(text, BUTTON_TEXT_MAX), "emoji": True},
        "url": url[:URL_MAX],
    }
    if primary:
        button["style"] = "primary"
    return button


def _run_button(message: Message, index: int, action: Any, *, forms: bool) -> dict[str, Any] | None:
    """A button Slack reports to the hub when clicked (no URL): its `value` names the event and the action.

    `forms`: the hub can open a Slack form (a bot token), so an action with inputs asks for them there; without
    one, an action whose inputs are all optional runs with their defaults. A secret is never asked for in Slack."""
    if message.event is None or not action.key or any(i.secret for i in action.inputs):
        return None  # nothing to run, or a secret to type: the event's page does
    form = forms and bool(action.inputs)
    if not form and any(i.required for i in action.inputs):
        return None  # a form to fill in, which only the page can show
    value = msgspec.json.encode({"event": message.event.id, "key": action.key}).decode()
    if len(value) > VALUE_MAX:
        return None
    button: dict[str, Any] = {
        "type": "button",
        "action_id": f"{FORM_PREFIX if form else RUN_PREFIX}{index}",
        "text": {"type": "plain_text", "text": truncate(action.label, BUTTON_TEXT_MAX), "emoji": True},
        "value": value,
    }
    if action.confirm and not form:  # the form's own Run button is the confirmation
        button["confirm"] = {
            "title": {"type": "plain_text", "text": "Are you sure?"},
            "text": {"type": "plain_text", "text": truncate(f"Run “{action.label}”?", 300)},
            "confirm": {"type": "plain_text", "text": "Run"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
    return button


def _body(message: Message, limit: int) -> str:
    """The description as mrkdwn: a markdown one converted (the conversion escapes the event's text), a text one
    escaped, either cut to `limit`."""
    if message.is_markdown:
        return mrkdwn.cut(mrkdwn.convert(message.body), limit)
    return _fit(message.body, limit)


def fallback_text(message: Message) -> str:
    """What notifications and screen readers show; mrkdwn like the blocks, so escaped like them (else an event's
    `<!channel>` would mention everyone)."""
    link = f" <{message.url}|open>"
    icon = SEVERITY_ICON.get(message.severity, "")
    # Not twice when the event's own icon is the severity's (`🚨 Dispute opened`).
    words = message.title if message.title.startswith(icon) else f"{icon} {message.title}".strip()
    if message.is_markdown:
        head = _fit(words, TEXT_MAX - len(link))
        body = _body(message, TEXT_MAX - len(link) - len(head) - 2)
        return f"{head}: {body}{link}" if body else head + link
    if message.body:
        words += f": {message.body}"
    return _fit(words, TEXT_MAX - len(link)) + link


def _tag_fields(tags: dict[str, Any], room: int) -> list[str]:
    """A field per tag; when there are more tags than fields, the last field says how many are left out."""
    shown = list(tags.items()) if len(tags) <= room else list(tags.items())[: room - 1]
    fields = []
    for key, value in shown:
        name = f"*{mrkdwn_escape(key)}*\n"
        fields.append(name + _fit(tag_text(value), FIELD_MAX - len(name)))
    if len(shown) < len(tags):
        fields.append(f"*More tags*\n{len(tags) - len(shown)} more in the hub")
    return fields


def render(message: Message, *, interactive: bool = False, forms: bool = False) -> dict[str, Any]:
    """`interactive`: a Slack signing secret is configured, so runnable actions become buttons that run them;
    `forms`: a bot token too, so a button of an action with inputs opens a form for them in Slack."""
    if message.is_digest:
        return _render_digest(message)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(message.title, HEADER_MAX), "emoji": True},
        }
    ]
    if message.body and (body := _body(message, TEXT_MAX)):  # markdown may show nothing: `[](javascript:x)`
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body}})
    fields = [
        f"*Project*\n{mrkdwn_escape(message.project)}",
        f"*Channel*\n#{mrkdwn_escape(message.channel)}",
        f"*Severity*\n{SEVERITY_ICON.get(message.severity, '')} {message.severity}",
    ]
    if message.event is not None:
        fields += _tag_fields(message.event.tags, MAX_FIELDS - len(fields))
    blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]})
    context = f"hub · {message.project}/{message.channel}"
    if message.event is not None:
        at = message.event.created_at
        context += f" · <!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at.isoformat()}>"
    if message.count > 1:
        context += f" · {message.count} events"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(context, TEXT_MAX)}]})
    buttons = [_button("Open in hub", message.url, primary=True)]
    for index, action in enumerate(message.actions):
        # External actions are links. The others run through the hub: from Slack itself when interactivity is
        # set up, otherwise from the event's page.
        run = _run_button(message, index, action, forms=forms) if interactive and not action.external else None
        buttons.append(run or _button(action.label, action.url if action.external else message.url))
    blocks.append({"type": "actions", "elements": buttons[:MAX_BUTTONS]})
    return {"text": fallback_text(message), "blocks": blocks}


def _digest_lines(message: Message) -> str:
    """One line per held notification, as many whole lines as fit (a line cut short would show a raw `<url|`)."""
    lines: list[str] = []
    for shown, item in enumerate(message.items[:MAX_DIGEST_ITEMS]):
        line = (
            # A link's label on one line: a line break in a title ended Slack's `<url|label>` and showed it raw.
            f"{SEVERITY_ICON.get(item.severity, '')} <{item.url}|{_fit(' '.join(item.title.split()), 200)}>"
            f" · {mrkdwn_escape(item.project)}/#{mrkdwn_escape(item.channel)}"
        )
        left = len(message.items) - shown - 1
        if len("\n".join([*lines, line, *([f"…and {left} more"] if left else [])])) > TEXT_MAX:
            return "\n".join([*lines, f"…and {left + 1} more"])
        lines.append(line)
    if len(message.items) > MAX_DIGEST_ITEMS:
        lines.append(f"…and {len(message.items) - MAX_DIGEST_ITEMS} more")
    return "\n".join(lines)


def _render_digest(message: Message) -> dict[str, Any]:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(message.title, HEADER_MAX), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _digest_lines(message)}},
        {"type": "actions", "elements": [_button("Open in hub", message.url, primary=True)]},
    ]
    return {"text": fallback_text(message), "blocks": blocks}
