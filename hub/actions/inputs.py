"""Checking the values a person filled in against the inputs an action declares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hub.models import MAX_TEXT_INPUT, ActionInput, ActionInputOut, ValidationProblem


def validate_inputs(declared: Sequence[ActionInput | ActionInputOut], given: dict[str, Any]) -> dict[str, Any]:
    """The values to send (defaults filled in); a ValidationProblem naming `inputs.<name>` otherwise."""
    names = {i.name for i in declared}
    for name in given:
        if name not in names:
            allowed = ", ".join(sorted(names)) or "none"
            raise ValidationProblem(f"unknown input `{name}`; this action takes: {allowed}", f"inputs.{name}")
    values: dict[str, Any] = {}
    for spec in declared:
        field = f"inputs.{spec.name}"
        value = given.get(spec.name)
        if value is None:  # left out, or sent as null: the default stands in
            value = spec.default
        if value is None or (isinstance(value, str) and not value.strip()):  # spaces answer nothing
            if spec.required:
                raise ValidationProblem(f"`{spec.name}` is required", field)
            continue
        if spec.type == "text":
            if not isinstance(value, str) or len(value) > MAX_TEXT_INPUT:
                raise ValidationProblem(f"`{spec.name}` must be text of at most {MAX_TEXT_INPUT} characters", field)
            if "\x00" in value:
                raise ValidationProblem(
                    f"`{spec.name}` contains a NUL character (\\u0000), which the hub does not store", field
                )
        elif spec.type == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationProblem(f"`{spec.name}` must be a number", field)
        elif spec.type == "bool":
            if not isinstance(value, bool):
                raise ValidationProblem(f"`{spec.name}` must be true or false", field)
        elif value not in spec.choices:
            raise ValidationProblem(f"`{spec.name}` must be one of {', '.join(spec.choices)}", field)
        values[spec.name] = value
    return values


HIDDEN = "[hidden]"


def kept_inputs(declared: Sequence[ActionInput | ActionInputOut], values: dict[str, Any]) -> dict[str, Any]:
    """The values as a run keeps and shows them: a `secret` input's only as HIDDEN."""
    secret = {i.name for i in declared if i.secret}
    return {name: HIDDEN if name in secret else value for name, value in values.items()}
