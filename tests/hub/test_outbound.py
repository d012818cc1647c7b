"""The guarded outbound client: refused addresses (checked after DNS), the allowlist, no redirects, size cap."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from peers import LoopbackServer

from hub.outbound import BlockedAddress, HostNotAnswering, OutboundClient, ResponseTooLarge


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


# 2002::/16 (6to4) carries an IPv4 address in its second and third groups: 2002:a9fe:a9fe:: is 169.254.169.254.
@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::ffff:10.0.0.1", "2002:a9fe:a9fe::1", "2002:7f00:1::"]
)
async def test_a_hostname_resolving_to_a_private_address_is_refused(address, caplog):
    client = OutboundClient(resolver=fake_dns({"evil.example": [address]}))
    with pytest.raises(BlockedAddress, match=r"evil\.example resolves to a private") as refused:
        await client.post("http://evil.example/hook", content=b"{}")
    await client.aclose()
    # Whoever wrote the URL learns nothing of how the hub's network resolves names; the operator's log does.
    assert address not in str(refused.value)
    assert f"evil.example: it resolves to {ipaddress.ip_address(address)}" in caplog.text


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


async def test_requests_queued_for_a_hanging_host_leave_the_other_hosts_their_connections():
    import asyncio
    import threading

    release = threading.Event()

    def hanging(_):
        release.wait(10)
        return 200, {}, b""

    with LoopbackServer(hanging) as stuck, LoopbackServer() as fine:
        client = OutboundClient(allow=["127.0.0.1"], timeout=10, max_connections=2, max_connections_per_host=1)
        waiting = [asyncio.create_task(client.post(stuck.url, content=b"")) for _ in range(3)]
        await asyncio.sleep(0.2)
        other = await asyncio.wait_for(client.post(fine.url.replace("127.0.0.1", "localhost"), content=b""), 5)
        assert other.status == 200
        release.set()
        assert [r.status for r in await asyncio.gather(*waiting)] == [200] * 3
        await client.aclose()


async def test_a_tls_handshake_that_stalls_times_out_instead_of_hanging():
    """A server that accepts the connection and never answers the TLS hello must cost one timeout, no more."""
    import asyncio
    import time

    accepted: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # kept open, never written to

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = OutboundClient(allow=["127.0.0.1"], timeout=0.3)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        await asyncio.wait_for(client.post(f"https://127.0.0.1:{port}/push", content=b"x"), timeout=10)
    # Time is the behaviour here, so the bound is generous: the timeout is 0.3 s, and without it the handshake
    # waits for good (until wait_for's 10 s, which raises a TimeoutError that is not httpx's).
    assert time.monotonic() - started < 5
    await asyncio.wait_for(client.aclose(), timeout=2)
    for writer in accepted:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_an_idle_connection_the_server_wrote_to_is_not_reused():
    """A server may send a 408 on an idle keep-alive connection and close it: the next request must not read
    that stale answer as its own."""
    import asyncio

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
            await writer.drain()
            await asyncio.sleep(0.1)
            writer.write(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
            writer.write_eof()
            await writer.drain()
        finally:
            writer.close()  # half-closed, it stays open: from Python 3.12.1 on, server.wait_closed() waits for it

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    client = OutboundClient(allow=["127.0.0.1"], timeout=2, max_connections_per_host=1)
    assert (await client.request("GET", url)).body == b"first"
    await asyncio.sleep(0.3)  # the 408 and the close arrive while the connection is idle
    second = await client.request("GET", url)
    assert (second.status, second.body) == (200, b"first")  # a new connection, a real answer
    await client.aclose()
    server.close()
    await server.wait_closed()


async def test_only_http_urls():
    client = OutboundClient()
    with pytest.raises(BlockedAddress, match="only http and https"):
        await client.request("GET", "file:///etc/passwd")
    await client.aclose()


@pytest.mark.parametrize("url", ["ftp://hooks.example/services/T0/B0/s3cr3t", "https:///services/T0/B0/s3cr3t"])
async def test_a_refused_url_is_not_repeated_in_the_refusal(url):
    """The refusal ends up in delivery attempts and action runs, which more people read than the URL's author:
    a URL's path can be its secret (a Slack webhook's is)."""
    client = OutboundClient()
    with pytest.raises(BlockedAddress, match="only http and https") as refused:
        await client.request("POST", url)
    await client.aclose()
    assert "s3cr3t" not in str(refused.value)


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


def _tls_server_context(tmp_path, name: str):
    """A certificate for `name` (and 127.0.0.1), self-signed; returns (server context, its PEM path)."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "server.pem", tmp_path / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


async def test_https_verifies_the_certificate_and_the_name(tmp_path):
    import asyncio
    import ssl

    server_context, pem = _tls_server_context(tmp_path, "push.test")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        host = next(line for line in head.split(b"\r\n") if line.lower().startswith(b"host:"))
        body = host.split(b":", 1)[1].strip()
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    dns = fake_dns({"push.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    trusting = ssl.create_default_context(cafile=str(pem))
    try:
        client = OutboundClient(allow=["127.0.0.1"], resolver=dns, ssl_context=trusting)
        response = await client.post(f"https://push.test:{port}/p", content=b"x")
        assert response.status == 201 and response.body == f"push.test:{port}".encode()
        with pytest.raises(httpx.ConnectError, match="certificate"):  # a name the certificate does not hold
            await client.post(f"https://other.test:{port}/p", content=b"x")
        await client.aclose()

        system_trust = OutboundClient(allow=["127.0.0.1"], resolver=dns)
        with pytest.raises(httpx.ConnectError, match="certificate"):  # self-signed: not trusted by default
            await system_trust.post(f"https://push.test:{port}/p", content=b"x")
        await system_trust.aclose()
    finally:
        server.close()


async def test_a_host_that_stops_answering_gets_one_request_at_a_time_until_it_answers():
    """Requests to a host that timed out are refused at once while one request probes it; others hosts go on."""
    import asyncio
    import threading

    answering, arrived = threading.Event(), []

    def handler(received):
        arrived.append(received.body)
        answering.wait(10)  # past the client's timeout
        return 200, {}, b"ok"

    with LoopbackServer(handler) as server, LoopbackServer() as other_host:
        client = OutboundClient(allow=["127.0.0.1"], timeout=1, max_connections_per_host=2)
        first = [asyncio.create_task(client.post(server.url, content=b"%d" % i)) for i in range(3)]
        outcomes = await asyncio.gather(*first, return_exceptions=True)
        assert [type(o) for o in outcomes] == [httpx.ReadTimeout, httpx.ReadTimeout, HostNotAnswering]
        assert "timed out" in str(outcomes[2])  # queued behind the first two, refused when they timed out

        probe = asyncio.create_task(client.post(server.url, content=b"probe"))
        await asyncio.sleep(0.05)
        with pytest.raises(HostNotAnswering, match=r"not sent: http://127\.0\.0\.1:\d+ did not answer .*timed out"):
            await client.post(server.url, content=b"refused")
        assert not probe.done(), "refused at once, not after a timeout of its own (which the probe's outlasts)"
        assert (await client.post(other_host.url, content=b"")).status == 200
        with pytest.raises(httpx.TimeoutException):
            await probe

        answering.set()
        assert (await client.post(server.url, content=b"back")).status == 200
        again = await asyncio.gather(*(client.post(server.url, content=b"again") for _ in range(3)))
        assert [r.status for r in again] == [200] * 3
        await client.aclose()
    assert sorted(arrived) == sorted([b"0", b"1", b"probe", b"back", b"again", b"again", b"again"])


async def test_a_request_queued_behind_a_busy_host_fails_unsent_after_its_wait(monkeypatch):
    """Waiting for a connection had no deadline: four actions to a server taking 1.5 s each, one connection, took
    1.5, 3, 4.5 and 6 s, past the time after which a run counts as abandoned (and another press runs it again)."""
    import asyncio
    import threading

    release, arrived = threading.Event(), []

    def handler(received):
        arrived.append(received.body)
        release.wait(10)
        return 200, {}, b"ok"

    monkeypatch.setattr("hub.outbound.QUEUE_WAIT_FACTOR", 0.05)  # a wait of 0.25 s, with a timeout of 5 s
    with LoopbackServer(handler) as server:
        client = OutboundClient(allow=["127.0.0.1"], timeout=5, max_connections_per_host=1)
        first = asyncio.create_task(client.post(server.url, content=b"first"))
        await asyncio.sleep(0.05)  # the first holds the one connection
        with pytest.raises(httpx.PoolTimeout, match=r"^not sent: no connection to 127\.0\.0\.1 came free in time$"):
            await client.post(server.url, content=b"queued")
        release.set()
        assert (await first).status == 200
        await client.aclose()
    assert arrived == [b"first"]


async def test_a_request_cancelled_while_queued_for_a_host_frees_its_turn():
    import asyncio
    import threading

    release = threading.Event()

    def hanging(_):
        release.wait(10)
        return 200, {}, b""

    with LoopbackServer(hanging) as server:
        client = OutboundClient(allow=["127.0.0.1"], timeout=10, max_connections_per_host=1)
        holding = asyncio.create_task(client.post(server.url, content=b""))
        await asyncio.sleep(0.1)
        queued = asyncio.create_task(client.post(server.url, content=b""))
        await asyncio.sleep(0.1)
        queued.cancel()
        release.set()
        assert (await holding).status == 200
        assert (await asyncio.wait_for(client.post(server.url, content=b""), 5)).status == 200
        await client.aclose()


async def test_a_server_that_drips_its_answer_is_cut_off_at_the_timeout():
    """httpcore's timeouts apply to each read: a byte every half second used to keep the request open."""
    import asyncio
    import time

    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0.5)
            writer.write(b" ")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(drip, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = OutboundClient(allow=["127.0.0.1"], timeout=1.0)
    started = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout, match="no complete answer within 1 s"):
        await client.post(f"http://127.0.0.1:{port}/x", content=b"{}")
    # Time is the behaviour here, so the bound is generous: cut off at the timeout (1 s), where the drip would
    # have kept the request open for 10 s.
    assert time.perf_counter() - started < 5
    await client.aclose()
    server.close()
