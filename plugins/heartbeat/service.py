"""The plugin's per-hub state: its clock, its settings and its ping writer, found from the HubContext.

Hooks, route handlers and jobs are all handed the same HubContext, which holds the state (`state`, under the
plugin's name). The state is made on first use, which lets a test swap the clock before the hub starts.
"""

from __future__ import annotations

from datetime import datetime

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


def service(hub: HubContext) -> Heartbeat:
    if NAME not in hub.state:
        hub.state[NAME] = Heartbeat(hub)
    heartbeat: Heartbeat = hub.state[NAME]
    return heartbeat
