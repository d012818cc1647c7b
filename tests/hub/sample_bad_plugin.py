"""A plugin with a hook the contract does not have."""

from hub.pluginapi import hookimpl


@hookimpl
def register_wormholes() -> None:
    return None
