"""The one HTTP client for user-supplied URLs (action targets, Slack webhooks, push endpoints).

A URL typed by a user must not reach the hub's own network: the address is checked after DNS resolution, at
connect time, and the connection goes to the very address that was checked (no second lookup an attacker's DNS
could answer differently). Private, loopback, link-local, multicast and reserved addresses are refused unless
`[outbound] allow` names the host or a network holding the address. Redirects are never followed, every
request has a timeout, and a response body is read only up to `max_response_bytes`. A host whose last request
timed out or could not connect gets one request at a time until it answers again; the others are refused at once
with HostNotAnswering (hub.breaker says why).

Requests go straight to httpcore's HTTP/1.1 connections, httpx's own transport layer: the outbox sends thousands
of small POSTs, and httpx's client and httpcore's pool cost more CPU than the exchange itself. Errors are raised
as httpx's exception classes, which callers classify (timeouts are transient).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import socket
import ssl
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import httpcore
import httpx
import msgspec

from hub.background import BackgroundTasks
from hub.breaker import Destination, Line
from hub.netstream import AsyncioBackend

log = logging.getLogger(__name__)

# Origins whose pools are kept open at once; the least recently used idle ones are closed beyond this.
MAX_HOSTS = 256
MAX_URLS = 10_000  # URLs whose origin `destination` remembers
KEEPALIVE_SECONDS = 30
# A request waits for a connection to its host at most this many times its timeout, then fails unsent: long enough
# for the requests ahead of it to time out, so that a host found not answering refuses it with that reason.
QUEUE_WAIT_FACTOR = 2
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedAddress(Exception):
    """The URL's host is, or resolves to, an address the outbound policy refuses."""


class HostNotAnswering(httpx.TransportError):
    """Not sent: the host's last request timed out or could not connect, and another request is probing it."""


class ResponseHead(NamedTuple):
    """What a response said before its body: enough to record a run or an attempt."""

    status_code: int
    headers: dict[str, str]


class ResponseTooLarge(Exception):
    """The response body went past the size cap; the body read so far is kept on `partial`."""

    def __init__(self, limit: int, partial: bytes, response: ResponseHead) -> None:
        super().__init__(f"response body larger than {limit} bytes")
        self.partial = partial
        self.response = response


class OutboundResponse(msgspec.Struct):
    """A finished response: status, headers, the (capped) body and how long it took."""

    status: int
    headers: dict[str, str]
    body: bytes
    latency_ms: float

    def json(self) -> Any:
        return msgspec.json.decode(self.body)


def _is_public(address: IPAddress) -> bool:
    # An IPv4 address carried in an IPv6 one (::ffff:a.b.c.d, 6to4's 2002:aabb:ccdd::) is judged as itself.
    if isinstance(address, ipaddress.IPv6Address) and (embedded := address.ipv4_mapped or address.sixtofour):
        address = embedded
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


class AddressPolicy:
    """Which addresses outbound requests may connect to: public ones, plus what the allowlist opens."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.networks: list[IPNetwork] = []
        for entry in allow:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))

    def permits(self, host: str, address: IPAddress) -> bool:
        if host.lower().rstrip(".") in self.hosts:
            return True
        if any(address in network for network in self.networks):
            return True
        return _is_public(address)


Resolver = Any  # async (host, port) -> list[str]; replaceable in tests to stand in for DNS


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, checks every address, and connects to the first allowed one."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self.inner = AsyncioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            try:
                addresses = [ipaddress.ip_address(a.split("%")[0]) for a in await self.resolver(host, port)]
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        refused = [a for a in addresses if not self.policy.permits(host, a)]
        if refused:
            # One refused address refuses the host: a name resolving to both kinds must not win by round-robin.
            # The address goes to the operator's log only: whoever wrote the URL would otherwise learn how the
            # hub's network resolves names, one refused request at a time.
            log.warning("refused a request to %s: it resolves to %s", host, refused[0])
            raise BlockedAddress(
                f"{host} resolves to a private, loopback, link-local or reserved address "
                "(allow it with [outbound] allow)"
            )
        return await self.inner.connect_tcp(
            str(addresses[0]), port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """httpcore's header pairs as one lower-case dict; a repeated header's values joined as HTTP allows."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


class _Host:
    """One origin's keep-alive connections: at most `limit` open, idle ones reused, waiting here when all are busy.

    This replaces httpcore's connection pool, which re-examines every queued request and every connection on
    each assignment: a third of the outbox's CPU went there (measured with 4 connections and 100 senders).
    Requests queued here are refused at once when the host stops answering (see hub.breaker); left to wait,
    each would take its turn at a timeout of its own.
    """

    __slots__ = ("backend", "breaker", "busy", "closing", "connections", "destination", "idle", "origin", "ssl")

    def __init__(
        self,
        origin: httpcore.Origin,
        destination: Destination,
        limit: int,
        backend: httpcore.AsyncNetworkBackend,
        ssl_context: ssl.SSLContext,
        closing: BackgroundTasks,
    ) -> None:
        self.origin = origin
        self.destination = destination  # kept alive while the host is open (the client holds it weakly)
        self.breaker = destination.breaker
        self.backend = backend
        self.ssl = ssl_context
        self.closing = closing
        self.connections = Line(limit)  # requests waiting for a connection, first come first served
        self.idle: list[httpcore.AsyncHTTPConnection] = []
        self.busy = 0

    def refuse_if_not_answering(self) -> None:
        if (refusal := self.breaker.refusal()) is not None:
            raise HostNotAnswering(refusal)

    async def acquire(self) -> None:
        """A connection slot, in turn; HostNotAnswering if the host is not answering, or stops while waiting."""
        self.refuse_if_not_answering()
        await self.connections.take()

    def release(self) -> None:
        self.connections.give_back()

    def not_answering(self, reason: str) -> None:
        self.breaker.unanswered(reason)
        refusal = self.breaker.why_not_sent()
        self.connections.refuse(lambda: HostNotAnswering(refusal))

    def take(self) -> httpcore.AsyncHTTPConnection:
        """An idle connection still fit for reuse, or a new one (which connects on its first request)."""
        while self.idle:
            connection = self.idle.pop()
            if connection.is_available() and not connection.has_expired():
                return connection
            self.closing.add(connection.aclose())
        return httpcore.AsyncHTTPConnection(
            origin=self.origin, ssl_context=self.ssl, keepalive_expiry=KEEPALIVE_SECONDS, network_backend=self.backend
        )

    def give_back(self, connection: httpcore.AsyncHTTPConnection) -> None:
        if connection.is_idle() and not connection.has_expired():
            self.idle.append(connection)
        else:
            self.closing.add(connection.aclose())

    async def aclose(self) -> None:
        connections, self.idle = self.idle, []
        for connection in connections:
            await connection.aclose()


def _origin(url: httpx.URL) -> str:
    """The key of a URL's host: scheme, host and port as written ("https://hooks.slack.com")."""
    return f"{url.scheme}://{url.netloc.decode()}"


@contextlib.asynccontextmanager
async def _whole_exchange_within(seconds: float) -> AsyncIterator[None]:
    """One deadline for the request and its whole answer: httpcore's timeouts apply to each read alone, so a server
    sending its answer a byte at a time would otherwise hold the request for as long as it liked."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise httpx.ReadTimeout(f"no complete answer within {seconds:g} s") from None


def longest_request(timeout_seconds: float) -> float:
    """The longest one request can take: waiting for a connection, then the whole exchange."""
    return (QUEUE_WAIT_FACTOR + 1) * timeout_seconds


async def _turn_by(waiting: Awaitable[object], deadline: float, host: str) -> None:
    """Wait for a connection slot until `deadline` (the loop's clock); httpx.PoolTimeout, a timeout that says the
    request was never sent, after it."""
    try:
        async with asyncio.timeout_at(deadline):
            await waiting
    except TimeoutError:
        raise httpx.PoolTimeout(f"not sent: no connection to {host} came free in time") from None


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """httpcore's exceptions as httpx's classes of the same name, which callers classify (timeouts retry)."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise getattr(httpx, type(exc).__name__, httpx.TimeoutException)(str(exc)) from exc
    except httpcore.ProtocolError as exc:
        raise getattr(httpx, type(exc).__name__, httpx.ProtocolError)(str(exc)) from exc
    except httpcore.NetworkError as exc:
        raise getattr(httpx, type(exc).__name__, httpx.NetworkError)(str(exc)) from exc
    except httpcore.UnsupportedProtocol as exc:
        raise httpx.UnsupportedProtocol(str(exc)) from exc


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The system's trusted certificates, loaded once per process: loading them costs about 40 ms, which every
    client made (a test's hub, a CLI command) would otherwise pay again."""
    return ssl.create_default_context()


class OutboundClient:
    """Guarded requests; one instance per hub process, shared by actions and notifier plugins.

    Each origin keeps a few keep-alive connections of its own (`_Host`); the sockets run on plain asyncio
    streams (`hub.netstream`), which cost about a quarter less CPU per request than httpcore's anyio backend.
    """

    def __init__(
        self,
        *,
        allow: Iterable[str] = (),
        timeout: float = 10.0,
        max_response_bytes: int = 64 * 1024,
        max_connections: int = 100,
        max_connections_per_host: int = 4,
        user_agent: str = "hub",
        resolver: Resolver = system_resolve,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = AddressPolicy(allow)
        # Certificates and host names are always verified; a context of one's own can trust a private CA.
        self._ssl = ssl_context or default_ssl_context()
        self.max_response_bytes = max_response_bytes
        self.per_host = max_connections_per_host
        self._backend = _GuardedBackend(self.policy, resolver)
        self._timeout = timeout
        self._headers = {"User-Agent": user_agent}
        self._total = asyncio.Semaphore(max_connections)
        # origin -> its client, least recently used first; idle ones beyond MAX_HOSTS are closed.
        self._hosts: OrderedDict[str, _Host] = OrderedDict()
        # origin -> its Destination, while a host or the outbox holds it: one breaker and one line per origin, even
        # when its host is closed and opened again meanwhile.
        self._destinations: weakref.WeakValueDictionary[str, Destination] = weakref.WeakValueDictionary()
        self._origins: dict[str, str | None] = {}  # URL -> its origin, or None if `request` refuses it
        self._closing = BackgroundTasks()

    def destination(self, url: str) -> Destination | None:
        """The host a request to `url` goes to, for the outbox to wait its turn at (hub.breaker.Destination): as
        many turns as the host has connections, and the host's breaker. None for a URL `request` refuses."""
        if url not in self._origins:  # remembered: parsing a URL costs 10 µs, a few % of a delivery's CPU
            try:
                parsed = httpx.URL(url)
                key = _origin(parsed) if parsed.scheme in ("http", "https") and parsed.host else None
            except httpx.InvalidURL:
                key = None
            if len(self._origins) >= MAX_URLS:
                self._origins.clear()
            self._origins[url] = key
        key = self._origins[url]
        return None if key is None else self._destination(key)

    def _destination(self, key: str) -> Destination:
        destination = self._destinations.get(key)
        if destination is None:
            destination = self._destinations[key] = Destination(key, self.per_host)
        return destination

    def _host(self, url: httpx.URL) -> _Host:
        key = _origin(url)
        host = self._hosts.get(key)
        if host is None:
            origin = httpcore.Origin(url.raw_scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80))
            destination = self._destination(key)
            host = self._hosts[key] = _Host(origin, destination, self.per_host, self._backend, self._ssl, self._closing)
            idle_hosts = [n for n, h in self._hosts.items() if h.busy == 0 and n != key]
            for name in idle_hosts[: max(0, len(self._hosts) - MAX_HOSTS)]:
                self._closing.add(self._hosts.pop(name).aclose())
        self._hosts.move_to_end(key)
        return host

    async def request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> OutboundResponse:
        """Send one request. Raises BlockedAddress, ResponseTooLarge, or httpx.HTTPError (timeouts and
        HostNotAnswering included).

        Only http and https URLs are accepted; a 3xx answer is returned as it is, never followed.
        """
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            # Not the URL itself: this message is kept on delivery attempts and action runs, and a URL's path can
            # be its secret (a Slack webhook's is).
            what = "one with no host" if parsed.scheme in ("http", "https") else f"a `{parsed.scheme}:` URL"
            raise BlockedAddress(f"only http and https URLs with a host can be called, not {what}")
        for name, value in (headers or {}).items():
            # Refused before connecting: a header value from a user's config must not smuggle in another header.
            if any(c in name for c in ":\r\n ") or any(c in value for c in "\r\n"):
                raise httpx.LocalProtocolError(f"header {name!r} holds a line break or is not a valid name")
        seconds = self._timeout if timeout_seconds is None else timeout_seconds
        host = self._host(parsed)
        # Waiting for a connection has a deadline of its own: a request queued without end behind a busy host
        # outlasted the time after which an action run counts as abandoned.
        queued_until = asyncio.get_running_loop().time() + QUEUE_WAIT_FACTOR * seconds
        host.busy += 1
        try:
            # The host's own slot first: requests queued for a slow host must not hold the slots other hosts need.
            await _turn_by(host.acquire(), queued_until, parsed.host)
            try:
                await _turn_by(self._total.acquire(), queued_until, parsed.host)
                try:
                    host.refuse_if_not_answering()  # another request may have begun probing it meanwhile
                    connection = host.take()
                    try:
                        with host.breaker.attempt(), _as_httpx_errors():
                            async with _whole_exchange_within(seconds):
                                response = await self._send(connection, method, parsed, content, headers, seconds)
                    except httpx.TimeoutException:
                        host.not_answering("timed out")
                        raise
                    except httpx.ConnectError as exc:
                        host.not_answering(f"could not connect: {exc}")
                        raise
                    except ResponseTooLarge:
                        host.breaker.answered()
                        raise
                    finally:
                        host.give_back(connection)
                    host.breaker.answered()
                    return response
                finally:
                    self._total.release()
            finally:
                host.release()
        finally:
            host.busy -= 1

    async def _send(
        self,
        connection: httpcore.AsyncHTTPConnection,
        method: str,
        url: httpx.URL,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        seconds: float,
    ) -> OutboundResponse:
        started = time.perf_counter()
        sent = {**self._headers, "Host": url.netloc.decode(), **(headers or {})}
        if content is not None:
            sent["Content-Length"] = str(len(content))
        timeouts = {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}
        request = httpcore.Request(
            method, str(url), headers=list(sent.items()), content=content, extensions={"timeout": timeouts}
        )
        response = await connection.handle_async_request(request)
        try:
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_stream():
                size += len(chunk)
                if size > self.max_response_bytes:
                    head = ResponseHead(response.status, _headers(response.headers))
                    raise ResponseTooLarge(self.max_response_bytes, b"".join(chunks), head)
                chunks.append(chunk)
        finally:
            await response.aclose()
        return OutboundResponse(
            status=response.status,
            headers=_headers(response.headers),
            body=b"".join(chunks),
            latency_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float | None = None,
    ) -> OutboundResponse:
        return await self.request("POST", url, content=content, headers=headers, timeout_seconds=timeout_seconds)

    async def aclose(self) -> None:
        hosts, self._hosts = list(self._hosts.values()), OrderedDict()
        for host in hosts:
            await host.aclose()
        await self._closing.wait()
