"""The outbox's line at each destination (hub.breaker.Destination): at most `limit` deliveries to one destination
hold a turn at once, the others wait in order holding nothing, a delivery cancelled in line leaves no turn behind,
and when the destination stops answering the line is refused at once. The outbound client gives one destination
per origin, sharing the host's breaker."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from peers import LoopbackServer, Received

from hub.breaker import Destination, NotAnswering
from hub.models import shown_address
from hub.outbound import OutboundClient


async def _hold(destination: Destination, until: asyncio.Event, inside: list[str], name: str) -> None:
    async with destination.turn():
        inside.append(name)
        await until.wait()


async def test_at_most_limit_deliveries_hold_a_turn_and_the_others_go_in_order():
    destination = Destination("http://a", 2)
    holding, most, order = 0, 0, []

    async def deliver(i: int) -> None:
        nonlocal holding, most
        async with destination.turn():
            holding += 1
            most = max(most, holding)
            order.append(i)
            await asyncio.sleep(0.01)
            holding -= 1

    await asyncio.gather(*(deliver(i) for i in range(7)))
    assert most == 2 and order == list(range(7))
    assert destination.line.taken == 0 and not destination.line.waiting


async def test_a_delivery_cancelled_in_line_or_as_its_turn_comes_leaves_the_turn_to_the_next():
    destination = Destination("http://a", 1)
    release, inside = asyncio.Event(), []
    await destination.line.take()  # held by a send in flight
    first, second, third = (
        asyncio.create_task(_hold(destination, release, inside, name)) for name in ("first", "second", "third")
    )
    await asyncio.sleep(0.01)
    second.cancel()  # gives up while waiting
    await asyncio.sleep(0.01)
    destination.line.give_back()  # the send in flight finishes: the turn passes to `first`...
    first.cancel()  # ...which gives up before it runs
    await asyncio.sleep(0.01)
    assert inside == ["third"]
    release.set()
    await third
    assert first.cancelled() and second.cancelled()
    assert destination.line.taken == 0 and not destination.line.waiting


async def test_a_destination_that_stops_answering_has_its_line_refused_and_one_delivery_probes():
    destination = Destination("http://a", 1)
    release, probe_done, inside = asyncio.Event(), asyncio.Event(), []
    holder = asyncio.create_task(_hold(destination, release, inside, "holder"))
    await asyncio.sleep(0.01)

    async def probe() -> None:
        async with destination.turn():
            inside.append("probe")
            with destination.breaker.attempt():
                await probe_done.wait()

    waiting = [asyncio.create_task(probe())] + [
        asyncio.create_task(_hold(destination, release, inside, f"w{i}")) for i in range(3)
    ]
    await asyncio.sleep(0.01)
    destination.breaker.unanswered("timed out")  # the holder's request timed out...
    release.set()  # ...and it gives its turn back: the next in line probes, the others are refused at once
    await holder
    await asyncio.sleep(0.01)
    assert inside == ["holder", "probe"]
    for refused in waiting[1:]:
        with pytest.raises(NotAnswering, match=r"not sent: http://a did not answer a request just now \(timed out\)"):
            await refused
    with pytest.raises(NotAnswering):  # while the probe is out, a newcomer is refused without waiting
        async with destination.turn():
            pass

    destination.breaker.answered()
    probe_done.set()
    await waiting[0]
    async with destination.turn():  # answering again: turns as usual
        pass
    assert destination.line.taken == 0


async def test_the_outbound_client_gives_one_destination_per_origin_with_the_hosts_breaker():
    def handler(received: Received):
        if received.path == "/slow":
            time.sleep(0.5)  # past the client's timeout
        return 200, {}, b"ok"

    client = OutboundClient(allow=["127.0.0.1"], timeout=0.3, max_connections_per_host=3)
    with LoopbackServer(handler) as server:
        destination = client.destination(server.url + "/hook/1")
        assert destination is not None and destination is client.destination(server.url + "/hook/2?x=1")
        assert destination.line.limit == 3 and destination.breaker.name == server.url
        assert client.destination("http://other.example/hook") is not destination
        assert client.destination("ftp://example.com/x") is None and client.destination("not a url") is None
        assert (await client.post(server.url + "/hook/1", content=b"")).status == 200
        assert destination.breaker.failed_at is None
        with pytest.raises(httpx.TimeoutException):
            await client.post(server.url + "/slow", content=b"")
        assert destination.breaker.failed_at is not None  # the host's breaker is the destination's
    await client.aclose()


def test_a_shown_webhook_address_keeps_only_its_host():
    """The deliveries API and the rule listing show this: a secret in the path, query or user part stays hidden."""
    secret = "https://user:pw@hooks.example.com:8443/T0/B0/secret?token=x"
    assert shown_address("slack", secret) == "https://hooks.example.com:8443/…"
    assert shown_address("slack", "https://hooks.example.com?token=x") == "https://hooks.example.com/…"
    assert shown_address("email", "ada@example.com") == "ada@example.com"
