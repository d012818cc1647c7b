"""Loading plugins: built-in and third-party ones alike from the `hub.plugins` entry points.

The built-in ones are the entry points of the hub's own distribution, registered first. A plugin that fails to
import, implements a hook that does not exist, or has a config table its Struct rejects stops the hub at start-up
with a message naming the plugin.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
import pluggy

from hub import hookspecs
from hub.config import Settings, describe_plugin_error
from hub.installed import Installed, installed_plugins
from hub.pluginapi import Job, Notifier, PluginSettings, Source


class PluginError(Exception):
    """A plugin could not be loaded or configured; the message names it."""


class PluginInfo(msgspec.Struct):
    name: str
    version: str
    builtin: bool
    hooks: list[str]


def _enabled(settings: Settings, name: str) -> bool:
    return settings.plugins.get(name, {}).get("enabled", True) is not False


def _installed() -> tuple[Installed, ...]:
    installed = installed_plugins()
    if not installed or not installed[0].builtin:
        raise PluginError("the built-in plugins are not installed: install the hub (`pip install .`) to run it")
    return installed


class Plugins:
    """The plugin manager plus what the hub collected from the plugins' hooks."""

    def __init__(self, settings: Settings) -> None:
        self.manager = pluggy.PluginManager("hub")
        self.manager.add_hookspecs(hookspecs)
        self.versions: dict[str, tuple[str, bool]] = {}
        self._load(settings)
        self.settings = self._validate_settings(settings)
        self.sources = self._collect_sources()
        self.notifiers = self._collect_notifiers()
        for declared in settings.sources:
            if declared.plugin not in self.sources:
                raise PluginError(
                    f"[[sources]] {declared.name}: no loaded plugin provides source type {declared.plugin!r}"
                )

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def _load(self, settings: Settings) -> None:
        for entry_point, version, builtin in _installed():
            if not _enabled(settings, entry_point.name) or entry_point.name in self.versions:
                continue
            try:
                plugin = entry_point.load()
            except Exception as exc:
                raise PluginError(
                    f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: {type(exc).__name__}: {exc}"
                ) from exc
            self._register(plugin, entry_point.name, version, builtin=builtin)

    def _register(self, plugin: object, name: str, version: str, *, builtin: bool) -> None:
        try:
            self.manager.register(plugin, name=name)
            self.manager.check_pending()
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"plugin {name!r} does not fit the hub's plugin contract: {exc}") from exc
        self.versions[name] = (version, builtin)

    def _validate_settings(self, settings: Settings) -> dict[str, Any]:
        validated: dict[str, Any] = {}
        for declared in self._gather(self.hook.register_settings()):
            if not isinstance(declared, PluginSettings):
                raise PluginError(f"register_settings must return PluginSettings, got {declared!r}")
            table = {k: v for k, v in settings.plugins.get(declared.name, {}).items() if k != "enabled"}
            try:
                validated[declared.name] = msgspec.convert(table, declared.struct, strict=False)
            except msgspec.ValidationError as exc:
                raise PluginError(describe_plugin_error(settings, declared.name, exc)) from None
        for name, table in settings.plugins.items():
            if name not in self.versions and name not in validated and set(table) - {"enabled"}:
                raise PluginError(f"[plugins.{name}] configures a plugin that is not installed")
        return validated

    def _collect_sources(self) -> dict[str, Source]:
        sources: dict[str, Source] = {}
        for source in self._gather(self.hook.register_sources()):
            if source.name in sources:
                raise PluginError(f"two plugins provide the webhook source type {source.name!r}")
            sources[source.name] = source
        return sources

    def _collect_notifiers(self) -> dict[str, Notifier]:
        notifiers: dict[str, Notifier] = {}
        for notifier in self._gather(self.hook.register_notifiers()):
            if notifier.name in notifiers:
                raise PluginError(f"two plugins provide the notifier {notifier.name!r}")
            notifiers[notifier.name] = notifier
        return notifiers

    def routes(self) -> list[Any]:
        return list(self._gather(self.hook.register_routes()))

    def jobs(self) -> list[Job]:
        return list(self._gather(self.hook.register_jobs()))

    def migration_folders(self) -> list[str]:
        return [str(folder) for folder in self.hook.register_migrations() if folder]

    def info(self) -> list[PluginInfo]:
        result = []
        for name, plugin in sorted(self.manager.list_name_plugin()):
            version, builtin = self.versions[name]
            hooks = sorted(caller.name for caller in self.manager.get_hookcallers(plugin) or [])
            result.append(PluginInfo(name=name, version=version, builtin=builtin, hooks=hooks))
        return result

    @staticmethod
    def _gather(results: Iterable[Any]) -> Iterable[Any]:
        """Flatten hook results, where each plugin returns one item, a list of items, or None."""
        for result in results:
            if result is None:
                continue
            if isinstance(result, list | tuple | set):
                yield from result
            else:
                yield result
