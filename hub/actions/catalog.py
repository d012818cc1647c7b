"""Self-service actions declared in the config file (`[[self_service_actions]]`): not tied to any event."""

from __future__ import annotations

from typing import Annotated

import msgspec

from hub.models import NAME_PATTERN, SLUG_PATTERN, ActionInput


class RecordAs(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Store each run as an event in this channel of the action's project, so the feed shows who did what."""

    channel: Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]
    icon: str | None = None


class SelfServiceAction(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    name: Annotated[str, msgspec.Meta(pattern=NAME_PATTERN)]
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    # The project whose action secret signs the request (and where runs are recorded).
    project: Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]
    url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]+\Z", max_length=2048)]
    description: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    inputs: Annotated[list[ActionInput], msgspec.Meta(max_length=10)] = []
    # Teams whose members may run it; empty means anyone with an admin or `act` key.
    teams: list[Annotated[str, msgspec.Meta(pattern=SLUG_PATTERN)]] = []
    record: RecordAs | None = None

    def __post_init__(self) -> None:
        self.project = self.project.lower()
        names = [i.name for i in self.inputs]
        if len(names) != len(set(names)):
            raise ValueError("`inputs` names must be unique")
