"""The plugins installed: the `hub.plugins` entry points and what their distributions say of them.

Read once per search path: scanning every distribution on `sys.path` costs about 7 ms and reading their metadata
as much again, and every Settings and every Hub asked (each test paid it twice). A plugin installed later is
found by the next process, as it always was: a running hub loads its plugins once, at start.
"""

from __future__ import annotations

import functools
import importlib.metadata
import sys
from typing import NamedTuple

ENTRY_POINT_GROUP = "hub.plugins"
DISTRIBUTION = "hub"


class Installed(NamedTuple):
    """An installed plugin's entry point and what its distribution says of it."""

    entry_point: importlib.metadata.EntryPoint
    version: str
    builtin: bool


def installed_plugins() -> tuple[Installed, ...]:
    """The hub's own plugins first (a name they use is theirs), then the others; empty means a bare checkout."""
    return _installed_on(tuple(sys.path))


@functools.lru_cache(maxsize=4)
def _installed_on(search_path: tuple[str, ...]) -> tuple[Installed, ...]:
    """`search_path` is what importlib.metadata scans (sys.path), here as the cache's key: a test that puts a
    plugin's folder on it finds that plugin."""
    read: dict[int, tuple[str, str]] = {}  # each distribution's metadata parsed once: it has one entry per plugin

    def describe(entry_point: importlib.metadata.EntryPoint) -> Installed:
        dist = entry_point.dist
        if dist is None:
            return Installed(entry_point, "unknown", builtin=False)
        if id(dist) not in read:
            metadata = dist.metadata
            read[id(dist)] = (metadata["Name"], metadata["Version"])
        name, version = read[id(dist)]
        return Installed(entry_point, version, builtin=name == DISTRIBUTION)

    found = map(describe, importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))
    return tuple(sorted(found, key=lambda plugin: not plugin.builtin))
