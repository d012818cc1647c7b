"""A plugin implementing every hook, so tests/hub/test_plugins.py proves each one is called."""

from __future__ import annotations

from pathlib import Path

import msgspec
from litestar import get
from litestar.di import NamedDependency

from hub.pluginapi import EventIn, HubContext, Job, Message, Outcome, PluginSettings, Recipient, hookimpl

calls: list[str] = []
stored: list[str] = []
sent: list[tuple[str, str]] = []  # (address, title) of every notification the notifier was given


class SampleSettings(msgspec.Struct, forbid_unknown_fields=True):
    greeting: str = "hello"


class SampleSource:
    name = "sample"

    def verify(self, request, secrets):
        return None

    def parse(self, request):
        raise NotImplementedError


@get("/sample/greeting")
async def greeting(hub: NamedDependency[HubContext]) -> dict[str, str]:
    return {"greeting": hub.plugin_settings("sample").greeting}


async def tick(hub: HubContext) -> None:
    calls.append("tick")


@hookimpl
def register_settings() -> PluginSettings:
    return PluginSettings("sample", SampleSettings)


@hookimpl
def register_sources() -> list[SampleSource]:
    return [SampleSource()]


class SampleNotifier:
    name = "sample"

    async def send(self, hub: HubContext, recipient: Recipient, message: Message) -> Outcome:
        sent.append((recipient.address, message.title))
        return Outcome("delivered")


@hookimpl
def register_notifiers() -> list[SampleNotifier]:
    return [SampleNotifier()]


@hookimpl
def register_routes() -> list:
    return [greeting]


@hookimpl
def register_migrations() -> Path:
    return Path(__file__).parent / "sample_migrations"


@hookimpl
def register_jobs() -> list[Job]:
    return [Job(name="sample-tick", seconds=3600, func=tick)]


@hookimpl
def register_commands(commands) -> None:
    parser = commands.add_parser("sample-count", help="count sample rows")
    parser.set_defaults(func=count)


async def count(args, hub: HubContext) -> int:
    await hub.ingest([EventIn(event="counted")], project="sample", source="sample")
    calls.append("count")
    return 0


@hookimpl
async def startup(hub: HubContext) -> None:
    calls.append("startup")


@hookimpl
def shutdown(hub: HubContext) -> None:
    calls.append("shutdown")


@hookimpl
def events_stored(hub: HubContext, events) -> None:
    stored.extend(e.event for e in events)
