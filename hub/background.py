"""Tasks started and not awaited at once (a Slack click, a connection being closed), kept until done.

asyncio keeps only weak references to tasks, so an unreferenced one can vanish mid-way; and whoever stops
must be able to wait for what is still running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def add(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Until every task, including any started meanwhile, has finished (their errors are not raised)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
