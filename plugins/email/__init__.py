"""The built-in email notifier: multipart text and HTML over SMTP (aiosmtplib), digests as one email.

SMTP settings live in `[plugins.email]`; routing targets `{ email = "..." }` and people reached `via = "email"`
use it.
"""

from __future__ import annotations

from hub.hookspecs import hookimpl
from hub.pluginapi import PluginSettings

from .notifier import EmailNotifier
from .settings import EmailSettings


@hookimpl
def register_settings() -> PluginSettings:
    return PluginSettings("email", EmailSettings)


@hookimpl
def register_notifiers() -> list[EmailNotifier]:
    return [EmailNotifier()]
