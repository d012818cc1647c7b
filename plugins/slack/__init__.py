"""The built-in Slack notifier: a Block Kit card to an incoming-webhook URL, paced at one message a second.

A routing target `{ slack = "https://hooks.slack.com/services/..." }` sends there. Settings: `[plugins.slack]`.
"""

from __future__ import annotations

from hub.hookspecs import hookimpl
from hub.pluginapi import PluginSettings

from .notifier import SlackNotifier, SlackSettings


@hookimpl
def register_settings() -> PluginSettings:
    return PluginSettings("slack", SlackSettings)


@hookimpl
def register_notifiers() -> list[SlackNotifier]:
    return [SlackNotifier()]
