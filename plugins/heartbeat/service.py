"""The plugin's per-hub state: its clock, its settings and its ping writer, found from the HubContext.

Hooks, route handlers and jobs are all handed the same HubContext, so it keys the state. The state is made on
first use, which lets a test swap the clock before the hub starts.
"""

from __future__ import annotations

from datetime import datetime
from weakref import WeakKeyDictionary

from hub.pluginapi import HubContext

from .clock import Clock, SystemClock
from .recorder import PingRecorder
from .settings import NAME, HeartbeatSettings


class Heartbeat:
    def __init__(self, hub: HubContext) -> None:
        self.hub = hub
        self.clock: Clock = SystemClock()
        self.recorder = PingRecorder(hub, self.now)
        self.failing_checks: dict[int, float] = {}  # checks the scan could not flip: id -> failure last logged

    @property
    def settings(self) -> HeartbeatSettings:
        return self.hub.plugin_settings(NAME)

    def now(self) -> datetime:
        return self.clock.now()


_services: WeakKeyDictionary[HubContext, Heartbeat] = WeakKeyDictionary()


def service(hub: HubContext) -> Heartbeat:
    if hub not in _services:
        _services[hub] = Heartbeat(hub)
    return _services[hub]
