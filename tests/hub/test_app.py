"""The application's lifecycle around the hub."""

from __future__ import annotations

import gc

from litestar.testing import AsyncTestClient


async def test_start_up_objects_are_left_out_of_garbage_collection_while_the_hub_runs(hub_app):
    async with AsyncTestClient(hub_app) as client:
        assert (await client.get("/health")).status_code == 200
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0, "a stopped hub leaves nothing frozen: a test run makes many hubs"
