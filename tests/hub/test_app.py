"""The application's lifecycle around the hub."""

from __future__ import annotations

import gc
import weakref

import pytest
from litestar.testing import AsyncTestClient

from hub.app import create_app
from hub.testing import AppPool


async def test_start_up_objects_are_left_out_of_garbage_collection_while_the_hub_runs(settings):
    """As a server process serves (`hub serve` makes its app with `freeze_garbage`)."""
    async with AsyncTestClient(create_app(settings, freeze_garbage=True)) as client:
        assert (await client.get("/health")).status_code == 200
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0, "a stopped hub leaves nothing frozen"


async def test_an_app_made_as_tests_make_them_leaves_the_garbage_collector_alone(hub_app):
    async with AsyncTestClient(hub_app) as client:
        assert (await client.get("/health")).status_code == 200
        assert gc.get_freeze_count() == 0


async def test_a_stopped_hub_is_freed(settings):
    """The heartbeat plugin kept every hub a process made alive (its per-hub state in a module-level weak mapping,
    whose values referred to their hub): a test run's heap grew by a hub per test, walked by every full collection."""
    app = create_app(settings)
    await app.state.hub.start()  # the plugins' start-up makes their per-hub state
    await app.state.hub.stop()
    hub = weakref.ref(app.state.hub)
    del app
    create_app(settings)  # Litestar's module-level route handlers belong to the app made last
    gc.collect()
    assert hub() is None


def test_the_test_fixtures_lend_an_app_to_one_test_at_a_time(settings):
    """hub.testing reuses apps (building one costs 0.1 s): never one that is still lent, nor one whose borrower
    failed to let go of it (a live server that did not stop may still be serving it)."""
    pool = AppPool()
    with pool.lend(settings) as first, pool.lend(settings) as second:
        assert second is not first
        hub = first.state.hub
        assert second.state.hub is not hub
    with pool.lend(settings) as again:
        assert again in (first, second)
        assert again.state.hub is not hub
    with pytest.raises(RuntimeError), pool.lend(settings) as failed:
        raise RuntimeError("a server that did not stop")
    with pool.lend(settings) as one, pool.lend(settings) as other:
        assert failed not in (one, other)
