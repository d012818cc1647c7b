"""The one clock the plugin reads: pings, deadlines and the scan all ask it, so tests can move time."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from hub.pluginapi import now_utc


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class SystemClock:
    def now(self) -> datetime:
        return now_utc()
