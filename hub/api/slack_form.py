"""The Slack form of an action's inputs: the modal `views.open` shows, and its submission read back as run inputs.

A button of an action with inputs opens this form (plugins/slack/blocks.py, when the hub has a bot token). Slack
POSTs the submitted form (`view_submission`) to the interactivity endpoint, which checks the values with the
hub's own rules (hub.actions.inputs) before it answers: a bad value is shown under its field and the form stays
open. Block Kit's shapes and limits: docs.slack.dev/reference/views/modal-views and reference/block-kit.
"""

from __future__ import annotations

from typing import Any

import msgspec

from hub.actions.inputs import validate_inputs
from hub.models import MAX_TEXT_INPUT, ActionInputOut, ActionOut, EventOut, ValidationProblem
from hub.pluginapi import truncate

CALLBACK_ID = "hub.run_form"  # marks a submitted view as this form
ACTION_ID = "value"  # the `action_id` of each field's element; its block's `block_id` is the input's name
TITLE_MAX = 24  # a modal's title, submit and close texts
METADATA_MAX = 3000  # a view's private_metadata
LABEL_MAX = 2000  # an input block's label
OPTIONS_MAX = 100  # a menu's options (the hub allows 50 choices)
OPTION_TEXT_MAX = 75  # an option's text; its value (75 or 150, as Slack's references disagree) is the choice's index
CONTEXT_MAX = 3000
ERROR_MAX = 300  # the hub's cut of a message under a field (Slack publishes no limit)


class FormContext(msgspec.Struct):
    """What the submission needs, carried in the view's `private_metadata`: the action, where to post the outcome
    (the clicked message's `response_url`) and the id of the card kept to update (None when Slack sent none)."""

    event: str
    key: str
    response_url: str
    card: str | None = None


class Submission(msgspec.Struct):
    slack_user: str
    form: FormContext
    state: dict[str, Any]  # the view's `state.values`: block_id -> action_id -> the element's state


def form_view(event: EventOut, action: ActionOut, metadata: str) -> dict[str, Any]:
    """The modal asking for `action`'s inputs, each prefilled with its default."""
    about = f"{action.label} · {event.event} · {event.project}/#{event.channel}"
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": truncate(action.label, TITLE_MAX), "emoji": True},
        "submit": {"type": "plain_text", "text": "Run"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "context",
                "elements": [{"type": "plain_text", "text": truncate(about, CONTEXT_MAX), "emoji": True}],
            },
            *(_field(spec) for spec in action.inputs),
        ],
    }


def _field(spec: ActionInputOut) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": spec.name,
        "label": {"type": "plain_text", "text": truncate(spec.label or spec.name, LABEL_MAX)},
        # Slack would make a required checkbox one that must be ticked; the hub takes either answer, as the web app.
        "optional": spec.type == "bool" or not spec.required,
        "element": _element(spec),
    }


def _element(spec: ActionInputOut) -> dict[str, Any]:
    default = spec.default
    if spec.type == "number":
        element: dict[str, Any] = {"type": "number_input", "action_id": ACTION_ID, "is_decimal_allowed": True}
        if default is not None:
            element["initial_value"] = msgspec.json.encode(default).decode()
        return element
    if spec.type == "choice":
        options = [_option(text, str(index)) for index, text in enumerate(spec.choices[:OPTIONS_MAX])]
        element = {"type": "static_select", "action_id": ACTION_ID, "options": options}
        if default in spec.choices[:OPTIONS_MAX]:
            element["initial_option"] = options[spec.choices.index(default)]
        return element
    if spec.type == "bool":
        element = {"type": "checkboxes", "action_id": ACTION_ID, "options": [_option("Yes", "true")]}
        if default is True:
            element["initial_options"] = element["options"]
        return element
    element = {"type": "plain_text_input", "action_id": ACTION_ID, "max_length": MAX_TEXT_INPUT}
    if isinstance(default, str) and default:
        element["initial_value"] = default
    return element


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": truncate(text, OPTION_TEXT_MAX), "emoji": True}, "value": value}


def submission_in(payload: Any) -> Submission | None:
    """The hub's form submitted in a `view_submission` payload; None for any other payload, or a shape Slack would
    not send (the payload is signed, but its shape is Slack's to change)."""
    if not isinstance(payload, dict) or payload.get("type") != "view_submission":
        return None
    view, user = payload.get("view"), payload.get("user")
    if not isinstance(view, dict) or view.get("callback_id") != CALLBACK_ID or not isinstance(user, dict):
        return None
    metadata = view.get("private_metadata")
    try:
        form = msgspec.json.decode(metadata, type=FormContext) if isinstance(metadata, str) else None
    except msgspec.DecodeError:  # a ValidationError too
        form = None
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if form is None or not isinstance(values, dict):
        return None
    return Submission(str(user.get("id", "")), form, values)


def form_values(declared: list[ActionInputOut], state: dict[str, Any]) -> dict[str, Any]:
    """The submitted fields as run inputs, typed as the web app sends them. A field left empty is left out (its
    default stands in, as in the web app); a value that is not of its input's type goes on as Slack sent it, for
    the hub's rules to refuse."""
    values: dict[str, Any] = {}
    for spec in declared:
        block = state.get(spec.name)
        field = block.get(ACTION_ID) if isinstance(block, dict) else None
        value = _value(spec, field) if isinstance(field, dict) else None
        if value is not None:
            values[spec.name] = value
    return values


def _value(spec: ActionInputOut, field: dict[str, Any]) -> Any:
    if spec.type == "bool":
        ticked = field.get("selected_options")
        return bool(ticked) if isinstance(ticked, list) else None
    if spec.type == "choice":
        option = field.get("selected_option")
        picked = option.get("value") if isinstance(option, dict) else None
        index = int(picked) if isinstance(picked, str) and picked.isascii() and picked.isdigit() else -1
        return spec.choices[index] if 0 <= index < len(spec.choices) else picked
    value = field.get("value")
    if value is None or value == "":
        return None
    if spec.type == "number" and isinstance(value, str):
        try:  # a JSON number, as the API takes: no NaN nor infinity
            return msgspec.json.decode(value, type=int | float)
        except msgspec.DecodeError:
            return value
    return value


def input_errors(declared: list[ActionInputOut], given: dict[str, Any]) -> dict[str, str]:
    """What is wrong with each field under the hub's run-input rules, by `block_id` (the input's name): every bad
    field at once, where a run reports the first."""
    errors: dict[str, str] = {}
    for spec in declared:
        try:
            validate_inputs([spec], {spec.name: given[spec.name]} if spec.name in given else {})
        except ValidationProblem as problem:
            errors[spec.name] = truncate(str(problem), ERROR_MAX)
    return errors
