"""The guarded outbound client: refused addresses (checked after DNS), the allowlist, no redirects, size cap."""

from __future__ import annotations

import httpx
import pytest
from peers import LoopbackServer

from hub.outbound import BlockedAddress, OutboundClient, ResponseTooLarge


def fake_dns(table: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "0.0.0.0", "192.168.1.5"])
async def test_private_addresses_are_refused(host):
    client = OutboundClient()
    with pytest.raises(BlockedAddress, match="private, loopback"):
        await client.post(f"http://{host}/x", content=b"{}")
    await client.aclose()


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::ffff:10.0.0.1"])
async def test_a_hostname_resolving_to_a_private_address_is_refused(address):
    client = OutboundClient(resolver=fake_dns({"evil.example": [address]}))
    with pytest.raises(BlockedAddress, match=r"evil\.example resolves to"):
        await client.post("http://evil.example/hook", content=b"{}")
    await client.aclose()


async def test_one_private_address_among_public_ones_refuses_the_host():
    client = OutboundClient(resolver=fake_dns({"mixed.example": ["93.184.216.34", "10.0.0.1"]}))
    with pytest.raises(BlockedAddress):
        await client.post("http://mixed.example/", content=b"")
    await client.aclose()


async def test_allowlisted_network_and_host_reach_loopback():
    with LoopbackServer(lambda r: (200, {}, b'{"ok": true}')) as server:
        port = server.server.server_address[1]
        by_network = OutboundClient(allow=["127.0.0.0/8"])
        response = await by_network.post(f"{server.url}/a", content=b"hi")
        assert response.status == 200 and response.json() == {"ok": True}
        await by_network.aclose()

        by_host = OutboundClient(allow=["target.test"], resolver=fake_dns({"target.test": ["127.0.0.1"]}))
        assert (await by_host.post(f"http://target.test:{port}/b", content=b"")).status == 200
        await by_host.aclose()
        # The allowlist names the host, so another name for the same address stays refused.
        other = OutboundClient(allow=["target.test"], resolver=fake_dns({"other.test": ["127.0.0.1"]}))
        with pytest.raises(BlockedAddress):
            await other.post(f"http://other.test:{port}/c", content=b"")
        await other.aclose()
    assert [r.path for r in server.received] == ["/a", "/b"]


async def test_redirects_are_not_followed():
    with LoopbackServer(lambda r: (302, {"Location": "http://169.254.169.254/latest"}, b"")) as server:
        client = OutboundClient(allow=["127.0.0.1"])
        response = await client.post(server.url, content=b"")
        await client.aclose()
    assert response.status == 302
    assert len(server.received) == 1


async def test_response_size_is_capped():
    with LoopbackServer(lambda r: (200, {}, b"x" * 5000)) as server:
        client = OutboundClient(allow=["127.0.0.1"], max_response_bytes=1000)
        with pytest.raises(ResponseTooLarge):
            await client.post(server.url, content=b"")
        await client.aclose()


async def test_timeouts_apply():
    import time

    def slow(_):
        time.sleep(1.0)
        return 200, {}, b""

    with LoopbackServer(slow) as server:
        client = OutboundClient(allow=["127.0.0.1"], timeout=0.2)
        with pytest.raises(httpx.TimeoutException):
            await client.post(server.url, content=b"")
        await client.aclose()


async def test_only_http_urls():
    client = OutboundClient()
    with pytest.raises(BlockedAddress, match="only http and https"):
        await client.request("GET", "file:///etc/passwd")
    await client.aclose()


async def test_keep_alive_reuses_connections_and_survives_a_server_closing_them():
    """Many requests share a few connections; one the server closed while idle is replaced, not an error."""
    import asyncio

    peers: list[tuple[str, int]] = []
    requests = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        peers.append(writer.get_extra_info("peername"))
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = int(
                next(v for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")) if k == b"Content-Length")
            )
            await reader.readexactly(length)
            requests += 1
            if requests == 10:  # close after answering: the next request on it must not fail
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                break
            # Chunked, as many servers answer.
            writer.write(b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = OutboundClient(allow=["127.0.0.1"], max_connections_per_host=1)
    try:
        for i in range(20):
            response = await client.post(f"http://127.0.0.1:{port}/r{i}", content=b"x" * i)
            assert response.status in (200, 201)
            if response.status == 201:
                assert response.body == b"abcde"
            await asyncio.sleep(0.01 if i == 9 else 0)
    finally:
        await client.aclose()
        server.close()
    assert requests == 20
    assert len(peers) == 2  # one connection for the first ten, a fresh one after the server closed it


async def test_header_injection_is_refused():
    client = OutboundClient(allow=["127.0.0.1"])
    with pytest.raises(httpx.LocalProtocolError):
        await client.post("http://127.0.0.1:9/x", content=b"", headers={"X-A": "b\r\nX-Evil: 1"})
    await client.aclose()
